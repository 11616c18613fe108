/**
 * Wires the consumer group (the Kafka port's PartitionConsumer) to one PartitionApplier per
 * assigned partition.
 *
 * Kafka decides which worker process owns which partition (consumer-group protocol);
 * Postgres decides whether that ownership is still current (epoch fencing). Every
 * rebalance releases all local claims: a partition that comes back to us may have been
 * written by someone else in between, so it is re-claimed and its cache reloaded.
 */
import { InvariantViolation } from '@ledgerline/domain';
import { type ConsumedMessage, type KafkaClient, type ConsumerGroupTiming, type PartitionFetch, PartitionConsumer, isGroupRejoin, settledWithin } from '@ledgerline/kafka';
import { ConcurrentWriteError, describePgFailure, listPartitionStates, partitionsWithCacheBehind, partitionsWithLeftovers } from '@ledgerline/postgres';
import { FenceStorm } from './fence-storm';
import { AfterCommitError, type ApplierPorts, type ApplyProgress, type ApplyResult, LegAwaitsSourceError, PartitionApplier } from './partition-applier';
import type { OutboxRelay } from './outbox-relay';

/** A partition Kafka assigned to this process: its claim and whether it is stuck (health.ts reads it). */
export interface Ownership {
  partition: number;
  epoch: bigint | null;
  nextOffset: bigint | null;
  /** Since when this partition's writes have been failing and retried (Date.now()), with the last error; null while they succeed. */
  writesFailing: { since: number; error: string } | null;
  /** Since when every fetch has started past next_offset and been sought back to it; null once one applies. */
  fetchesPastNext: FetchesPastNext | null;
}

export interface FetchesPastNext {
  since: number;
  nextOffset: bigint;
  /** What the last fetch was read from, and its first offset (null: it held nothing). */
  fetchedFrom: bigint;
  firstOffered: bigint | null;
  /** Logged once it lasted FETCHES_PAST_NEXT_TELL_MS. */
  told: boolean;
}

/** How long fetches may keep starting past next_offset before the log says so. */
const FETCHES_PAST_NEXT_TELL_MS = 10_000;
/** How long a partition whose log ends below its next offset waits before it fetches again (well inside the session timeout). */
const LOG_BEHIND_RECHECK_MS = 1_000;
/** The pause before a partition whose saga leg waits for its source (LegAwaitsSourceError) is fetched again from the leg. */
const LEG_WAIT_RECHECK_MS = 100;

/**
 * Backoff between attempts at applying a fetch after a batch's write failed for an operating
 * reason (Postgres or PgBouncer down, a broken deploy): doubling from the first delay up to
 * the cap, each delay jittered down by up to half so that workers do not retry in step.
 */
export interface WriteRetryDelay {
  firstMs: number;
  maxMs: number;
}

export function writeRetryDelayMs(attempt: number, delay: WriteRetryDelay, random: () => number = Math.random): number {
  const ceiling = Math.min(delay.maxMs, delay.firstMs * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling * (0.5 + random() / 2));
}

/**
 * Whether a failed apply ends the fetch, and with which error for kafkajs; null: it is a write
 * failure, handed back for a retry by applyGuarded. Rebalance or stop: the next owner takes over. A heartbeat
 * answering that the group is rebalancing ends the fetch too; it is no write failure (it was
 * logged and counted as one; found by an outside fault review).
 *
 * kafkajs must get its own error to rejoin quietly: it tells a rebalance by the error's `type`
 * and its own errors by their class (isRebalancing, isKafkaJSError in kafkajs/src/errors.js).
 * A heartbeat that failed after a commit arrives wrapped (AfterCommitError); thrown wrapped,
 * kafkajs took it for a failure of the handler and restarted the consumer, which rebalanced
 * the group again and again (a full bench's uniform drain ran at half its rate: 361 'Error
 * when calling eachBatch' in one worker's log).
 */
