/**
 * What the worker's ops server reports: readiness and the gauges that are cheaper to read
 * at scrape time than to keep up to date on the apply path.
 *
 * Ready means: the consumer group assigned this process partitions, every assigned partition
 * with commands waiting is claimed (a claim happens when its first fetch arrives, so an idle
 * partition with nothing to apply needs none), none has had its writes failing, or every
 * fetch starting past its next offset (its records gone from Kafka), for
 * WORKER_WRITES_FAILING_UNREADY_MS, none has stood behind a Kafka transaction left open for
 * WORKER_OPEN_TRANSACTION_UNREADY_MS (open-transactions.ts), and Postgres and Kafka answer. A member the group gave
 * nothing because it has more members than the topic has partitions is ready too, its
 * partitions check `spare` (sparesVerdict): it is a standby, and a rollout or a healthcheck
 * gated on readiness must not wait for it forever. Redis is checked too, but a worker whose
 * only failing check is Redis is ready, `degraded` (READY_WITHOUT). The answer names each
 * check and says ok, spare or failing; the reason goes to the log, once per change.
 */
import type { Database } from '@ledgerline/postgres';
import { within } from '@ledgerline/config';
import type { KafkaProbe, PartitionEnd } from '@ledgerline/kafka';
import type { Logger } from '@ledgerline/logging';
import { countUnpublishedOutbox, describePgFailure, listPartitionStates, moneyInFlight } from '@ledgerline/postgres';
import { type WorkerMetrics, zeroPartitionCounters } from './metrics';
import { type HeldPartition, OpenTransactionWatch, describeHeld } from './open-transactions';
import type { Ownership } from './partition-worker';

type CheckName = 'postgres' | 'redis' | 'kafka' | 'partitions';
/** `spare`: passed, by a member holding no partition while the others hold them all (partitions only). */
type CheckVerdict = 'ok' | 'spare' | 'failing';
export type Readiness = { ready: boolean; degraded: boolean; checks: Record<CheckName, CheckVerdict> };

/**
 * Checks that leave the worker ready when they fail: Redis is the balance cache, refreshed
 * after commit and made good once it is back, so the worker applies commands without it (an
 * outside fault review saw lag stay at 0 through a Redis outage while /readyz said 503).
 */
const READY_WITHOUT: ReadonlySet<CheckName> = new Set(['redis']);

/**
 * Why a process the group assigned no partition is not ready, or null when it is a spare: a
 * member of the group (Kafka lists its member id) while the group has more members than the
 * topic has partitions, so that the others hold every one. A process not in the group (still
 * joining, its consumer crashed and restarting, evicted) is not ready, nor is a member given
 * nothing while the group is no larger than the topic: a rebalance owes it partitions.
 */
export function sparesVerdict(memberId: string | null, groupMembers: readonly string[], partitionCount: number): string | null {
  if (memberId === null) return 'no partitions: not in the consumer group (joining, or its consumer restarting)';
  if (!groupMembers.includes(memberId)) return `no partitions: the consumer group does not list this member (${memberId}); it joins again`;
  if (groupMembers.length <= partitionCount) {
    return `no partitions assigned although the group has ${groupMembers.length} members for ${partitionCount} partitions (a rebalance in progress?)`;
  }
  return null;
}

export interface WorkerHealthDeps {
  topic: string;
  /** The workers' consumer group, and this process's member id in it while it is a member. */
  groupId: string;
  memberId(): string | null;
  pool: Database;
  pingRedis(): Promise<void>;
  kafka: KafkaProbe;
  ownership(): Ownership[];
  relayCounts(): { published: number; failures: number };
  metrics: WorkerMetrics;
  checkTimeoutMs: number;
  /** Writes failing this long make the partitions check fail. */
  writesFailingUnreadyMs: number;
  /** A partition behind a transaction left open this long makes the partitions check fail. */
  openTransactionUnreadyMs: number;
  logger: Logger;
}

/** Unpublished outbox rows counted per partition and scrape at most. */
const OUTBOX_BACKLOG_COUNT_CAP = 1_000_000;

export class WorkerHealth {
  private lastVerdict = 'not checked yet';
  private relaySeen = { published: 0, failures: 0 };
  private readonly openTransactions: OpenTransactionWatch;

  constructor(private readonly deps: WorkerHealthDeps) {
    this.openTransactions = new OpenTransactionWatch(deps.openTransactionUnreadyMs, deps.logger);
  }

