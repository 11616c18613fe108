// Proves the spread plan of `partitions add` moves the fewest buckets that level the
// partitions, leaves the rest where they are (a bucket moved by hand included), and plans
// nothing once the spread is done, so re-running the command after a crash finishes it.
import { BUCKET_COUNT } from '@ledgerline/domain';
import { type PlannedMove, spreadPlan } from '../src/rebalance/plan';

const roundRobin = (partitions: number) => (bucket: number) => bucket % partitions;

function applied(current: (bucket: number) => number, plan: readonly PlannedMove[]): (bucket: number) => number {
  const owner = Array.from({ length: BUCKET_COUNT }, (_, b) => current(b));
  for (const move of plan) {
    expect(owner[move.bucket]).toBe(move.from);
    owner[move.bucket] = move.to;
  }
  return (bucket) => owner[bucket]!;
}

function holdings(owner: (bucket: number) => number, partitions: number): number[] {
  const counts = new Array<number>(partitions).fill(0);
  for (let b = 0; b < BUCKET_COUNT; b++) counts[owner(b)]!++;
  return counts;
}

describe('spreadPlan', () => {
  test.each([
    [8, 12, 340],
    [12, 16, 256],
    [16, 20, 204],
    [8, 9, 113],
  ])('%i -> %i partitions moves %i buckets, the fewest that level them, all onto the new partitions', (from, to, fewest) => {
    const plan = spreadPlan(roundRobin(from), to);
    expect(plan).toHaveLength(fewest);
    expect(plan.every((m) => m.to >= from && m.from < from)).toBe(true);
    const counts = holdings(applied(roundRobin(from), plan), to);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });

  test('a finished spread plans nothing: re-running after a crash finishes only what is left', () => {
    const plan = spreadPlan(roundRobin(8), 12);
    const done = applied(roundRobin(8), plan);
    expect(spreadPlan(done, 12)).toEqual([]);
    const halfway = applied(roundRobin(8), plan.slice(0, 100));
    const rest = spreadPlan(halfway, 12);
    expect(rest).toHaveLength(plan.length - 100);
    const counts = holdings(applied(halfway, rest), 12);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });

  test('a bucket moved by hand stays where it is', () => {
    // Bucket 5 (hot) moved by hand from partition 5 to partition 3.
    const byHand = (bucket: number) => (bucket === 5 ? 3 : bucket % 8);
    const plan = spreadPlan(byHand, 12);
    expect(plan.find((m) => m.bucket === 5)).toBeUndefined();
    expect(plan).toHaveLength(340);
  });

  test('a bucket routed outside the partitions is a programming error', () => {
    expect(() => spreadPlan(() => 12, 12)).toThrow(RangeError);
  });
});