export function fetchEnding(error: unknown, active: boolean): { error: unknown } | null {
  if (active && !isGroupRejoin(error)) return null;
  return { error: error instanceof AfterCommitError ? error.cause : error };
}

export interface PartitionWorkerOptions {
  kafka: KafkaClient;
  topic: string;
  groupId: string;
  workerId: string;
  batchCommandsMax: number;
  /** How long a saga leg refused for its transfer's state is retried before it is dead-lettered (WORKER_LEG_WAIT_FOR_SOURCE_MS; 0: at once). */
  legWaitForSourceMs?: number;
  partitionsConcurrentMax: number;
  accountCacheMax: number;
  fetchBytesMax: number;
  /** How long a fetch may wait on the broker for `fetchBytesMin` (bigger fetches, more latency). */
  fetchWaitMs: number;
  fetchBytesMin: number;
  /** Session, heartbeat, rebalance, metadata and restart timing of the consumer group. */
  consumerGroup: ConsumerGroupTiming;
  /** Backoff of a fetch whose batch write failed for an operating reason. */
  writeRetryDelay: WriteRetryDelay;
  /** How often the consumer group's offsets (a hint, see onFetch) are committed to Kafka. */
  offsetCommitIntervalMs: number;
  outboxSweepIntervalMs: number;
  /** How often each claimed partition's cache mark is moved forward (cache-mark.ts). */
  cacheMarkIntervalMs: number;
  /** How long stop() waits for the last round of the cache mark. */
  stopCacheMarkTimeoutMs: number;
  outboxSweepAgeMs: number;
  ports: ApplierPorts;
  relay: OutboxRelay;
  /** A second writer (or an InvariantViolation that reached the consumer loop, which the applier isolates before it can): the process must stop rather than write (docs/design.md, "Poison isolation"). */
  onFatal(error: Error): void;
  /** A batch's write failed for an operating reason and will be retried (alerting, metrics). */
  onWriteRetry?(partition: number, attempt: number, error: Error): void;
}

export class PartitionWorker {
  private consumer: PartitionConsumer | null = null;
  private readonly appliers = new Map<number, PartitionApplier>();
  private assigned: number[] = [];
  private sweepTimer: NodeJS.Timeout | null = null;
  private cacheMarkTimer: NodeJS.Timeout | null = null;
  /** Each partition's round of the cache mark in progress: one at a time per partition, none waiting for another's. */
  private readonly marking = new Map<number, Promise<unknown>>();
  private stopping = false;
  private sweeping: Promise<void> | null = null;
  /**
   * The claiming part of the sweep in progress (claimQuietPartitionsLeftBehind), which stop()
   * waits for: a claim taken after the consumer left the group could fence the next owner.
   * Not its publish: that waits for Kafka without a deadline (BatchingProducer.publishAll).
   */
  private sweepClaiming: Promise<void> | null = null;
  /** Per partition, the operating failures in a row of its latest writes (the backoff grows with them). */
  private readonly writeAttempts = new Map<number, number>();
  /** Partitions whose writes are failing and being retried: since when, and the last error (readiness reads it). */
  private readonly writesFailing = new Map<number, { since: number; error: string }>();
  /** Partitions whose fetches keep starting past next_offset, each sought back to it: since when (readiness reads it). */
  private readonly fetchesPastNext = new Map<number, FetchesPastNext>();
  private commitTimer: NodeJS.Timeout | null = null;
  /** Latest stored next_offset per partition not yet committed to the group. */
  private readonly offsetHints = new Map<number, bigint>();
  private readonly fenceStorm = new FenceStorm();

  constructor(private readonly options: PartitionWorkerOptions) {}

