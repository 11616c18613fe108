/**
 * Tells Postgres which outbox rows were published (markOutboxPublished: deleted, dead letters
 * moved to dead_letters) a few times a second, for every partition at once, instead of once
 * per relayed batch.
 *
 * Why: on the live path batches are small, and the relay's "mark published" UPDATE was a
 * transaction of its own after every batch (a third of Postgres statement time in the
 * bench's profile). The mark is bookkeeping, not correctness: a row published but not yet
 * marked when the process dies is published again by the next owner's sweeper, and every
 * consumer tolerates that (legs are deduped on (transfer, leg), events on (transfer, type)).
 * So marks may wait, as long as they land well before the sweeper's age limit.
 */
export interface PublishedMarksOptions<T> {
  /** Writes the marks (markOutboxPublished); a failure keeps the ids for the next flush. */
  mark(ids: readonly T[]): Promise<void>;
  intervalMs: number;
  /** Ids marked by one statement at most: after an outage the backlog goes out in several flushes. */
  idsPerFlushMax: number;
  /** Ids kept at most while flushes fail; beyond it the oldest are dropped (the sweeper republishes them). */
  pendingMax: number;
  log(message: string): void;
}

export class PublishedMarks<T> {
  private pending: T[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(private readonly options: PublishedMarksOptions<T>) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.options.intervalMs);
    this.timer.unref();
  }

  add(ids: readonly T[]): void {
    for (const id of ids) this.pending.push(id);
    const excess = this.pending.length - this.options.pendingMax;
    if (excess > 0) this.pending.splice(0, excess);
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Writes every pending mark; one flush at a time. */
  async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.length === 0) return;
    // Bounded per statement: after an outage the backlog goes out in several flushes.
    const ids = this.pending.splice(0, this.options.idsPerFlushMax);
    this.flushing = this.options
      .mark(ids)
      .catch((error: Error) => {
        this.options.log(`outbox: marking ${ids.length} rows published failed (${error.message}); retrying on the next flush`);
        this.add(ids);
      })
      .finally(() => {
        this.flushing = null;
      });
    return this.flushing;
  }

  /** Stops the timer and writes what is pending (best effort: the sweeper covers a failure). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flushing;
    await this.flush();
  }
}
