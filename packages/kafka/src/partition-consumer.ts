/**
 * The consumer side of the Kafka port: a consumer-group member that hands each assigned
 * partition's fetched messages to its owner, one fetch at a time per partition, and keeps
 * running through broker trouble. Everything kafkajs about consuming lives here (group
 * membership, assignment events, fetch sizing, offset resolution, seeks, commits, crash and
 * restart), so that replacing the client library is a change inside this package, checked
 * by its conformance suite (test/partition-consumer.int.test.ts).
 *
 * States:  stopped --start--> running --crash--> restarting --> running
 *          running | restarting --stop--> stopped
 * A crash (restarted by kafkajs itself or, non-retriable, by a fresh consumer here) takes every
 * partition away (`onAssignment([])`): the member is out of the group until it joins again.
 *
 * Offsets: nothing is committed automatically. The owner marks what it has processed
 * (`markProcessed`, which moves the fetch position on) and may `commitOffsets` whenever it
 * likes; for ledgerline they are only a hint, since Postgres holds each partition's truth.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { type KafkaClient, type KafkaRetry, kafkajsRetry } from './client';
import { kafkajsOf } from './kafkajs';
import { settledWithin } from './settled-within';

/** One record as the consumer hands it over: offsets are decimal strings, as Kafka's are. */
export interface ConsumedMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Record headers as the broker returned them (bytes, undecoded: most readers never look); `headersOf` decodes. */
  headers?: ConsumedHeaders;
}

/** Header values as they come off the wire: bytes (a header may repeat: a list). */
export type ConsumedHeaders = Readonly<Record<string, Buffer | string | null | readonly (Buffer | string | null)[] | undefined>>;

/**
 * A consumed message's headers as strings (UTF-8; the first value of a repeated header).
 * Decodes on call: a reader that does not need headers (the worker with tracing off) pays
 * nothing for them.
 */
export function headersOf(message: ConsumedMessage): Record<string, string> {
  const decoded: Record<string, string> = {};
  const headers = message.headers;
  if (!headers) return decoded;
  for (const name in headers) {
    const raw = headers[name];
    const value = Array.isArray(raw) ? raw[0] : raw;
    // A header may carry no value at all (Kafka's null, which kafkajs gives as null): absent
    // here. Calling toString() on it threw before the batch's write, which the worker took
    // for an operating error and retried forever (an outside review; tracing on only).
    if (value !== undefined && value !== null) decoded[name] = value.toString();
  }
  return decoded;
}

/**
 * One fetch of one partition, with what its owner may do about it. (kafkajs calls it a
 * batch; in ledgerline a batch is what one Postgres transaction writes, and a fetch may
 * hold several.)
 */
export interface PartitionFetch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly ConsumedMessage[];
  /**
   * The offset the fetch read from. Offsets from it up to the first message hold no record a
   * consumer is given: transaction markers, aborted records (kafkajs drops them). When the
   * fetches just before it held nothing but such records (kafkajs moves past those on its own
   * and hands nothing over), the offset the first of them read from.
   */
  readonly fetchedFrom: bigint;
  /**
   * Where the partition's log ended when Kafka answered this fetch (its high watermark), or
   * null when the answer did not say.
   */
  readonly highWatermark: bigint | null;
  /** False once the consumer stops or a rebalance has made this fetch stale. */
  isActive(): boolean;
  /** Tells the group this member is alive; throws while a rebalance is in progress. */
  heartbeat(): Promise<void>;
  /** Everything up to and including `offset` is done with: the next fetch starts after it. */
  markProcessed(offset: bigint): void;
  /** The next fetch of this partition starts at `offset` instead. */
  seek(offset: bigint): void;
  /**
   * Hands the partition back for `delayMs`: it is not fetched again before then, and its next
   * fetch starts at `offset`. The member's other partitions are fetched meanwhile; a handler
   * that waited inside its fetch instead held all of them back, since the next fetch comes
   * only once every partition of the last one is handled. A new group generation, a
   * restarted consumer or a stop ends the wait.
   */
  retryLater(offset: bigint, delayMs: number): void;
}

