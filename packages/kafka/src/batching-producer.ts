/**
 * An idempotent, acks=all producer that turns many concurrent `publish` calls into few
 * produce requests.
 *
 * Why explicit batching: one produce request per HTTP request costs a broker round trip
 * each (a few ms with acks=all); sharing one request among everything that arrived during
 * the previous round trip (or `lingerMs`) keeps the ack latency near one round trip while
 * the throughput grows with the batch size.
 *
 * States of a message: buffered -> in flight -> acked (resolve) | failed (reject).
 * A message still buffered when its caller's deadline passes is dropped from the buffer: it
 * certainly never reached Kafka (BrokerUnavailableError, maybeSent false). A message whose
 * deadline passes while its request is in flight is rejected with maybeSent true: Kafka may
 * still append it, so its caller must keep the Idempotency-Key bound to it.
 *
 * Ordering: one produce request in flight at a time (maxInFlightRequests 1), and a request
 * that fails is sent again, with backoff, by the SAME idempotent producer session until Kafka
 * acknowledges it, before anything behind it goes out. Kafka's idempotence (producer id and
 * per-partition sequence numbers) then appends a request whose answer was lost once, and
 * nothing published after it can be appended before it: a command whose produce timed out is
 * never applied after a later command that got its 202 first. Starting a fresh session after a
 * failure (as this class once did) would lose that guarantee: the old request could still
 * land, after newer ones. Only a broker's definite refusal of the session resets it (see
 * `sessionBroken`).
 *
 * A request spans brokers (one per partition leader). When kafkajs resolves it with part of it
 * unwritten (produce-acknowledgement.ts: a leader that moved, a partition it did not know yet),
 * only the rest is sent again. When it rejects after some brokers appended their part, the
 * whole request is sent again and those parts are appended a second time, under new sequence
 * numbers: a duplicate, never a loss, and every reader of the topics dedupes (a command by
 * its transfer or hold id, a saga leg by its transfer and leg, docs/events.md for events).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Producer } from 'kafkajs';
import type { KafkaClient } from './client';
import { BackpressureError, BrokerUnavailableError } from './errors';
import { groupByTopic, kafkajsOf, toKafkaMessage } from './kafkajs';
import type { OutgoingMessage } from './messages';
import { settledWithin } from './settled-within';
import { PartitionPlan, PartlyUnwrittenError } from './produce-acknowledgement';

/** Backoff between attempts at a produce request that failed: doubling, capped, jittered. */
const RESEND_DELAY_FIRST_MS = 50;
const RESEND_DELAY_MAX_MS = 2_000;

/** requestBytesMax's default: 768 KiB leaves room under a 1 MiB message.max.bytes for headers and framing. */
const REQUEST_BYTES_MAX_DEFAULT = 786_432;
/** A record's framing beyond its key and value (lengths, attributes, offsets), counted generously. */
const RECORD_OVERHEAD_BYTES = 64;

/**
 * kafkajs error types after which the broker refuses this producer session for good: the
 * request was answered (so it was not appended), and a new session must be started.
 */
const SESSION_BROKEN_TYPES = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING']);

export interface BatchingProducerOptions {
  kafka: KafkaClient;
  /**
   * How long the first message of a batch waits for company before the batch is sent. 0 = no
   * timer: the batch goes out at the end of the current event-loop turn (setImmediate; a
   * zero setTimeout would still cost about a millisecond), so what was published in the same
   * turn shares it, and what arrives while it is in flight forms the next one.
   */
  lingerMs: number;
  /** Messages per produce request at most. */
  batchSizeMax: number;
  /**
   * Bytes of keys, values and headers per produce request at most (default 768 KiB), so that what one
   * partition gets in a request stays under the broker's message.max.bytes (1 MiB by
   * default), which a record batch must fit whatever its count. A single publish call larger
   * than this is still sent, alone.
   */
  requestBytesMax?: number;
  /** Messages buffered or in flight at most; beyond it publish fails with BackpressureError. */
  bufferMessagesMax: number;
  /** A publish not acknowledged within this fails with BrokerUnavailableError. */
  ackTimeoutMs: number;
}

