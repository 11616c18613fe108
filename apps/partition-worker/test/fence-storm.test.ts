// A member whose partitions keep being fenced by another owner while Kafka still assigns
// them here has a stale view of the group and must rejoin (fence-storm.ts); a single fence
// (a rebalance's old owner finishing its batch) must not make it rejoin.
import { FenceStorm } from '../src/fence-storm';

describe('fence storm', () => {
  test('the third fence of one partition within the window is a storm; fewer, or slower, are not', () => {
    const storm = new FenceStorm({ fencesMax: 3, windowMs: 1_000 });
    expect(storm.fenced(4, 0)).toBe(false);
    expect(storm.fenced(4, 100)).toBe(false);
    expect(storm.fenced(4, 200)).toBe(true);
    // Reset by the storm: counting starts again.
    expect(storm.fenced(4, 300)).toBe(false);
    const slow = new FenceStorm({ fencesMax: 3, windowMs: 1_000 });
    expect([0, 600, 1_200, 1_800].map((t) => slow.fenced(1, t))).toEqual([false, false, false, false]);
  });

  test('fences of different partitions are counted apart, and a new generation forgets them', () => {
    const storm = new FenceStorm({ fencesMax: 2, windowMs: 1_000 });
    expect(storm.fenced(1, 0)).toBe(false);
    expect(storm.fenced(2, 10)).toBe(false);
    storm.reset();
    expect(storm.fenced(1, 20)).toBe(false);
    expect(storm.fenced(1, 30)).toBe(true);
  });
});
