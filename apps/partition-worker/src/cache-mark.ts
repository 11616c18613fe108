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
 *   beside the owner's own refreshes: the cache keeps the newer `rev`. It is one pass over
 *   the `accounts` table, a range of heap blocks per statement (loadBalancesChangedInBlocks;
 *   one during which the table was rewritten, VACUUM FULL or the like, fails: its rows moved);
 *   the partitions a rebalance hands a worker together share one pass (CatchUpPasses);
 *   one that fails is tried again after a wait that doubles per failure (a new claim tries
 *   at once).
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
import { type PartitionClaim, accountBlocks, advanceCacheMark, databaseNow, loadBalancesChangedInBlocks } from '@ledgerline/postgres';
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
  /** Heap blocks of `accounts` read per statement of a catch-up (default CATCH_UP_BLOCKS; tests use a few). */
  catchUpBlocks?: number;
  /** The wait after a first failed catch-up (default CATCH_UP_RETRY_MS; tests shorten it). */
  catchUpRetryMs?: number;
  /**
   * The worker's shared passes (CatchUpPasses): a catch-up asked for while a pass has not
   * begun rides on it. Without it, the mark has passes of its own.
   */
  passes?: CatchUpPasses;
}

/**
 * Heap blocks read per statement of a catch-up: 8 MiB, a few milliseconds from memory, well
 * within the worker's statement deadline from disk, whatever the table's size.
 */
const CATCH_UP_BLOCKS = 1024;
/** Figures sent to Redis per write of a catch-up. */
const CATCH_UP_SEND = 1000;
/**
 * After a failed catch-up (Redis or Postgres refusing), the next waits this long, doubling
 * per failure up to CATCH_UP_RETRY_MAX_MS; a new claim starts one at once. Each catch-up reads
 * the whole `accounts` table: retried at every round of the mark (5 s), a Redis outage would
 * have every claimed partition scan it every 5 s.
 */
const CATCH_UP_RETRY_MS = 5_000;
const CATCH_UP_RETRY_MAX_MS = 300_000;

export class PartitionCacheMark {
  /** The claim whose catch-up is done, and the refresher's drops when it began. */
  private caughtUp: { claim: PartitionClaim; dropped: number } | null = null;
  private catchingUp: Promise<void> | null = null;
  /** The mark this owner last moved, and under which claim: a later catch-up starts there. */
  private moved: { claim: PartitionClaim; at: string } | null = null;
  /** Catch-ups failed in a row, and when the next may start (Date.now() ms). */
  private failures = 0;
  private retryAt = 0;
  /** The claim taken last: only a failed catch-up of its own makes its next one wait. */
  private latest: PartitionClaim | null = null;
  private readonly passes: CatchUpPasses;

  constructor(
    private readonly partition: number,
    private readonly ports: CacheMarkPorts,
  ) {
    this.passes = ports.passes ?? new CatchUpPasses({ ...ports, log: (line) => ports.log(`partition ${partition}: ${line}`) });
  }

  /** A claim was taken: catch the cache up from the mark it found, in the background. */
  claimed(claim: PartitionClaim): void {
    this.caughtUp = null;
    this.retryAt = 0;
    this.latest = claim;
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
    if (this.catchingUp || Date.now() < this.retryAt) return;
    const dropped = this.ports.refreshesDropped();
    // A refresh dropped after this owner moved the mark was for a change after it (the mark
    // moves only with none owed): no need to send again everything since the claim's mark.
    const since = this.moved?.claim === claim ? this.moved.at : claim.cacheBehindSince;
    this.catchingUp = this.passes
      .request(since)
      .then(
        () => {
          this.caughtUp = { claim, dropped };
          this.failures = 0;
        },
        (error: Error) => {
          if (claim !== this.latest && this.latest !== null) {
            // An earlier claim's, ended after a new claim was taken (whose catch-up could not
            // start meanwhile): the new claim's starts at its next step, as a new claim's does.
            this.ports.log(`partition ${this.partition}: catching the balance cache up for an earlier claim failed: ${error.message}`);
            return;
          }
          const waitMs = Math.min(CATCH_UP_RETRY_MAX_MS, (this.ports.catchUpRetryMs ?? CATCH_UP_RETRY_MS) * 2 ** this.failures);
          this.failures++;
          this.retryAt = Date.now() + waitMs;
          this.ports.log(`partition ${this.partition}: catching the balance cache up failed (tried again in ${waitMs / 1000} s): ${error.message}`);
        },
      )
      .finally(() => {
        this.catchingUp = null;
      });
  }
}