  /** Partitions this process owns right now, with their epoch and stored offset. */
  ownership(): Ownership[] {
    return this.assigned.map((partition) => {
      const applier = this.appliers.get(partition);
      return {
        partition,
        epoch: applier?.epoch ?? null,
        nextOffset: applier?.nextOffset ?? null,
        writesFailing: this.writesFailing.get(partition) ?? null,
        fetchesPastNext: this.fetchesPastNext.get(partition) ?? null,
      };
    });
  }

  /** Partitions Kafka assigned to this process now (claimed or not yet). */
  assignedPartitions(): readonly number[] {
    return this.assigned;
  }

  /** This process's member id in the consumer group while it is a member (joined, its consumer not crashed since); null otherwise. */
  groupMemberId(): string | null {
    return this.consumer?.memberId() ?? null;
  }

  /** The routing changed: cached accounts may now belong elsewhere (they are reloaded). */
  forgetAccounts(): void {
    for (const applier of this.appliers.values()) applier.forgetAccounts();
  }

  async start(): Promise<void> {
    const { kafka, topic, groupId, partitionsConcurrentMax, fetchBytesMax, fetchWaitMs, fetchBytesMin, consumerGroup, ports } = this.options;
    this.consumer = new PartitionConsumer({
      kafka,
      topic,
      groupId,
      partitionsConcurrentMax,
      fetchBytesMax,
      fetchWaitMs,
      fetchBytesMin,
      group: consumerGroup,
      onAssignment: (partitions) => this.assign(partitions),
      onFetch: (fetched) => this.onFetch(fetched),
      log: (message) => ports.log(message),
    });
    await this.consumer.start();
    this.sweepTimer = setInterval(() => void this.sweep(), this.options.outboxSweepIntervalMs);
    this.sweepTimer.unref();
    this.commitTimer = setInterval(() => void this.commitOffsetHints(), this.options.offsetCommitIntervalMs);
    this.commitTimer.unref();
    this.cacheMarkTimer = setInterval(() => {
      if (!this.stopping) void this.advanceCacheMarks();
    }, this.options.cacheMarkIntervalMs);
    this.cacheMarkTimer.unref();
  }

  /**
   * Moves every claimed partition's cache mark forward (cache-mark.ts). Each partition's round
   * waits for its own applier between writes, so a partition busy with a long fetch holds
   * back only its own mark; a partition whose last round is still running is left to it.
   */
  advanceCacheMarks(): Promise<void> {
    const rounds = this.assigned.map((partition) => {
      const applier = this.appliers.get(partition);
      if (!applier) return undefined;
      let round = this.marking.get(partition);
      if (!round) {
        // advance never throws; the catch is for a timer's promise all the same.
        round = applier.advanceCacheMark().catch(() => false).finally(() => this.marking.delete(partition));
        this.marking.set(partition, round);
      }
      return round;
    });
    return Promise.all(rounds).then(() => undefined);
  }

  /**
   * A new group generation, or a crashed consumer (none: until it joins again the group may
   * give its partitions to another member): every local claim is released. No fetch of this
   * member is in progress (PartitionConsumerOptions.onAssignment), so no batch is left
   * writing under a released claim; the sweeper, the cache mark and hold expiry read the
   * assignment afresh on their next round, and a claim a sweep takes meanwhile is not kept
   * (PartitionApplier.takeClaim).
   */
  private assign(partitions: number[]): void {
    this.assigned = partitions;
    for (const applier of this.appliers.values()) applier.reassigned();
    // The cache budget is shared by the partitions assigned now (applierFor): a partition
    // given away gives its accounts back, and every other share is trimmed (or may grow).
    for (const [partition, applier] of this.appliers) if (!partitions.includes(partition)) applier.forgetAccounts();
    for (const applier of this.appliers.values()) applier.trimAccounts();
    this.offsetHints.clear(); // hints for partitions another member may own now
    this.writesFailing.clear();
    this.writeAttempts.clear();
    // As writes failing: a note from the last generation would keep /readyz failing for a
    // partition given back with nothing to fetch (only a fetch that applies clears it).
    this.fetchesPastNext.clear();
    this.fenceStorm.reset();
    const member = this.consumer?.memberId() ?? null;
    this.options.ports.log(member === null ? 'out of the consumer group until its consumer joins again: partitions []' : `joined group generation: partitions [${partitions.join(', ')}]`);
    if (partitions.length > 0) void this.fetchFromStoredOffsets(partitions);
  }