/** What a message adds to a request: its key, value and headers (which a record batch carries too), and framing. */
function messageBytes(message: OutgoingMessage): number {
  let bytes = Buffer.byteLength(message.value) + Buffer.byteLength(message.key) + RECORD_OVERHEAD_BYTES;
  if (message.headers) for (const name in message.headers) bytes += Buffer.byteLength(name) + Buffer.byteLength(message.headers[name]!);
  return bytes;
}

/** One publish call: a single message, or a group that must travel in one produce request. */
interface Pending {
  /** What is still to be written: a resend after a partial acknowledgement carries only the rest. */
  messages: readonly OutgoingMessage[];
  resolve: () => void;
  reject: (error: Error) => void;
  /** The caller's deadline; null for a publish that waits until Kafka acknowledges (the outbox relay). */
  timer: NodeJS.Timeout | null;
  settled: boolean;
  /** A produce request carrying it has been sent at least once. */
  sent: boolean;
}

export class BatchingProducer {
  private producer: Producer | null = null;
  private connecting: Promise<Producer> | null = null;
  private buffer: Pending[] = [];
  /** Messages waiting in the buffer (not yet in a produce request). */
  private buffered = 0;
  private inFlight = 0;
  private sending = false;
  /** The last send loop started; `stop` waits for it. */
  private loop: Promise<void> = Promise.resolve();
  /** Aborted by `stop`, once: the producer's stopped state, and what ends a resend backoff at once. */
  private readonly stopping = new AbortController();
  private linger: { cancel(): void } | null = null;
  private lastFailureAt = 0;
  /** The partition each message of a request was planned for: what its answer is checked against. */
  private readonly plan = new PartitionPlan();
  /** Called after each produce request with its size and duration (metrics). */
  onBatch: ((size: number, durationMs: number, ok: boolean) => void) | null = null;

  constructor(private readonly options: BatchingProducerOptions) {}

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  async start(): Promise<void> {
    await this.connection();
  }

  /** Healthy unless the last produce request failed within the last ackTimeoutMs. */
  isHealthy(): boolean {
    return !this.stopped && Date.now() - this.lastFailureAt > this.options.ackTimeoutMs;
  }

  publish(message: OutgoingMessage): Promise<void> {
    return this.publishTogether([message]);
  }

  /**
   * Publishes `messages` in ONE produce request, in this order: resolves when Kafka has
   * acknowledged all of them, rejects (for all of them) otherwise. Kafka appends the messages
   * of one partition in one request as one record batch, all or none, so a group keeps its
   * per-partition order even when it fails: no later message of the group can be in the log
   * while an earlier one of the same partition is not. The API's batch endpoint publishes
   * its accepted items this way, in groups of at most API_PRODUCE_GROUP_BYTES_MAX bytes, one
   * group after another (the API's movements.ts, groupsOf).
   * A group may be larger than batchSizeMax: it is sent alone then, never split.
   */
  publishTogether(messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    if (this.stopped) return Promise.reject(new BrokerUnavailableError('producer is stopped'));
    if (this.buffered + this.inFlight + messages.length > this.options.bufferMessagesMax) {
      return Promise.reject(new BackpressureError(`produce buffer full (${this.options.bufferMessagesMax} messages)`));
    }
    if (!this.isHealthy()) {
      return Promise.reject(new BrokerUnavailableError('Kafka failed recently; not accepting until it recovers'));
    }
    return this.enqueue(messages);
  }

  /**
   * Publishes a list and resolves when all are acked: the outbox relay's entry point. Never
   * refused for a full buffer and, without a deadline, never given up on (committed outbox
   * rows must go out, in order); it then rejects only when the producer stops. A caller that
   * can repeat itself (a fence marker) may pass a deadline.
   */
  async publishAll(messages: readonly OutgoingMessage[], deadlineMs: number | null = null): Promise<void> {
    if (this.stopped) throw new BrokerUnavailableError('producer is stopped');
    await Promise.all(messages.map((m) => this.enqueue([m], deadlineMs)));
  }