/**
 * One pass over `accounts`: sends every account changed at or after `since` (within the
 * cache's lifetime), a range of heap blocks per statement; returns how many it sent. Fails if
 * the table was rewritten meanwhile (its rows moved between blocks).
 */
async function catchUpPass(ports: Pick<CacheMarkPorts, 'pool' | 'cacheTtlS' | 'sendBalances' | 'catchUpBlocks'>, since: string): Promise<number> {
  const { pool, cacheTtlS } = ports;
  const step = ports.catchUpBlocks ?? CATCH_UP_BLOCKS;
  // The table as it is now: a row written before this began is in one of these blocks.
  const { blocks, file } = await accountBlocks(pool);
  let refreshed = 0;
  for (let from = 0; from < blocks; from += step) {
    const changed = await loadBalancesChangedInBlocks(pool, since, cacheTtlS, from, from + step);
    for (let at = 0; at < changed.length; at += CATCH_UP_SEND) await ports.sendBalances(changed.slice(at, at + CATCH_UP_SEND));
    refreshed += changed.length;
  }
  // Unless the table was rewritten meanwhile: then a row not read in the old file's blocks
  // still to come may have been in the new file's blocks already read (not done: tried again).
  const after = await accountBlocks(pool);
  if (after.file !== file) throw new Error(`the accounts table was rewritten during the catch-up (VACUUM FULL, CLUSTER or the like: file ${file}, now ${after.file})`);
  return refreshed;
}

/** How long a pass waits, from the first catch-up asked of it, for others to ride on it. */
const PASS_GATHER_MS = 100;

/**
 * The catch-up passes of one worker, shared by its partitions' cache marks. Each pass reads
 * the whole `accounts` table (every partition's accounts: a bucket may have moved), so a
 * rebalance that hands a worker eight partitions would read it eight times over, at once.
 * Instead a catch-up asked for joins the pass that has not begun yet, which starts
 * PASS_GATHER_MS after its first request, from the earliest `since` asked of it: a pass that
 * begins after every claim it serves and covers every mark it serves does what each one's own
 * would. One asked for while a pass runs waits for the next (the running one began before it
 * was asked). A failed pass fails every catch-up that rode on it; each mark waits on its own.
 */
export class CatchUpPasses {
  private next: { since: string; done: Promise<void> } | null = null;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ports: Pick<CacheMarkPorts, 'pool' | 'cacheTtlS' | 'sendBalances' | 'log' | 'catchUpBlocks'>,
    private readonly pass: (since: string) => Promise<number> = (since) => catchUpPass(this.ports, since),
  ) {}

  /** Resolves once a pass that began after this call has sent every account changed since `since`. */
  request(since: string): Promise<void> {
    if (this.next) {
      // The marks' instants are one fixed-width UTC text (partition-state.ts): they compare as text.
      if (since < this.next.since) this.next.since = since;
      return this.next.done;
    }
    const next: { since: string; done: Promise<void> } = { since, done: Promise.resolve() };
    const previous = this.running;
    next.done = (async () => {
      await new Promise((resolve) => setTimeout(resolve, PASS_GATHER_MS));
      await previous.catch(() => undefined); // begins after the pass in progress, if any
      this.next = null; // from here on, a request waits for the pass after this one
      const since = next.since;
      const refreshed = await this.pass(since);
      if (refreshed > 0) this.ports.log(`balance cache caught up for ${refreshed} accounts changed since ${since}`);
    })();
    this.next = next;
    this.running = next.done;
    return next.done;
  }
}