  /**
   * Each partition assigned here is fetched from the next offset Postgres stored for it
   * (invariant 3), not from the group's committed offset, which is only a hint. The applier
   * seeks back to the stored offset when a fetch starts past it, but only a fetch does: after
   * Postgres was restored from a backup, the hint stood past the stored offset, at the log's
   * end, no fetch came until a new command did, and every command accepted after the backup
   * waited unapplied, readiness ok (docs/operations.md). A partition Postgres has no row for
   * starts at 0, as its first claim will say (claimPartition).
   */
  private async fetchFromStoredOffsets(partitions: number[]): Promise<void> {
    try {
      const states = await listPartitionStates(this.options.ports.pool, this.options.topic);
      // A newer generation's own call seeks its partitions.
      if (this.assigned !== partitions || this.stopping) return;
      const stored = new Map(states.map((state) => [state.partition, state.nextOffset]));
      for (const partition of partitions) this.consumer?.seekPartition(partition, stored.get(partition) ?? 0n);
    } catch (error) {
      this.options.ports.log(`reading the stored offsets of partitions [${partitions.join(', ')}] failed (${(error as Error).message}); they are fetched from the group's offsets`);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.commitTimer) clearInterval(this.commitTimer);
    if (this.cacheMarkTimer) clearInterval(this.cacheMarkTimer);
    // A sweep running now could still claim a partition: its claims are waited for (bounded by
    // WORKER_QUERY_TIMEOUT_MS per statement; never throws). Its publish is not: while Kafka
    // does not acknowledge it (unreachable, a topic missing) it resends until the producer
    // stops, which only comes after this, and stop() hung until Kafka came back, the worker
    // still in the group (found by an outside review). Its rows are marked published only once
    // Kafka has them, so what it does not get to send stays in Postgres for the next owner's
    // sweep; it is in the relay's chains, which drain() below waits for, at most 10 s.
    await this.sweepClaiming;
    await this.commitOffsetHints();
    await this.consumer?.stop();
    // A last round of the cache mark, once the consumer's stop has ended every apply: the next
    // owner's catch-up then starts from here, not from this worker's last tick. Bounded: a
    // mark not moved now only makes that catch-up longer.
    await settledWithin(this.advanceCacheMarks(), this.options.stopCacheMarkTimeoutMs);
    await this.options.relay.drain();
  }

  /** Each assigned partition's share of WORKER_ACCOUNT_CACHE_MAX. */
  private accountCacheShare(): number {
    return Math.floor(this.options.accountCacheMax / Math.max(1, this.assigned.length));
  }

  private applierFor(partition: number): PartitionApplier {
    let applier = this.appliers.get(partition);
    if (!applier) {
      const { topic, workerId, ports, batchCommandsMax, legWaitForSourceMs = 0 } = this.options;
      // The cache budget is the process's, shared by the partitions assigned to it now: a
      // worker that takes over many partitions (a failover) must not multiply it (an outside
      // review priced 200,000 accounts per partition at ~168 MB, past Node's heap at 24
      // partitions), and one that gives them back gets the whole budget back (assign).
      applier = new PartitionApplier(topic, partition, workerId, ports, () => this.accountCacheShare(), batchCommandsMax, legWaitForSourceMs);
      this.appliers.set(partition, applier);
    }
    return applier;
  }

