/**
 * Rebalancing plans: pure functions from the routing table and measured traffic to moves.
 */
import { BUCKET_COUNT } from '@ledgerline/domain';

export interface PlannedMove {
  bucket: number;
  from: number;
  to: number;
  /** Commands in the measuring window. */
  load: number;
}

/**
 * Where `partitions add` sends buckets: the fewest moves that leave every partition of
 * `partitionCount` with BUCKET_COUNT / partitionCount buckets (one more for the remainder's
 * partitions). A partition holding more than its share gives its highest-numbered buckets
 * to the partitions holding fewer, lowest partition first; every other bucket stays where it
 * is, so buckets an operator moved by hand stay put unless their partition has too many.
 * The plan of a spread already done is empty: re-running after a crash finishes it.
 */
export function spreadPlan(current: (bucket: number) => number, partitionCount: number): PlannedMove[] {
  const held: number[][] = Array.from({ length: partitionCount }, () => []);
  for (let bucket = 0; bucket < BUCKET_COUNT; bucket++) {
    const from = current(bucket);
    if (from < 0 || from >= partitionCount) throw new RangeError(`bucket ${bucket} is routed to partition ${from}, outside 0..${partitionCount - 1}`);
    held[from]!.push(bucket);
  }
  // The remainder's extra bucket goes to the partitions holding the most already (fewest moves).
  const base = Math.floor(BUCKET_COUNT / partitionCount);
  const share = new Array<number>(partitionCount).fill(base);
  const byHolding = held.map((buckets, p) => ({ p, n: buckets.length })).sort((a, b) => b.n - a.n || a.p - b.p);
  for (let i = 0; i < BUCKET_COUNT % partitionCount; i++) share[byHolding[i]!.p]!++;

  const spare: { bucket: number; from: number }[] = [];
  held.forEach((buckets, from) => {
    for (let i = buckets.length - 1; i >= share[from]!; i--) spare.push({ bucket: buckets[i]!, from });
  });
  const moves: PlannedMove[] = [];
  held.forEach((buckets, to) => {
    for (let n = buckets.length; n < share[to]!; n++) {
      const { bucket, from } = spare.shift()!;
      moves.push({ bucket, from, to, load: 0 });
    }
  });
  return moves;
}

/**
 * Greedy leveling: move the busiest buckets off the busiest partition to the least busy one
 * while that narrows the gap, up to `movesMax` moves. A bucket moves at most once in a plan:
 * each move holds its accounts (503 BUCKET_MOVING) while it lasts, and the moves are applied
 * grouped by target partition, so a bucket planned twice was held twice and could end where
 * its first move, not its last, sent it (an outside review: 968 2->1, then 968 1->0, applied
 * as 968 -> 0 first and 968 -> 1 second).
 */
export function levelPlan(
  current: (bucket: number) => number,
  partitionCount: number,
  traffic: ReadonlyMap<number, number>,
  movesMax: number,
): PlannedMove[] {
  const owner = Array.from({ length: BUCKET_COUNT }, (_, b) => current(b));
  const load = new Array<number>(partitionCount).fill(0);
  for (const [bucket, count] of traffic) load[owner[bucket]!] = (load[owner[bucket]!] ?? 0) + count;
  const moves: PlannedMove[] = [];
  const moved = new Set<number>();
  while (moves.length < movesMax) {
    const hottest = load.indexOf(Math.max(...load));
    const coldest = load.indexOf(Math.min(...load));
    const gap = load[hottest]! - load[coldest]!;
    // The largest bucket on the hottest partition that still narrows the gap when moved.
    let best = -1;
    let bestLoad = 0;
    for (const [bucket, count] of traffic) {
      if (owner[bucket] === hottest && !moved.has(bucket) && count < gap && count > bestLoad) {
        best = bucket;
        bestLoad = count;
      }
    }
    if (best < 0) break;
    moves.push({ bucket: best, from: hottest, to: coldest, load: bestLoad });
    moved.add(best);
    owner[best] = coldest;
    load[hottest]! -= bestLoad;
    load[coldest]! += bestLoad;
  }
  return moves;
}
