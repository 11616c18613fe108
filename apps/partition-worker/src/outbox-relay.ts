/**
 * Publishes committed outbox rows, then has them marked published (PublishedMarks: the rows
 * are deleted, dead letters moved to dead_letters), only once Kafka acknowledged them.
 *
 * One serial chain per source partition keeps a partition's rows in commit order (so two
 * legs from one account reach their destination in the order they were applied) without
 * making the apply loop wait for Kafka. A publish that fails is not skipped: the producer
 * sends the same rows again until Kafka takes them, and nothing behind them in the chain goes
 * out first (a later row never overtakes an earlier one of the same partition). Rows a crash
 * left behind go through the same chain: a new owner queues the partition's leftovers when it
 * claims it, before its first batch's rows (`resume`), and the periodic sweeper queues those
 * of partitions whose chain is idle (else it could send a later row ahead of an earlier one
 * still in the chain); a row may therefore go out twice, which consumers tolerate: legs are
 * deduped on (transfer, leg), events on (transfer, type).
 *
 * Command rows are routed by the routing table at publish time, not at commit time, so a
 * leg addressed to an account whose bucket moved meanwhile follows the move.
 *
 * Tracing on: the rows of a commit carry that batch's trace context in their headers (W3C
 * `traceparent`), so the batch that applies a credit leg links to the batch that debited.
 * Rows the sweeper republishes carry none (the context lived in the crashed process only).
 */
import type { Database } from '@ledgerline/postgres';
import type { RoutingTable } from '@ledgerline/domain';
import { type BatchingProducer, type OutgoingMessage, type TopicNames, settledWithin, topicForOutbox } from '@ledgerline/kafka';
import type { CommandSeal } from '@ledgerline/schemas';
import { OUTBOX_SWEEP_ROWS_MAX, type OutboxMark, type OutboxRow, loadUnpublishedOutbox } from '@ledgerline/postgres';
import { withMessage } from './outbox-messages';
import type { PublishedMarks } from './published-marks';

export interface OutboxRelayOptions {
  producer: BatchingProducer;
  pool: Database;
  /** Where published rows are marked (a few times a second, not per batch). */
  marks: PublishedMarks<OutboxMark>;
  topics: TopicNames;
  routing(): RoutingTable;
  log(message: string): void;
  /** Rows waiting in one partition's chain at most before `relay` callers are told to wait. */
  pendingRowsMax: number;
  /** Seals a leftover operator command again (`withMessage`): the key the worker seals with. */
  seal: CommandSeal;
}

export class OutboxRelay {
  private readonly chains = new Map<number, Promise<void>>();
  private readonly pendingRows = new Map<number, number>();
  published = 0;
  failures = 0;

  constructor(private readonly options: OutboxRelayOptions) {}