  async readiness(): Promise<Readiness> {
    const { pool, pingRedis, kafka, checkTimeoutMs } = this.deps;
    const run = (name: CheckName, check: () => Promise<'ok' | 'spare' | void>) =>
      within(check(), checkTimeoutMs, 'no answer').then(
        (passed) => [name, null, passed ?? 'ok'] as const,
        (error: unknown) => [name, name === 'postgres' ? describePgFailure(error) : ((error as Error).message ?? String(error)), 'failing'] as const,
      );
    const results = await Promise.all([
      run('postgres', async () => void (await pool.query('SELECT 1'))),
      run('redis', pingRedis),
      run('kafka', () => kafka.check()),
      run('partitions', () => this.checkPartitions()),
    ]);
    const checks = Object.fromEntries(results.map(([name, , verdict]) => [name, verdict])) as Readiness['checks'];
    const failures = results.filter(([, failure]) => failure !== null);
    this.logChange(failures.map(([name, failure]) => `${name}: ${failure}`).join('; '));
    const blocking = failures.filter(([name]) => !READY_WITHOUT.has(name));
    return { ready: blocking.length === 0, degraded: failures.length > 0, checks };
  }

  /**
   * Sets the scrape-time gauges. Each is read from its own sources, and a gauge whose source
   * does not answer within checkTimeoutMs loses its series (the last value would be a figure
   * from before the outage, shown as now's): lag needs Kafka (and Postgres only for a partition
   * assigned but not claimed yet), so it stays true through a Postgres outage, when commands
   * pile up; outbox backlog and money in flight need Postgres. `ledger_worker_scrape_read_
   * timestamp_seconds{source}` says when each source last answered. Lag is counted to the log
   * end, past the records of a transaction still open (which the consumer cannot read yet),
   * not to the last stable offset kafkajs's own offset reads stop at: those read ~0 while an
   * open transaction stopped the partition (an outside review).
   */
  async refreshMetrics(): Promise<void> {
    const { metrics, topic, pool, kafka, checkTimeoutMs } = this.deps;
    const owned = this.deps.ownership();
    metrics.assignedPartitions.set(owned.length);
    metrics.ownedPartitions.set(owned.filter((o) => o.epoch !== null).length);
    const relay = this.deps.relayCounts();
    metrics.relayPublished.inc(relay.published - this.relaySeen.published);
    metrics.relayFailures.inc(relay.failures - this.relaySeen.failures);
    this.relaySeen = relay;

    const partitions = owned.map((o) => o.partition);
    zeroPartitionCounters(metrics, partitions);
    const read = <T>(promise: Promise<T>, what: string) => within(promise, checkTimeoutMs, `${what} not read`);
    const unclaimed = owned.some((o) => o.nextOffset === null);
    const [ends, states, backlog, inFlight] = await Promise.allSettled([
      read(kafka.partitionEnds(topic), 'partition ends'),
      unclaimed ? read(listPartitionStates(pool, topic), 'partition states') : Promise.resolve([]),
      read(countUnpublishedOutbox(pool, partitions, OUTBOX_BACKLOG_COUNT_CAP), 'outbox backlog'),
      read(moneyInFlight(pool, partitions), 'money in flight'),
    ]);
    const failed = [ends, states, backlog, inFlight].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length) this.deps.logger.debug('scrape-time gauges not read', { errors: failed.map((r) => (r.reason as Error).message) });
    const nowS = Date.now() / 1000;
    if (ends.status === 'fulfilled') metrics.scrapeRead.set({ source: 'kafka' }, nowS);
    if (backlog.status === 'fulfilled' && inFlight.status === 'fulfilled' && states.status === 'fulfilled') metrics.scrapeRead.set({ source: 'postgres' }, nowS);