export interface PartitionConsumerOptions {
  kafka: KafkaClient;
  topic: string;
  groupId: string;
  /** Partitions whose fetches are handled at the same time, at most. */
  partitionsConcurrentMax: number;
  /** Bytes of one partition in one fetch, at most. */
  fetchBytesMax: number;
  /** How long a fetch may wait on the broker for `fetchBytesMin`. */
  fetchWaitMs: number;
  fetchBytesMin: number;
  /** Group membership timing; what is left out comes from CONSUMER_GROUP_DEFAULTS. */
  group?: Partial<ConsumerGroupTiming>;
  /**
   * The member's partitions of `topic` changed: a new group generation, or [] after a crash,
   * whichever path restarts the consumer (until it rejoins, the group may give them to another
   * member). Called with no fetch of this member in progress: kafkajs ends its fetches before
   * it reports a crash, and a generation's fetches before it joins the next one.
   */
  onAssignment(partitions: number[]): void;
  /** Handles one fetch; a throw makes the client fetch it again (after its own backoff). */
  onFetch(fetched: PartitionFetch): Promise<void>;
  log(message: string): void;
}

export interface ConsumerGroupTiming {
  /** A member silent for this long is evicted from the group (ms). */
  sessionTimeoutMs: number;
  /** How long the group waits for every member to rejoin during a rebalance (ms). */
  rebalanceTimeoutMs: number;
  /** How often the member tells the group it is alive, at most (ms). */
  heartbeatIntervalMs: number;
  /** New partitions (ledgerctl partitions add) join the assignment within this (ms). */
  metadataMaxAgeMs: number;
  /** After a consumer stopped for good (a non-retriable crash), the wait before a new one (ms). */
  restartDelayMs: number;
  /** How the consumer's own requests are retried before it crashes. */
  retry: KafkaRetry;
}

export const CONSUMER_GROUP_DEFAULTS: ConsumerGroupTiming = {
  sessionTimeoutMs: 10_000,
  rebalanceTimeoutMs: 20_000,
  heartbeatIntervalMs: 1_000,
  metadataMaxAgeMs: 5_000,
  restartDelayMs: 1_000,
  retry: { retries: 10, delayFirstMs: 200, delayMaxMs: 5_000 },
};

export class PartitionConsumer {
  private consumer: Consumer | null = null;
  /** The start (or restart) in progress: connect, subscribe and run, up to the group join. */
  private launching: Promise<void> | null = null;
  private stopping = false;
  /** A rejoin (leave, then join afresh) in progress: one at a time. */
  private rejoining = false;
  /** The group's id for this member while it is in the group (joined, not crashed or stopped since); null otherwise. */
  private member: string | null = null;
  private readonly group: ConsumerGroupTiming;
  /**
   * Per partition, the offsets kafkajs passed over on its own since the last fetch handed over
   * (or seek): fetches that held only records no consumer is given (runner.js,
   * isEmptyDueToFiltering), one run of adjacent ones (fetchedFrom).
   */
  private readonly passedOver = new Map<number, { from: bigint; to: bigint }>();
  /** Partitions handed back by `retryLater`, each with the timer that resumes it (kafkajs keeps a pause across generations). */
  private readonly handedBack = new Map<number, NodeJS.Timeout>();
  /** Group generations joined (and consumers replaced): a fetch handed over in one may not pause a partition in the next. */
  private generation = 0;

  constructor(private readonly options: PartitionConsumerOptions) {
    this.group = { ...CONSUMER_GROUP_DEFAULTS, ...options.group };
  }

  async start(): Promise<void> {
    this.stopping = false;
    try {
      await this.launch();
    } catch (error) {
      if (!this.stopping) throw error; // a stop during the start may make it fail: that is the stop
    }
  }

  /**
   * The group's id for this member (as `describeGroup` lists it) while it is in the group: it
   * joined a generation, and has not crashed, been replaced or stopped since. Null otherwise.
   */
  memberId(): string | null {
    return this.member;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.member = null;
    // kafkajs forgets a consumer's runner when it is disconnected before `run` has joined the
    // group; the runner then joins and fetches on its own, with nothing left to stop it. So a
    // start in progress ends first and closes what it opened itself (connectAndRun); past the
    // group's rebalance timeout, stop goes on anyway.
    if (this.launching) await settledWithin(this.launching, this.group.rebalanceTimeoutMs);
    const consumer = this.consumer;
    this.consumer = null;
    this.startGeneration();
    await consumer?.disconnect().catch(() => undefined);
  }

  /**
   * A new generation (joined, replaced or stopped): fetches handed over before it may no longer
   * pause a partition, and every `retryLater` wait ends without resuming (the consumer they
   * paused is gone, or the caller resumes them itself). Returns the partitions that waited.
   */
  private startGeneration(): number[] {
    this.generation++;
    const partitions = [...this.handedBack.keys()];
    for (const timer of this.handedBack.values()) clearTimeout(timer);
    this.handedBack.clear();
    return partitions;
  }