  /** Queues `rows` behind everything queued for `partition`; resolves once Kafka has them (or they were left for the sweeper). */
  relay(partition: number, rows: OutboxRow[], trace: Readonly<Record<string, string>> | null = null): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    this.pendingRows.set(partition, (this.pendingRows.get(partition) ?? 0) + rows.length);
    const previous = this.chains.get(partition) ?? Promise.resolve();
    const next = previous.then(() => this.publish(partition, rows, trace)).finally(() => {
      this.pendingRows.set(partition, (this.pendingRows.get(partition) ?? 0) - rows.length);
    });
    this.chains.set(partition, next);
    return next;
  }

  /** Lets the apply loop slow down when Kafka cannot keep up with its outbox. */
  async backpressure(partition: number): Promise<void> {
    if ((this.pendingRows.get(partition) ?? 0) > this.options.pendingRowsMax) await this.chains.get(partition);
  }

  /**
   * Republish rows older than `ageMs` that nobody marked published (crash leftovers), for the
   * given partitions whose chain has nothing pending. Resolves once Kafka has them; while it
   * has not, their chains are busy, so a later sweep does not read them again.
   */
  async sweep(partitions: readonly number[], ageMs: number): Promise<number> {
    const idle = partitions.filter((p) => (this.pendingRows.get(p) ?? 0) === 0);
    const { count, sent } = await this.queueLeftovers(idle, ageMs, 'outbox sweeper');
    await sent;
    return count;
  }

  /**
   * A partition just claimed: queue every row its previous owner left unpublished, whatever
   * their age, ahead of anything the new owner commits (call it before the first commit).
   * Read a page (OUTBOX_SWEEP_ROWS_MAX rows) at a time, each queued before the next is read:
   * a relay may run up to `pendingRowsMax` rows behind its commits, and rows past the first
   * page, left to the sweeper, went out after the new owner's (an outside review).
   * Throws when a page cannot be read: the new owner then does not use its claim (takeClaim)
   * and claims again, as for any operating error. Leaving the rest to the sweeper, as this
   * did until another outside review, let the new owner's events of a hold or an account go
   * out before the old owner's. Rows of a page queued before the failure are queued again by
   * the next claim: copies, as the delivery promise allows.
   */
  async resume(partition: number): Promise<void> {
    try {
      let after: bigint | null = null;
      for (;;) {
        const page: { read: number; lastId: bigint | null } = await this.queueLeftovers([partition], 0, `partition ${partition} claimed`, after);
        if (page.read < OUTBOX_SWEEP_ROWS_MAX || page.lastId === null) break;
        after = page.lastId;
      }
    } catch (error) {
      this.options.log(`outbox relay: leftovers of partition ${partition} not read (${(error as Error).message}); the claim is not used until they are`);
      throw error;
    }
  }

  /**
   * Reads leftovers (one page, past `afterId`) and queues them on their chains; `sent`
   * resolves once Kafka has them; `read` and `lastId` say how many rows the page held and
   * the last one's id.
   */
  private async queueLeftovers(
    partitions: readonly number[],
    ageMs: number,
    who: string,
    afterId: bigint | null = null,
  ): Promise<{ count: number; sent: Promise<unknown>; read: number; lastId: bigint | null }> {
    if (partitions.length === 0) return { count: 0, sent: Promise.resolve(), read: 0, lastId: null };
    const byPartition = new Map<number, OutboxRow[]>();
    let count = 0;
    const page = await loadUnpublishedOutbox(this.options.pool, partitions, ageMs, OUTBOX_SWEEP_ROWS_MAX, afterId);
    const read = page.length;
    const lastId = page.at(-1)?.id ?? null;
    for (const row of page) {
      try {
        const { sourcePartition, ...message } = withMessage(row, this.options.seal);
        const rows = byPartition.get(sourcePartition);
        if (rows) rows.push(message);
        else byPartition.set(sourcePartition, [message]);
        count++;
      } catch (error) {
        // This row alone stays unsent (reconcile's outbox check names it); the rest go out.
        this.failures++;
        this.options.log(`${who}: ${(error as Error).message}; left unsent`);
      }
    }
    if (count === 0) return { count, sent: Promise.resolve(), read, lastId };
    this.options.log(`${who}: republishing ${count} rows left behind`);
    return { count, sent: Promise.all([...byPartition].map(([partition, rows]) => this.relay(partition, rows))), read, lastId };
  }

  /**
   * Waits for every chain (at most `timeoutMs`: with Kafka down they would wait forever, and
   * the rows are safe in Postgres for the next owner's sweeper), then writes the pending
   * published marks.
   */
  async drain(timeoutMs = 10_000): Promise<void> {
    await settledWithin(Promise.all([...this.chains.values()]), timeoutMs);
    await this.options.marks.flush();
  }

  /**
   * Resolves once Kafka has the rows (the producer resends a failed request until it is
   * acknowledged, keeping the order). Never throws: when the producer stops first, the rows
   * stay unpublished for the sweeper.
   */
  private async publish(sourcePartition: number, rows: readonly OutboxRow[], trace: Readonly<Record<string, string>> | null): Promise<void> {
    try {
      const routing = this.options.routing();
      const messages = rows.map((row) => this.toMessage(row, routing));
      if (trace) for (const message of messages) message.headers = trace;
      await this.options.producer.publishAll(messages);
      // Only now: a row is deleted (marked) once Kafka has it, never before.
      this.options.marks.add(rows.map((r) => ({ sourcePartition, id: r.id, topic: r.topic })));
      this.published += rows.length;
    } catch (error) {
      this.failures++;
      this.options.log(`outbox relay: ${rows.length} rows not published (${(error as Error).message}); they stay for the sweeper`);
    }
  }

  private toMessage(row: OutboxRow, routing: RoutingTable): OutgoingMessage {
    const topic = topicForOutbox(this.options.topics, row.topic);
    if (row.topic === 'commands') {
      if (!row.key) throw new Error(`outbox row ${row.id} is a command without a key`);
      return { topic, partition: routing.partitionOf(row.key), key: row.key, value: row.payload };
    }
    return { topic, partition: row.topic === 'dead-letter' ? 0 : null, key: row.key ?? String(row.id), value: row.payload };
  }
}
