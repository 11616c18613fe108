/**
 * Terminal-status notifications for long polls.
 *
 * Publish side: the worker calls `publishTerminal` once per committed batch with every
 * transfer that reached COMPLETED or REJECTED in it: ONE PUBLISH of a JSON array, not one
 * per transfer (a batch of 2000 transfers costs one message of ~80 KB, not 2000 round trips).
 *
 * Wait side: each API process holds ONE subscriber connection and an in-memory map
 * transferId -> waiting requests. A waiter's states:
 *
 *   registered --notification for its id | recheck finds it terminal--> woken ("terminal")
 *   registered --its timer ends--------------------------------------> "timeout"
 *   registered --close()---------------------------------------------> "closed"
 *
 * Pub/sub is fire-and-forget: a message published while the subscriber reconnects is lost.
 * So once per `recheckMs` the waiter asks the truth (Postgres, through `areTerminal`) about
 * every id still waited on, in one batched query, and once more right after a reconnect.
 * No request polls on its own. The map is bounded by `waitersMax`; past it, `register`
 * returns null and the caller answers at once instead of waiting.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type Redis from 'ioredis';
import { Keys } from './keys';

export class StatusNotifier {
  private readonly channel: string;

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
  ) {
    this.channel = new Keys(keyPrefix).statusChannel();
  }

  async publishTerminal(transferIds: readonly string[]): Promise<void> {
    if (transferIds.length === 0) return;
    await this.redis.publish(this.channel, JSON.stringify(transferIds));
  }
}

export type WaitOutcome = 'terminal' | 'timeout' | 'closed';

export interface WaitHandle {
  /** Resolves when the transfer is (probably) terminal, the time is up, or the waiter closes. */
  until(timeoutMs: number): Promise<WaitOutcome>;
  /** Leaves the map; call it in a `finally`. Idempotent. */
  cancel(): void;
}

export interface TransferStatusWaiterOptions {
  /** Requests waiting at most, across all transfers. */
  waitersMax: number;
  /** Safety re-check period for the ids still waited on. */
  recheckMs: number;
  /** Ids per `areTerminal` call at most. */
  recheckIdsPerQueryMax?: number;
  /** Which of these transfers are COMPLETED or REJECTED (the authoritative store). */
  areTerminal(ids: readonly string[]): Promise<ReadonlySet<string>>;
  onError?(error: Error): void;
}

interface Waiter {
  readonly transferId: string;
  outcome: WaitOutcome | null;
  resolve: ((outcome: WaitOutcome) => void) | null;
  timer: NodeJS.Timeout | null;
}

export class TransferStatusWaiter {
  private readonly channel: string;
  private readonly byTransfer = new Map<string, Set<Waiter>>();
  private count = 0;
  private recheckTimer: NodeJS.Timeout | null = null;
  private rechecking = false;
  private closed = false;
  private readonly onMessage = (channel: string, message: string) => {
    if (channel === this.channel) this.wakeAll(parseIds(message));
  };
  // After a reconnect, anything published during the outage was lost: look now.
  private readonly onReady = () => void this.recheck();

  constructor(
    private readonly subscriber: Redis,
    keyPrefix: string,
    private readonly options: TransferStatusWaiterOptions,
  ) {
    this.channel = new Keys(keyPrefix).statusChannel();
  }

  /**
   * Subscribes and starts the re-check timer. Waits for the subscription at most
   * `timeoutMs`: if Redis is down at start, the subscription stays queued on the subscriber
   * connection and the re-check carries long polls until it lands.
   */
  async start(timeoutMs = 2_000): Promise<void> {
    this.subscriber.on('message', this.onMessage);
    this.subscriber.on('ready', this.onReady);
    this.recheckTimer = setInterval(() => void this.recheck(), this.options.recheckMs);
    this.recheckTimer.unref();
    const subscribed = this.subscriber.subscribe(this.channel).catch((error: Error) => this.options.onError?.(error));
    // Bounded wait only: past it the subscription stays queued and lands when Redis is back.
    await Promise.race([subscribed, delay(timeoutMs, undefined, { ref: false })]);
  }

  /** Requests waiting now (for metrics and tests). */
  get waiting(): number {
    return this.count;
  }

  /** Starts listening for `transferId`; null when `waitersMax` requests already wait. */
  register(transferId: string): WaitHandle | null {
    if (this.closed || this.count >= this.options.waitersMax) return null;
    const waiter: Waiter = { transferId, outcome: null, resolve: null, timer: null };
    let set = this.byTransfer.get(transferId);
    if (!set) {
      set = new Set();
      this.byTransfer.set(transferId, set);
    }
    set.add(waiter);
    this.count++;
    return {
      until: (timeoutMs) => this.until(waiter, timeoutMs),
      cancel: () => this.remove(waiter),
    };
  }

  /** Resolves every waiter with "closed" and stops listening; the caller owns the connection. */
  close(): void {
    this.closed = true;
    if (this.recheckTimer) clearInterval(this.recheckTimer);
    this.recheckTimer = null;
    this.subscriber.off('message', this.onMessage);
    this.subscriber.off('ready', this.onReady);
    for (const set of [...this.byTransfer.values()]) for (const waiter of set) this.settle(waiter, 'closed');
  }

  private until(waiter: Waiter, timeoutMs: number): Promise<WaitOutcome> {
    if (waiter.outcome) return Promise.resolve(waiter.outcome);
    return new Promise((resolve) => {
      waiter.resolve = resolve;
      waiter.timer = setTimeout(() => this.settle(waiter, 'timeout'), timeoutMs);
    });
  }

  private wakeAll(ids: readonly string[]): void {
    for (const id of ids) {
      const set = this.byTransfer.get(id);
      if (set) for (const waiter of [...set]) this.settle(waiter, 'terminal');
    }
  }

  /** Records the outcome (a notification may arrive before `until` is called) and leaves the map. */
  private settle(waiter: Waiter, outcome: WaitOutcome): void {
    if (waiter.outcome) return;
    waiter.outcome = outcome;
    if (waiter.timer) clearTimeout(waiter.timer);
    this.remove(waiter);
    waiter.resolve?.(outcome);
  }

  private remove(waiter: Waiter): void {
    const set = this.byTransfer.get(waiter.transferId);
    if (!set || !set.delete(waiter)) return;
    this.count--;
    if (set.size === 0) this.byTransfer.delete(waiter.transferId);
  }

  private async recheck(): Promise<void> {
    if (this.rechecking || this.closed || this.byTransfer.size === 0) return;
    this.rechecking = true;
    try {
      const ids = [...this.byTransfer.keys()];
      const perQuery = this.options.recheckIdsPerQueryMax ?? 1000;
      for (let start = 0; start < ids.length; start += perQuery) {
        const terminal = await this.options.areTerminal(ids.slice(start, start + perQuery));
        this.wakeAll([...terminal]);
      }
    } catch (error) {
      this.options.onError?.(error as Error);
    } finally {
      this.rechecking = false;
    }
  }
}

/** A malformed message wakes nobody; it never throws inside the subscriber's event handler. */
function parseIds(message: string): string[] {
  try {
    const value: unknown = JSON.parse(message);
    return Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return [];
  }
}