  /**
   * Leaves the group and joins it again with a fresh consumer, for a member whose view of the
   * group went stale (it still fetches partitions the group gave to another member). Returns
   * at once: called from a fetch's handler, it must not wait for that fetch to end.
   */
  rejoin(reason: string): void {
    const current = this.consumer;
    if (!current || this.stopping || this.rejoining) return;
    this.rejoining = true;
    this.options.log(`rejoining the group: ${reason}`);
    void (async () => {
      try {
        // First the fetches in progress end (kafkajs's disconnect waits for them), so no
        // partition's work is cut off; then the claims are released and a new member joins.
        await settledWithin(current.disconnect(), this.group.rebalanceTimeoutMs);
        await this.restart(current);
      } finally {
        this.rejoining = false;
      }
    })();
  }

  /**
   * The next fetch of an assigned partition starts at `offset`, outside any fetch's handler.
   * False when there is no running consumer to tell (stopped, restarting, or kafkajs refused).
   */
  seekPartition(partition: number, offset: bigint): boolean {
    const consumer = this.consumer;
    if (!consumer) return false;
    try {
      consumer.seek({ topic: this.options.topic, partition, offset: offset.toString() });
    } catch {
      return false;
    }
    this.passedOver.delete(partition);
    return true;
  }

  /** Commits the group's offsets (the next offset to read, per partition); failures are ignored. */
  async commitOffsets(offsets: readonly { partition: number; offset: bigint }[]): Promise<boolean> {
    if (offsets.length === 0 || !this.consumer) return false;
    const topic = this.options.topic;
    return this.consumer
      .commitOffsets(offsets.map((o) => ({ topic, partition: o.partition, offset: o.offset.toString() })))
      .then(() => true)
      .catch(() => false);
  }

  /** A start or a restart, kept while it runs so that stop() can wait for it. */
  private launch(): Promise<void> {
    const launching = this.connectAndRun().finally(() => {
      if (this.launching === launching) this.launching = null;
    });
    this.launching = launching;
    return launching;
  }