  private async onFetch(fetched: PartitionFetch): Promise<void> {
    const applier = this.applierFor(fetched.partition);
    const { relay } = this.options;
    const result = await this.applyGuarded(applier, fetched.messages, fetched, {
      fetchedFrom: fetched.fetchedFrom,
      logEnd: fetched.highWatermark,
      isActive: () => fetched.isActive(),
      beforeCommit: () => relay.backpressure(fetched.partition),
      committed: async (nextOffset) => {
        fetched.markProcessed(nextOffset - 1n);
        await fetched.heartbeat();
      },
    });
    if (result.kind === 'leg-waits') {
      // Not retried inside this fetch: kafkajs fetches a broker's partitions again only once
      // every batch of the last fetch has been handled, so a partition waiting here would keep
      // its leg's source partition, if this worker holds it too, from the records it must
      // apply first. Handed back, and fetched again from the leg after a short pause.
      if (this.writesFailing.get(fetched.partition)?.error !== result.error) this.options.ports.log(`partition ${fetched.partition}: ${result.error}`);
      this.writesFailing.set(fetched.partition, { since: this.writesFailing.get(fetched.partition)?.since ?? Date.now(), error: result.error });
      fetched.retryLater(result.nextOffset, LEG_WAIT_RECHECK_MS);
      return;
    }
    if (result.kind === 'write-failed') {
      // Handed back for the backoff, as a leg's wait: the worker's other partitions go on.
      fetched.retryLater(result.nextOffset, result.delayMs);
      return;
    }
    if (result.kind === 'log-behind') {
      // Said, and shown by /readyz (as writes failing), until the log reaches the offset again
      // (a new leader's high watermark catching up) or an operator decides what the offsets
      // of the new log mean. Fetched again after a pause: the seek finds the log as it is then.
      const error = `Kafka's log ends at offset ${result.logEnd}, below offset ${result.nextOffset} already applied: the topic was recreated or truncated, and its commands would be skipped as applied; applying none`;
      if (!this.writesFailing.has(fetched.partition)) this.options.ports.log(`partition ${fetched.partition}: applying failed: ${error}`);
      this.writesFailing.set(fetched.partition, { since: this.writesFailing.get(fetched.partition)?.since ?? Date.now(), error });
      fetched.retryLater(result.nextOffset, LOG_BEHIND_RECHECK_MS);
      return;
    }
    if (result.kind === 'seek') {
      this.notePastNext(fetched, result.offset);
      fetched.seek(result.offset);
      return;
    }
    this.fetchesPastNext.delete(fetched.partition);
    if (result.kind === 'fenced') {
      // Kafka still says the partition is ours while another owner keeps claiming it: this
      // member's view of the group is stale (fence-storm.ts), and only a rejoin mends it.
      if (result.byAnotherOwner && fetched.isActive() && this.fenceStorm.fenced(fetched.partition, Date.now())) {
        this.consumer?.rejoin(`partition ${fetched.partition} was fenced by another owner again and again while assigned here`);
      }
      return;
    }
    // Also when nothing in the fetch was new: a fetch wholly below the stored next_offset
    // (the group's offset is only a hint and lags, e.g. after a crash or a rebalance) must
    // still move the fetch position on, or it is fetched again forever (found by the
    // bench's drain: three partitions stalled after a rebalance).
    if (result.nextOffset > 0n) fetched.markProcessed(result.nextOffset - 1n);
    const next = applier.nextOffset;
    // Only a hint for where the next owner starts fetching; Postgres holds the truth. So it is
    // committed on a timer, for all partitions in one request, not after every fetch.
    if (next !== null) this.offsetHints.set(fetched.partition, next);
  }