    metrics.consumerLag.reset();
    metrics.behindOpenTransaction.reset();
    if (ends.status === 'fulfilled') {
      const readings = owned.map((o) => {
        const stored = states.status === 'fulfilled' ? states.value.find((s) => s.partition === o.partition)?.nextOffset : undefined;
        // Neither claimed nor read: unknown (null), not 0.
        return { partition: o.partition, applied: o.nextOffset ?? stored ?? (states.status === 'fulfilled' ? 0n : null), end: ends.value.get(o.partition) };
      });
      for (const { partition, applied, end } of readings) {
        if (applied === null) continue;
        const logEnd = end?.logEnd ?? applied;
        metrics.consumerLag.set({ partition: String(partition) }, Number(logEnd > applied ? logEnd - applied : 0n));
      }
      const held = new Set(this.openTransactions.observe(readings).map((p) => p.partition));
      for (const { partition, applied } of readings) if (applied !== null) metrics.behindOpenTransaction.set({ partition: String(partition) }, held.has(partition) ? 1 : 0);
    }
    metrics.outboxBacklog.reset();
    if (backlog.status === 'fulfilled') {
      for (const o of owned) metrics.outboxBacklog.set({ partition: String(o.partition) }, backlog.value.get(o.partition) ?? 0);
    }
    metrics.moneyInFlight.reset();
    metrics.transfersInFlight.reset();
    if (inFlight.status === 'fulfilled') {
      for (const o of owned) metrics.transfersInFlight.set({ partition: String(o.partition) }, 0);
      for (const row of inFlight.value) {
        metrics.moneyInFlight.set({ partition: String(row.partition), currency: row.currency }, Number(row.amount));
        metrics.transfersInFlight.inc({ partition: String(row.partition) }, row.transfers);
      }
    }
  }

  private async checkPartitions(): Promise<'ok' | 'spare'> {
    const owned = this.deps.ownership();
    if (owned.length === 0) {
      // A member given nothing is a spare only if Kafka itself lists it in a group larger than
      // the topic; it used to fail here for as long as it stayed spare, and a 9th worker on 8
      // partitions never became ready (an outside runbook review).
      const memberId = this.deps.memberId();
      const { kafka, groupId, topic } = this.deps;
      // Not in the group: nothing to ask Kafka.
      const [members, ends] = memberId === null ? [[], new Map()] : await Promise.all([kafka.groupMemberIds(groupId), kafka.partitionEnds(topic)]);
      const verdict = sparesVerdict(memberId, members, ends.size);
      if (verdict !== null) throw new Error(verdict);
      return 'spare';
    }
    const now = Date.now();
    const stuck: string[] = [];
    const lasted = (since: number) => now - since >= this.deps.writesFailingUnreadyMs;
    for (const { partition, writesFailing, fetchesPastNext: past } of owned) {
      if (writesFailing !== null && lasted(writesFailing.since)) {
        stuck.push(`partition ${partition}: applying failing for ${Math.round((now - writesFailing.since) / 1000)} s (last: ${writesFailing.error.slice(0, 200)})`);
      }
      if (past !== null && lasted(past.since)) {
        stuck.push(
          `partition ${partition}: for ${Math.round((now - past.since) / 1000)} s Kafka has offered nothing from next_offset ${past.nextOffset} (last fetch read from ${past.fetchedFrom}, first offset ${past.firstOffered ?? 'none'}): its records are gone?`,
        );
      }
    }
    // Reported before Kafka is asked anything more: a slow offset read that ran out the
    // check's time lost these reasons, the ones an operator most needs (an outside review).
    // The open-transaction watch misses one reading meanwhile, which changes nothing there.
    if (stuck.length > 0) throw new Error(stuck.join('; '));
    const unclaimed = owned.filter((o) => o.epoch === null);
    const [ends, states] = await Promise.all([this.deps.kafka.partitionEnds(this.deps.topic), unclaimed.length > 0 ? listPartitionStates(this.deps.pool, this.deps.topic) : []]);
    const storedNext = (partition: number) => states.find((s) => s.partition === partition)?.nextOffset ?? 0n;
    const held = this.heldBehindOpenTransactions(owned, ends, storedNext, now);
    if (held.length > 0) throw new Error(held.map((p) => describeHeld(p, now)).join('; '));
    // Waiting: records the consumer can read (up to the stable offset; what an open
    // transaction holds is the check above's).
    const waiting = unclaimed.filter((o) => (ends.get(o.partition)?.stableOffset ?? 0n) > storedNext(o.partition));
    if (waiting.length > 0) throw new Error(`partitions [${waiting.map((o) => o.partition).join(', ')}] have commands waiting and are not claimed yet`);
    return 'ok';
  }

  /** The owned partitions that have stood behind a transaction left open for openTransactionUnreadyMs (open-transactions.ts). */
  private heldBehindOpenTransactions(owned: readonly Ownership[], ends: Map<number, PartitionEnd>, storedNext: (partition: number) => bigint, now: number): HeldPartition[] {
    return this.openTransactions.observe(
      owned.map((o) => ({ partition: o.partition, applied: o.nextOffset ?? storedNext(o.partition), end: ends.get(o.partition) })),
      now,
    );
  }

  /**
   * Logs a verdict that changed, not one that only counted more seconds ("applying failing for
   * 31 s"): every probe, every few seconds, logged the same failure again (an outside review).
   */
  private logChange(verdict: string): void {
    const kind = verdict.replace(/\bfor \d+ s\b/g, 'for some time');
    if (kind === this.lastVerdict) return;
    this.lastVerdict = kind;
    if (verdict) this.deps.logger.warn('checks failing', { reasons: verdict });
    else this.deps.logger.info('all checks ok');
  }
}