  private enqueue(messages: readonly OutgoingMessage[], deadlineMs: number | null = this.options.ackTimeoutMs): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const pending: Pending = { messages, resolve, reject, settled: false, sent: false, timer: null };
      if (deadlineMs !== null) {
        pending.timer = setTimeout(() => {
          const error = pending.sent
            ? new BrokerUnavailableError(`Kafka did not acknowledge within ${deadlineMs} ms; the message may still be appended`, true)
            : new BrokerUnavailableError(`Kafka did not take the message within ${deadlineMs} ms; it was not sent`);
          this.settle(pending, error);
        }, deadlineMs);
      }
      this.buffer.push(pending);
      this.buffered += messages.length;
      this.schedule();
    });
  }

  /**
   * Refuses new publishes, fails what is still buffered, lets a produce request in flight
   * end (for at most ackTimeoutMs), then disconnects. Disconnecting under a request in flight
   * is not an option: kafkajs, still working on that request (a metadata refresh), would
   * connect again after the disconnect, and nothing would close that connection.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.linger?.cancel();
    this.linger = null;
    for (const pending of this.buffer) this.settle(pending, new BrokerUnavailableError('producer stopped', pending.sent));
    this.buffer = [];
    this.buffered = 0;
    if (this.sending) await settledWithin(this.loop, this.options.ackTimeoutMs);
    const producer = this.producer;
    this.producer = null;
    if (producer) await producer.disconnect().catch(() => undefined);
    // A connection still being made closes itself once made (see `connection`); wait for it,
    // so that nothing of this producer is left open when stop resolves.
    await this.connecting?.catch(() => undefined);
  }

  private schedule(): void {
    if (this.sending) return; // the send loop picks the buffer up when the request returns
    if (this.buffered >= this.options.batchSizeMax) {
      this.linger?.cancel();
      this.linger = null;
      this.sendLoop();
      return;
    }
    if (!this.linger) {
      const fire = () => {
        this.linger = null;
        this.sendLoop();
      };
      if (this.options.lingerMs > 0) {
        const timer = setTimeout(fire, this.options.lingerMs);
        this.linger = { cancel: () => clearTimeout(timer) };
      } else {
        const immediate = setImmediate(fire);
        this.linger = { cancel: () => clearImmediate(immediate) };
      }
    }
  }

  private sendLoop(): void {
    if (this.sending) return;
    this.sending = true;
    this.loop = this.sendAll();
  }

  private async sendAll(): Promise<void> {
    try {
      while (!this.stopped) {
        // A message whose caller gave up before any request carried it is dropped: it was
        // never sent, and its caller was told so.
        this.buffer = this.buffer.filter((p) => !p.settled);
        this.buffered = this.buffer.reduce((sum, p) => sum + p.messages.length, 0);
        if (this.buffer.length === 0) break;
        const batch = this.buffer.splice(0, this.requestLength());
        this.buffered -= batch.reduce((sum, p) => sum + p.messages.length, 0);
        await this.send(batch);
      }
    } finally {
      // Cleared in the same turn the loop ends: a publish after this starts a new loop.
      this.sending = false;
    }
  }

  /** How many buffered publish calls the next request takes: up to batchSizeMax messages and requestBytesMax bytes, at least one call. */
  private requestLength(): number {
    const bytesMax = this.options.requestBytesMax ?? REQUEST_BYTES_MAX_DEFAULT;
    let messages = 0;
    let bytes = 0;
    let calls = 0;
    for (const pending of this.buffer) {
      const size = pending.messages.reduce((sum, m) => sum + messageBytes(m), 0);
      if (calls > 0 && (messages + pending.messages.length > this.options.batchSizeMax || bytes + size > bytesMax)) break;
      messages += pending.messages.length;
      bytes += size;
      calls++;
    }
    return calls;
  }

  /**
   * Sends one produce request and, if it fails, sends the same messages again with the same
   * producer session until Kafka acknowledges them (see the ordering note at the top). Callers
   * whose deadline passes meanwhile have been answered already; their messages are still sent,
   * since they may have been appended and the resend is what makes that exactly once.
   */
  private async send(taken: Pending[]): Promise<void> {
    let batch = taken;
    let messages = batch.reduce((sum, p) => sum + p.messages.length, 0);
    this.inFlight = messages;
    try {
      for (let attempt = 1; !this.stopped; attempt++) {
        const started = Date.now();
        try {
          const producer = await this.connection();
          if (this.stopped) break;
          if (!batch.some((pending) => pending.sent)) {
            // Nothing of this batch has gone out yet (no producer until now: Kafka unreachable
            // at start, or a session just reset). A caller whose deadline passed meanwhile was
            // told its messages were not sent, and may have given its Idempotency-Key back
            // (docs/design.md invariant 11): they must never go out now. Found by an outside
            // review; a batch once sent is sent again whole, as below.
            batch = batch.filter((pending) => !pending.settled);
            messages = batch.reduce((sum, p) => sum + p.messages.length, 0);
            this.inFlight = messages;
            if (batch.length === 0) return;
          }
          for (const pending of batch) pending.sent = true;
          const sent = batch.flatMap((pending) => pending.messages.map((outgoing) => ({ pending, outgoing, topic: outgoing.topic, message: toKafkaMessage(outgoing) })));
          const acknowledged = await producer.sendBatch({ topicMessages: groupByTopic(sent), acks: -1 });
          // kafkajs may resolve with part of the request never written (produce-acknowledgement.ts):
          // only what Kafka acknowledged is settled; the rest is sent again, as a failed request is.
          const unwritten = this.plan.unacknowledged(sent, acknowledged);
          if (unwritten.length === 0) {
            this.onBatch?.(messages, Date.now() - started, true);
            for (const pending of batch) this.settle(pending, null);
            return;
          }
          const rest = new Map<Pending, OutgoingMessage[]>();
          for (const { pending, outgoing } of unwritten) {
            const messagesLeft = rest.get(pending);
            if (messagesLeft) messagesLeft.push(outgoing);
            else rest.set(pending, [outgoing]);
          }
          for (const pending of batch) if (!rest.has(pending)) this.settle(pending, null);
          for (const [pending, messagesLeft] of rest) pending.messages = messagesLeft;
          batch = [...rest.keys()];
          messages = unwritten.length;
          this.inFlight = messages;
          throw new PartlyUnwrittenError(unwritten.length, sent.length);
        } catch (error) {
          this.lastFailureAt = Date.now();
          this.onBatch?.(messages, Date.now() - started, false);
          if (sessionBroken(error)) {
            // The broker answered and refused the session: nothing of this request was
            // appended, so a new session may send it without breaking the order.
            await this.resetConnection();
          }
          const ceiling = Math.min(RESEND_DELAY_MAX_MS, RESEND_DELAY_FIRST_MS * 2 ** Math.min(attempt, 10));
          await sleep(Math.round(ceiling * (0.5 + Math.random() / 2)), undefined, { signal: this.stopping.signal }).catch(() => undefined);
        }
      }
      for (const pending of batch) this.settle(pending, new BrokerUnavailableError('producer stopped', pending.sent));
    } finally {
      this.inFlight = 0;
    }
  }

  private settle(pending: Pending, error: Error | null): void {
    if (pending.settled) return;
    pending.settled = true;
    if (pending.timer) clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve();
  }

  private async connection(): Promise<Producer> {
    if (this.producer) return this.producer;
    if (!this.connecting) {
      const producer = kafkajsOf(this.options.kafka).producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: this.plan.createPartitioner,
        // Partitions added by `ledgerctl partitions add` must become known within seconds.
        metadataMaxAge: 5_000,
        retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
      });
      this.connecting = producer
        .connect()
        .then(async () => {
          if (this.stopped) {
            // Stopped while connecting: nobody would ever disconnect it.
            await producer.disconnect().catch(() => undefined);
            throw new BrokerUnavailableError('producer is stopped');
          }
          this.producer = producer;
          return producer;
        })
        .finally(() => {
          this.connecting = null;
        });
    }
    return this.connecting;
  }

  private async resetConnection(): Promise<void> {
    const producer = this.producer;
    this.producer = null;
    if (producer) await producer.disconnect().catch(() => undefined);
  }
}

function sessionBroken(error: unknown): boolean {
  for (let cause: unknown = error; cause; cause = (cause as { cause?: unknown }).cause) {
    if (SESSION_BROKEN_TYPES.has(String((cause as { type?: unknown }).type))) return true;
  }
  return false;
}