  /**
   * A fetch that starts past next_offset is sought back to it. Once (a takeover, the group's
   * offset ahead of Postgres), that is routine; every fetch, for as long as Kafka offers
   * nothing from next_offset, the partition applies nothing: the records there are gone
   * (retention deleted them while no worker ran, the topic was deleted and created again).
   * No automatic answer is right (skipping loses accepted commands), so the partition stays
   * where it is, says so once in the log, and fails readiness after
   * WORKER_WRITES_FAILING_UNREADY_MS (health.ts).
   */
  private notePastNext(fetched: PartitionFetch, offset: bigint): void {
    const now = Date.now();
    const firstOffered = fetched.messages.length > 0 ? BigInt(fetched.messages[0]!.offset) : null;
    const seen = this.fetchesPastNext.get(fetched.partition);
    if (!seen || seen.nextOffset !== offset) {
      this.fetchesPastNext.set(fetched.partition, { since: now, nextOffset: offset, firstOffered, fetchedFrom: fetched.fetchedFrom, told: false });
      return;
    }
    seen.firstOffered = firstOffered;
    seen.fetchedFrom = fetched.fetchedFrom;
    if (seen.told || now - seen.since < FETCHES_PAST_NEXT_TELL_MS) return;
    seen.told = true;
    this.options.ports.log(
      `partition ${fetched.partition}: applying failed: for ${Math.round((now - seen.since) / 1000)} s every fetch from next_offset ${offset} was read from ${fetched.fetchedFrom} and started at ${firstOffered ?? 'nothing'}; ` +
        `Kafka no longer has the records from ${offset} (retention, or the topic deleted and created again?). The partition stays at ${offset}: nothing is skipped without an operator`,
    );
  }

  private async commitOffsetHints(): Promise<void> {
    if (this.offsetHints.size === 0 || !this.consumer) return;
    const offsets = [...this.offsetHints].map(([partition, offset]) => ({ partition, offset }));
    this.offsetHints.clear();
    // A failure (rebalance in progress, broker restarting) is harmless: the next owner
    // resumes from Postgres's next_offset whatever the group says.
    await this.consumer.commitOffsets(offsets);
  }

  /**
   * Applies a fetch once. A second writer (ConcurrentWriteError) stops the process; so would an
   * InvariantViolation, but the applier isolates the command that breaks one before it can get
   * here (kept as a last guard). Deterministic failures never get here: the applier isolates
   * the command that causes them. Everything else is an operating error (a dependency down, a
   * deploy that does not match the schema, a lock not granted in time): the partition is
   * handed back to be fetched again from its next offset after a backoff, counted per
   * partition. Not retried inside the fetch: the worker's other partitions would wait for it
   * (an on-call drill: one partition's revoked grant held back three others). Not thrown to
   * kafkajs either: a throw makes it restart the consumer, which rebalances every partition of
   * the group, every ~30 s for as long as Postgres is down.
   */
  private async applyGuarded(
    applier: PartitionApplier,
    messages: readonly ConsumedMessage[],
    fetched: PartitionFetch,
    progress: ApplyProgress,
  ): Promise<ApplyResult | { kind: 'leg-waits'; nextOffset: bigint; error: string } | { kind: 'write-failed'; nextOffset: bigint; delayMs: number }> {
    try {
      const result = await applier.apply(messages, progress);
      this.writeAttempts.delete(applier.partition);
      if (result.kind !== 'log-behind') this.writesFailing.delete(applier.partition);
      return result;
    } catch (error) {
      const nextOffset = applier.nextOffset;
      if (error instanceof LegAwaitsSourceError && nextOffset !== null) return { kind: 'leg-waits', nextOffset, error: error.message };
      if (error instanceof InvariantViolation || error instanceof ConcurrentWriteError) {
        this.options.onFatal(error);
        throw error;
      }
      const ending = fetchEnding(error, progress.isActive());
      if (ending) throw ending.error;
      const attempt = (this.writeAttempts.get(applier.partition) ?? 0) + 1;
      this.writeAttempts.set(applier.partition, attempt);
      this.writesFailing.set(applier.partition, { since: this.writesFailing.get(applier.partition)?.since ?? Date.now(), error: describePgFailure(error) });
      const delayMs = writeRetryDelayMs(attempt, this.options.writeRetryDelay);
      this.options.onWriteRetry?.(applier.partition, attempt, error as Error);
      this.options.ports.log(`partition ${applier.partition}: write failed (${describePgFailure(error)}); attempt ${attempt}, retrying in ${delayMs} ms`);
      // Nothing of this fetch past the stored offset is written; unclaimed (its claim failed),
      // nothing of it at all: fetched again from where it was read.
      return { kind: 'write-failed', nextOffset: nextOffset ?? fetched.fetchedFrom, delayMs };
    }
  }

