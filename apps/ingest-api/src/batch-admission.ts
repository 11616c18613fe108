/**
 * Admission of `POST /v1/batch` work: at most `itemsInFlightMax` batch items are worked on at
 * once; a batch that does not fit waits its turn, first come first served, for at most
 * `waitMaxMs`, and is then refused (429 TOO_MANY_REQUESTS with Retry-After) before any of its
 * items is charged to the caller's write budget, claimed or published (the request itself
 * took one write, as every request does). At most a round of items (`itemsInFlightMax`)
 * waits: once a full round is waiting, a new batch is refused before it is charged at all or
 * its body is parsed (app.ts), and one that got past that check while the queue filled is
 * refused at once when it would wait beyond the round.
 *
 * Why: without a bound, every batch that arrives is worked on at once, and the process's CPU
 * is shared among all of them. Offered more than it can do, the API then answers EVERY batch
 * late: measured with `npm run bench -- --quick --only batch` (15,000 items/s offered, 500 per
 * batch), the median batch was answered after 10.8 s and the 99th percentile after 12.3 s,
 * and k6 ran out of connections. Bounded, a batch is worked on at full speed, after a wait
 * of at most `waitMaxMs` behind at most a round, or told to come back, so an accepted batch's
 * latency stays within the wait plus its own service time and a client's retry (with the same
 * Idempotency-Key) finds the API where it left off.
 *
 * A batch larger than the bound is admitted alone when nothing else is in flight, so no
 * valid batch is refused for its size. Single-item routes are not counted here: they are
 * bounded by the in-flight request cap (API_IN_FLIGHT_REQUESTS_MAX).
 */

/** The batch could not start within the admission wait: the API is busy; retry shortly. */
export class AdmissionRefusedError extends Error {
  override readonly name = 'AdmissionRefusedError';
}

export interface BatchAdmissionOptions {
  /** Batch items worked on at once, at most (a larger batch runs alone). */
  itemsInFlightMax: number;
  /** How long a batch may wait for its turn before it is refused (ms); 0: refused at once. */
  waitMaxMs: number;
  /** A batch was refused (for metrics). */
  onRefused?: () => void;
  /** The items in flight changed (for metrics). */
  onInFlight?: (items: number) => void;
}

interface Waiter {
  readonly items: number;
  readonly admit: () => void;
  timer: NodeJS.Timeout | null;
}

export class BatchAdmission {
  private itemsInFlight = 0;
  /** Batches waiting for their turn, oldest first, and their items. */
  private readonly waiting: Waiter[] = [];
  private itemsWaiting = 0;

  constructor(private readonly options: BatchAdmissionOptions) {}

  /** Items being worked on now. */
  get inFlight(): number {
    return this.itemsInFlight;
  }

  /**
   * A full round of work is already waiting: a batch arriving now would wait longer than the
   * batches in flight take. Checked before a batch's body is even parsed, so that refusing it
   * costs next to nothing (a refusal after parsing 500 items cost about as much as accepting
   * them).
   */
  saturated(): boolean {
    return this.itemsWaiting >= this.options.itemsInFlightMax;
  }

  /** Runs `work` once `items` fit, after every batch that came before; throws AdmissionRefusedError past the wait. */
  async run<T>(items: number, work: () => Promise<T>): Promise<T> {
    await this.enter(items);
    try {
      return await work();
    } finally {
      this.leave(items);
    }
  }

  private fits(items: number): boolean {
    return this.itemsInFlight === 0 || this.itemsInFlight + items <= this.options.itemsInFlightMax;
  }

  private enter(items: number): Promise<void> {
    if (this.waiting.length === 0 && this.fits(items)) {
      this.add(items);
      return Promise.resolve();
    }
    if (this.options.waitMaxMs === 0) return Promise.reject(this.refusal());
    // At most a round of items waits (a larger batch may wait alone): `saturated` refuses
    // before parsing, but batches already past it while the queue filled end here.
    if (this.waiting.length > 0 && this.itemsWaiting + items > this.options.itemsInFlightMax) return Promise.reject(this.refusal());
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { items, admit: resolve, timer: null };
      waiter.timer = setTimeout(() => {
        const at = this.waiting.indexOf(waiter);
        if (at === -1) return;
        this.waiting.splice(at, 1);
        this.itemsWaiting -= items;
        reject(this.refusal());
        // A large batch at the head may have held back smaller ones that fit now.
        this.admitWaiting();
      }, this.options.waitMaxMs);
      this.waiting.push(waiter);
      this.itemsWaiting += items;
    });
  }

  private leave(items: number): void {
    this.add(-items);
    this.admitWaiting();
  }

  private add(items: number): void {
    this.itemsInFlight += items;
    this.options.onInFlight?.(this.itemsInFlight);
  }

  /** Admits waiting batches in arrival order while the head fits. */
  private admitWaiting(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.items)) {
      const next = this.waiting.shift()!;
      this.itemsWaiting -= next.items;
      if (next.timer) clearTimeout(next.timer);
      this.add(next.items);
      next.admit();
    }
  }

  /** The error that refuses a batch (counted as refused). */
  refusal(): AdmissionRefusedError {
    this.options.onRefused?.();
    return new AdmissionRefusedError('the API is working on as many batch items as it can; retry shortly with the same Idempotency-Key');
  }
}
