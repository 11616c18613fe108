/**
 * The worker's balance-cache refreshes, made good after Redis failed them.
 *
 * After each commit the applier refreshes the cached balances of the accounts the batch
 * changed. When Redis does not take the write (a command timeout while it is busy, a
 * restart), the cache keeps the older figure, and an account that sees no further commit
 * would be served stale from the cache until the key expires (24 h). Seen in the bench's
 * hot drain: "balance cache refresh failed: Command timed out".
 *
 * So a failed refresh is owed: the newest figure of each account whose refresh failed is
 * kept, and sent again after a delay that doubles up to a cap, until Redis takes it, in
 * slices of at most `sliceMax` accounts, each settled on its own. Sending an older figure
 * again is always safe: the cache's script never replaces a newer version with an older one
 * (it compares `rev`, which every change of the account raises; docs/design.md, invariant 9).
 * At most `owedMax` accounts are owed; past it the oldest debts are dropped (and counted),
 * and what is owed when the worker stops is dropped too (logged): the cache is never the
 * truth, and such an account's key falls back to the ledger when it expires.
 *
 * `allLanded` tells the cache mark (cache-mark.ts) when everything handed over so far is in
 * the cache, and `droppedTotal` when something handed over never will be.
 */
import type { BalanceFigure } from '@ledgerline/domain';

export interface BalanceRefresherOptions {
  /** Writes the figures to the cache (BalanceCache.refresh). */
  send(balances: readonly BalanceFigure[]): Promise<void>;
  /** First and longest delay before a failed refresh is sent again (ms). */
  retryDelayFirstMs: number;
  retryDelayMaxMs: number;
  /** Accounts owed a refresh, at most. */
  owedMax: number;
  /** Accounts per retried send, at most (each slice is settled on its own). */
  sliceMax: number;
  log(line: string): void;
  /** Accounts now owed a refresh (metrics). */
  onOwed?(accounts: number): void;
}

export class BalanceRefresher {
  /** The newest figure not yet in the cache, per account, oldest debt first (Map order). */
  private readonly owed = new Map<string, BalanceFigure>();
  private timer: NodeJS.Timeout | null = null;
  private delayMs: number;
  private dropped = 0;
  /** Figures dropped since the refresher started (past the bound, or unwritable). */
  private droppedEver = 0;
  /** First sends not settled yet (each resolves, never rejects). */
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly options: BalanceRefresherOptions) {
    this.delayMs = options.retryDelayFirstMs;
  }

  /** Accounts owed a refresh now. */
  get owedCount(): number {
    return this.owed.size;
  }

  /**
   * Sends at once (callers rely on the order of commands on the connection); a failure is
   * remembered and retried, never thrown: the caller has nothing to do about it.
   */
  refresh(balances: readonly BalanceFigure[]): Promise<void> {
    const sent = this.options.send(balances).then(
      () => this.settled(balances),
      (error: Error) => {
        // One line when a run of failures starts, not one per batch while Redis is down.
        if (this.owed.size === 0) this.options.log(`balance cache refresh failed (${error.message}); retrying until Redis takes it`);
        this.owe(balances);
      },
    );
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
    return sent;
  }

  /** Figures dropped so far, never to be sent again: past the bound, or unwritable. */
  get droppedTotal(): number {
    return this.droppedEver;
  }

  /**
   * Whether every figure handed over before this call is in the cache (or something newer
   * is): waits for the sends in flight, then true if nothing is owed and nothing was dropped
   * meanwhile. False while Redis refuses.
   */
  async allLanded(): Promise<boolean> {
    const dropped = this.droppedEver;
    await Promise.all([...this.inFlight]);
    return this.owed.size === 0 && this.droppedEver === dropped && !this.stopped;
  }

  stop(): void {
    if (this.owed.size > 0) this.options.log(`stopping with ${this.owed.size} accounts owed a balance-cache refresh; their cached balances stay behind the ledger until they expire or change`);
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** A figure the cache now holds (or holds something newer than) is no longer owed. */
  private settled(balances: readonly BalanceFigure[]): void {
    if (this.owed.size === 0) return;
    for (const b of balances) {
      const owed = this.owed.get(b.accountId);
      if (owed && owed.rev <= b.rev) this.owed.delete(b.accountId);
    }
    this.report();
  }

  private owe(balances: readonly BalanceFigure[]): void {
    for (const b of balances) {
      const owed = this.owed.get(b.accountId);
      if (owed && owed.rev > b.rev) continue; // a newer figure is owed already
      this.owed.delete(b.accountId); // re-insert: the newest debt goes last
      this.owed.set(b.accountId, b);
    }
    for (const id of this.owed.keys()) {
      if (this.owed.size <= this.options.owedMax) break;
      this.owed.delete(id);
      this.dropped++;
      this.droppedEver++;
    }
    this.report();
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.stopped || this.owed.size === 0) return;
    this.timer = setTimeout(() => void this.retry(), this.delayMs);
    this.timer.unref();
  }

  private async retry(): Promise<void> {
    this.timer = null;
    const owed = [...this.owed.values()];
    let landed = 0;
    for (let at = 0; at < owed.length && !this.stopped; at += this.options.sliceMax) {
      const slice = owed.slice(at, at + this.options.sliceMax);
      try {
        await this.options.send(slice);
        this.settled(slice);
        landed += slice.length;
      } catch (error) {
        if (!(error instanceof RangeError)) {
          // Redis still refuses: try again later, from where this left off.
          this.delayMs = Math.min(this.delayMs * 2, this.options.retryDelayMaxMs);
          this.schedule();
          return;
        }
        // A figure the cache can never take (a negative version): a bug, not an outage.
        for (const b of slice) if (this.owed.get(b.accountId) === b) this.owed.delete(b.accountId);
        this.droppedEver += slice.length;
        this.options.log(`balance cache refresh dropped for ${slice.length} accounts: ${error.message}`);
        this.report();
      }
    }
    this.delayMs = this.options.retryDelayFirstMs;
    this.options.log(`balance cache refresh made good for ${landed} accounts${this.dropped ? ` (${this.dropped} dropped past the bound)` : ''}`);
    this.dropped = 0;
    this.schedule();
  }

  private report(): void {
    this.options.onOwed?.(this.owed.size);
  }
}