  /**
   * A partition is claimed by its first fetch, so one assigned here with nothing to fetch stays
   * unclaimed, and the sweeper passes over unclaimed partitions. What its previous owner left
   * unpublished (a stop whose relay could not reach Kafka in time, after the group's offset
   * was committed) would wait for the partition's next command: a transfer stays PROCESSING
   * for its credit leg. Such a partition is claimed here; the claim queues the leftovers.
   * So is one whose last batch committed at or after its cache mark: the claim catches the
   * balance cache up (cache-mark.ts).
   */
  private async claimQuietPartitionsLeftBehind(): Promise<void> {
    const unclaimed = this.ownership().filter((o) => o.epoch === null).map((o) => o.partition);
    if (unclaimed.length === 0) return;
    // Rows as old as the sweeper's own threshold: a live owner elsewhere publishes its rows
    // within milliseconds, so younger ones say nothing about a partition being left behind.
    const { pool } = this.options.ports;
    const leftBehind = await partitionsWithLeftovers(pool, unclaimed, this.options.outboxSweepAgeMs);
    // A batch committed at or after the cache mark (and none as young as the sweeper's
    // threshold, as for leftovers): its previous owner may have died before its refresh, and
    // only a claim catches the cache up (cache-mark.ts).
    const cacheBehind = await partitionsWithCacheBehind(pool, this.options.topic, unclaimed, this.options.outboxSweepAgeMs);
    for (const partition of unclaimed) {
      const why = leftBehind.includes(partition) ? 'rows its previous owner left unpublished; claimed it to send them' : cacheBehind.includes(partition) ? 'cached balances its previous owner may have left behind; claimed it to catch them up' : null;
      if (why === null || !this.assigned.includes(partition)) continue;
      // One partition's failed claim (its leftovers unread: not kept) does not skip the others.
      try {
        if (await this.applierFor(partition).claimQuiet()) this.options.ports.log(`partition ${partition}: nothing to fetch, and ${why}`);
      } catch (error) {
        this.options.ports.log(`partition ${partition}: claiming it to send what its previous owner left failed (${(error as Error).message}); the next sweep tries again`);
      }
    }
  }

  /** One sweep at a time: with Kafka slow, a sweep outlives its interval, and the next would queue the same rows again. */
  private sweep(): Promise<void> {
    if (!this.sweeping) {
      const claiming = this.claimLeftBehind();
      this.sweepClaiming = claiming;
      this.sweeping = claiming.then(() => this.sweepOutbox()).finally(() => {
        this.sweeping = null;
        this.sweepClaiming = null;
      });
    }
    return this.sweeping;
  }

  private async claimLeftBehind(): Promise<void> {
    try {
      await this.claimQuietPartitionsLeftBehind();
    } catch (error) {
      this.options.ports.log(`claiming quiet partitions left behind failed: ${(error as Error).message}`);
    }
  }

  private async sweepOutbox(): Promise<void> {
    // Stopping: the claims are done with, and nothing new is queued for a producer about to stop.
    if (this.stopping) return;
    try {
      const owned = this.ownership().filter((o) => o.epoch !== null).map((o) => o.partition);
      await this.options.relay.sweep(owned, this.options.outboxSweepAgeMs);
    } catch (error) {
      this.options.ports.log(`outbox sweep failed: ${(error as Error).message}`);
    }
  }
}