  /**
   * Creates, connects and runs a consumer. Whatever it opened is closed again if it fails, or
   * if stop() ran meanwhile: the start would otherwise go on to fetch after stop resolved.
   */
  private async connectAndRun(): Promise<void> {
    const consumer = this.createConsumer();
    const close = async () => {
      if (this.consumer === consumer) this.consumer = null;
      await consumer.disconnect().catch(() => undefined);
    };
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.options.partitionsConcurrentMax,
        eachBatch: (payload) => this.options.onFetch(this.fetchOf(consumer, payload)),
      });
    } catch (error) {
      await close();
      throw error;
    }
    if (this.stopping) await close();
  }

  private createConsumer(): Consumer {
    const { kafka, topic, groupId } = this.options;
    const consumer = kafkajsOf(kafka).consumer({
      groupId,
      sessionTimeout: this.group.sessionTimeoutMs,
      rebalanceTimeout: this.group.rebalanceTimeoutMs,
      heartbeatInterval: this.group.heartbeatIntervalMs,
      maxBytesPerPartition: this.options.fetchBytesMax,
      maxWaitTimeInMs: this.options.fetchWaitMs,
      minBytes: this.options.fetchBytesMin,
      allowAutoTopicCreation: false,
      metadataMaxAge: this.group.metadataMaxAgeMs,
      retry: kafkajsRetry(this.group.retry),
    });
    this.consumer = consumer;
    consumer.on(consumer.events.START_BATCH_PROCESS, ({ payload }) => {
      // Emitted for a fetch that held only transaction markers or aborted records before kafkajs
      // resolves past it (batchSize 0), and for every fetch handed over (batchSize > 0).
      if (payload.topic !== topic || payload.batchSize !== 0 || !/^[0-9]+$/.test(String(payload.firstOffset))) return;
      const first = BigInt(payload.firstOffset);
      const last = BigInt(payload.lastOffset);
      const run = this.passedOver.get(payload.partition);
      this.passedOver.set(payload.partition, run && run.to + 1n === first ? { from: run.from, to: last } : { from: first, to: last });
    });
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.passedOver.clear();
      // A pause outlives the generation in kafkajs: a partition handed back and assigned here
      // again would wait out its delay; the new generation's owner decides afresh.
      const handedBack = this.startGeneration();
      if (handedBack.length > 0) consumer.resume([{ topic, partitions: handedBack }]);
      this.member = event.payload.memberId;
      this.options.onAssignment([...(event.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b));
    });
    consumer.on(consumer.events.CRASH, (event) => {
      if (this.stopping || this.consumer !== consumer) return; // stopped, or a consumer already replaced
      if (event.payload.restart) {
        // kafkajs restarts the consumer itself after a retriable error (Kafka stopped or
        // unreachable: every error of a 90 s outage was of this kind). It has disconnected
        // first (its fetches ended, the group left if the broker answered), so until it joins
        // again the member holds nothing, and the group may give its partitions to another
        // member: say so, as the other path does. Kept, the worker went on exporting the old
        // generation's partitions (assigned, outbox backlog, money in flight) and /readyz its
        // partitions "ok" for the whole outage (an outside runbook review). Each failed
        // attempt to rejoin crashes again: said once, when the member leaves.
        if (this.member === null) return;
        this.member = null;
        this.options.log(`consumer crashed (${event.payload.error.message}); kafkajs restarts it, and until it joins the group again it holds no partitions`);
        this.options.onAssignment([]);
        return;
      }
      // After a non-retriable one (seen in the chaos run: "Failed to find group coordinator"
      // while Kafka restarted) kafkajs stops for good and the process would sit idle. Start a
      // fresh consumer instead.
      this.options.log(`consumer crashed (${event.payload.error.message}); starting a new one in ${this.group.restartDelayMs} ms`);
      void this.restart(consumer);
    });
    return consumer;
  }

  private fetchOf(consumer: Consumer, { batch, heartbeat, isRunning, isStale, resolveOffset, pause }: EachBatchPayload): PartitionFetch {
    // kafkajs's Batch keeps the offset it fetched from (it filters what lies below it), but
    // its types do not declare it; kafkajs is pinned (2.2.4).
    const fetchedOffset = BigInt((batch as unknown as { fetchedOffset: string }).fetchedOffset);
    const run = this.passedOver.get(batch.partition);
    this.passedOver.delete(batch.partition);
    const generation = this.generation;
    return {
      topic: batch.topic,
      partition: batch.partition,
      messages: batch.messages,
      // Read from where a run of fetches kafkajs passed over began, when it ends right here.
      fetchedFrom: run && run.to + 1n === fetchedOffset ? run.from : fetchedOffset,
      highWatermark: /^[0-9]+$/.test(batch.highWatermark) ? BigInt(batch.highWatermark) : null,
      isActive: () => isRunning() && !isStale(),
      heartbeat,
      // With eachBatchAutoResolve off, an unresolved fetch is fetched again from its start
      // (found by the benchmark: the consumer re-read the same messages, and stalled once
      // they filled a whole fetch).
      markProcessed: (offset) => resolveOffset(offset.toString()),
      seek: (offset) => {
        this.passedOver.delete(batch.partition);
        consumer.seek({ topic: batch.topic, partition: batch.partition, offset: offset.toString() });
      },
      retryLater: (offset, delayMs) => {
        // A fetch of a generation that has ended (kafkajs can rejoin from inside another
        // broker's fetch while this one's handler still runs): the new generation's owner
        // fetches the partition from where Postgres says; a pause now would hold it back.
        if (generation !== this.generation) return;
        this.passedOver.delete(batch.partition);
        consumer.seek({ topic: batch.topic, partition: batch.partition, offset: offset.toString() });
        const earlier = this.handedBack.get(batch.partition);
        if (earlier) clearTimeout(earlier);
        const resume = pause();
        const timer = setTimeout(() => {
          if (this.handedBack.get(batch.partition) !== timer) return;
          this.handedBack.delete(batch.partition);
          if (this.consumer === consumer) resume();
        }, delayMs);
        timer.unref();
        this.handedBack.set(batch.partition, timer);
      },
    };
  }

  /** Replaces a crashed consumer, retrying until one runs (or the consumer stops). */
  private async restart(crashed: Consumer): Promise<void> {
    if (this.consumer !== crashed) return; // already replaced
    this.consumer = null;
    this.startGeneration();
    this.member = null;
    this.options.onAssignment([]);
    await crashed.disconnect().catch(() => undefined);
    while (!this.stopping) {
      await sleep(this.group.restartDelayMs);
      if (this.stopping) return;
      try {
        await this.launch();
        if (!this.stopping) this.options.log('consumer restarted');
        return;
      } catch (error) {
        this.options.log(`consumer restart failed (${(error as Error).message}); retrying`);
      }
    }
  }
}
