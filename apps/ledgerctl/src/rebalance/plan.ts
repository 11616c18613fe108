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

/** Buckets dealt round-robin over `partitionCount`: where `partitions add` sends them. */
export function spreadPlan(current: (bucket: number) => number, partitionCount: number): PlannedMove[] {
  const moves: PlannedMove[] = [];
  for (let bucket = 0; bucket < BUCKET_COUNT; bucket++) {
    const to = bucket % partitionCount;
    const from = current(bucket);
    if (from !== to) moves.push({ bucket, from, to, load: 0 });
  }
  return moves;
}

/**
 * Greedy leveling: move the busiest buckets off the busiest partition to the least busy one
 * while that narrows the gap, up to `movesMax` moves.
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
  while (moves.length < movesMax) {
    const hottest = load.indexOf(Math.max(...load));
    const coldest = load.indexOf(Math.min(...load));
    const gap = load[hottest]! - load[coldest]!;
    // The largest bucket on the hottest partition that still narrows the gap when moved.
    let best = -1;
    let bestLoad = 0;
    for (const [bucket, count] of traffic) {
      if (owner[bucket] === hottest && count < gap && count > bestLoad) {
        best = bucket;
        bestLoad = count;
      }
    }
    if (best < 0) break;
    moves.push({ bucket: best, from: hottest, to: coldest, load: bestLoad });
    owner[best] = coldest;
    load[hottest]! -= bestLoad;
    load[coldest]! += bestLoad;
  }
  return moves;
}
