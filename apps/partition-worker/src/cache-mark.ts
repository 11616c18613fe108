/**
 * The cache mark of one partition (migration 0027, `partition_state.cache_behind_since`):
 * how far its balance-cache refreshes are known to have landed, so that a worker that dies
 * between a commit and its refresh leaves no cached balance behind the ledger for good.
 *
 * The owner refreshes a batch's accounts right after the commit and retries what Redis
 * refused (balance-refresher.ts); what it still owed when it died (kill -9 in that window, a
 * crash while Redis was down) was lost, and an account that saw no further change was served
 * its older balance until the key expired (docs/design.md, invariant 9).
 *
 * - **Catch-up.** A worker that claims the partition refreshes, in the background, every
 *   account changed at or after the mark it found (or in the cache's lifetime, if shorter:
 *   an entry written earlier has expired), as Postgres holds it now. Not only the
 *   partition's accounts: a bucket moved away since is caught up here too. Always safe
 *   beside the owner's own refreshes: the cache keeps the newer `rev`.
 * - **Advance.** Once that catch-up is done, the owner moves the mark to an instant `at` of
 *   Postgres's clock when (1) every batch it wrote whose transaction began before `at` has
 *   committed and handed its refresh over (`at` is read first, then the applier is waited
 *   for between writes: such a batch was sent before `at` was read; a write that failed with
 *   its answer lost may have committed, and holds the mark until a later write or a new
 *   claim settles it), and (2) every refresh
 *   handed over so far has landed, none owed and none dropped since the catch-up began. The
 *   write is fenced by the claim's epoch.
 *
 * A partition nobody fetches for is caught up too: the sweeper claims an assigned partition
 * that committed a batch at or after its mark (`partitionsWithCacheBehind`).
 */
import type { Database } from '@ledgerline/postgres';
import { type PartitionClaim, advanceCacheMark, databaseNow, loadBalancesChangedSince } from '@ledgerline/postgres';
import type { BalanceFigure } from '@ledgerline/domain';

export interface CacheMarkPorts {
  pool: Database;
  /** Writes figures to the cache now, failing if Redis does (BalanceCache.refresh). */
  sendBalances(balances: readonly BalanceFigure[]): Promise<void>;
  /** Seconds a cached balance lives unless written again (BalanceCache.ttlS). */
  cacheTtlS: number;
  /** Whether every refresh the owner handed over so far is in the cache (BalanceRefresher.allLanded). */
  refreshesLanded(): Promise<boolean>;
  /** Figures the owner's refresher dropped so far (BalanceRefresher.droppedTotal). */
  refreshesDropped(): number;
  log(line: string): void;
}

/** Accounts read and sent per page of a catch-up. */
const CATCH_UP_PAGE = 1000;

export class PartitionCacheMark {
  /** The claim whose catch-up is done, and the refresher's drops when it began. */
  private caughtUp: { claim: PartitionClaim; dropped: number } | null = null;
  private catchingUp: Promise<void> | null = null;
  /** The mark this owner last moved, and under which claim: a later catch-up starts there. */
  private moved: { claim: PartitionClaim; at: string } | null = null;

  constructor(
    private readonly partition: number,
    private readonly ports: CacheMarkPorts,
  ) {}

  /** A claim was taken: catch the cache up from the mark it found, in the background. */
  claimed(claim: PartitionClaim): void {
    this.caughtUp = null;
    this.startCatchUp(claim);
  }

  /** Resolves once the catch-up in progress, if any, has ended (tests). */
  settled(): Promise<void> {
    return this.catchingUp ?? Promise.resolve();
  }

  /**
   * One step forward for the current `claim` (null: none, nothing to do). `betweenWrites`
   * resolves once no apply() is running, to false if a write failed with its outcome unknown
   * (it may have committed without a refresh) and is not settled yet.
   * Never throws: a failed step is tried again at the next.
   */
  async advance(claim: PartitionClaim | null, betweenWrites: () => Promise<boolean>): Promise<boolean> {
    if (!claim) return false;
    const caughtUp = this.caughtUp;
    if (caughtUp?.claim !== claim || caughtUp.dropped !== this.ports.refreshesDropped()) {
      // Not caught up for this claim, or a refresh was dropped since: the catch-up covers it.
      this.startCatchUp(claim);
      return false;
    }
    try {
      const at = await databaseNow(this.ports.pool);
      if (!(await betweenWrites())) return false;
      if (!(await this.ports.refreshesLanded())) return false;
      if (this.ports.refreshesDropped() !== caughtUp.dropped) return false;
      const moved = await advanceCacheMark(this.ports.pool, claim, at);
      if (moved) this.moved = { claim, at };
      return moved;
    } catch (error) {
      this.ports.log(`partition ${this.partition}: moving the cache mark failed (tried again later): ${(error as Error).message}`);
      return false;
    }
  }

  private startCatchUp(claim: PartitionClaim): void {
    if (this.catchingUp) return;
    const dropped = this.ports.refreshesDropped();
    // A refresh dropped after this owner moved the mark was for a change after it (the mark
    // moves only with none owed): no need to send again everything since the claim's mark.
    const since = this.moved?.claim === claim ? this.moved.at : claim.cacheBehindSince;
    this.catchingUp = this.catchUp(since)
      .then(
        () => {
          this.caughtUp = { claim, dropped };
        },
        (error: Error) => this.ports.log(`partition ${this.partition}: catching the balance cache up failed (tried again later): ${error.message}`),
      )
      .finally(() => {
        this.catchingUp = null;
      });
  }

  private async catchUp(since: string): Promise<void> {
    let afterId: string | null = null;
    let refreshed = 0;
    for (;;) {
      const page = await loadBalancesChangedSince(this.ports.pool, since, this.ports.cacheTtlS, afterId, CATCH_UP_PAGE);
      if (page.length > 0) await this.ports.sendBalances(page);
      refreshed += page.length;
      if (page.length < CATCH_UP_PAGE) break;
      afterId = page[page.length - 1]!.accountId;
    }
    if (refreshed > 0) this.ports.log(`partition ${this.partition}: balance cache caught up for ${refreshed} accounts changed since ${since}`);
  }
}
