import { LastPartitionTracker } from '../../loadtest/bench/last-partition';

const offsets = (entries: [number, number][]) => new Map(entries.map(([p, o]) => [p, BigInt(o)]));

describe('the partition a drain waits for last (bench)', () => {
  it('reports its rate while others still run and once it is alone', () => {
    const tracker = new LastPartitionTracker(offsets([[0, 1_000], [1, 1_000], [2, 9_000]]));
    tracker.observe(0, offsets([[0, 0], [1, 0], [2, 0]])); // nothing committed yet: not the start
    tracker.observe(1_000, offsets([[0, 100], [1, 100], [2, 1_000]])); // first commit seen
    tracker.observe(3_000, offsets([[0, 1_000], [1, 900], [2, 2_000]]));
    tracker.observe(5_000, offsets([[0, 1_000], [1, 1_000], [2, 3_000]])); // partition 2 alone from here
    tracker.observe(6_000, offsets([[0, 1_000], [1, 1_000], [2, 5_000]]));
    // 2,000 applied in 4 s while shared; 6,000 in 2 s once alone.
    expect(tracker.summary(7_000)).toEqual({ partition: 2, commands: 9_000, shared_per_s: 500, alone_s: 2, alone_per_s: 3_000 });
  });

  it('takes a partition whose offset is past its backlog (legs appended after it) for done', () => {
    const tracker = new LastPartitionTracker(offsets([[0, 100], [1, 500]]));
    tracker.observe(0, offsets([[0, 50], [1, 100]]));
    tracker.observe(1_000, offsets([[0, 400], [1, 300]])); // partition 0 is past its backlog: done
    expect(tracker.summary(2_000)).toEqual({ partition: 1, commands: 500, shared_per_s: 200, alone_s: 1, alone_per_s: 200 });
  });

  it('reports nothing when no poll saw a single partition left', () => {
    const tracker = new LastPartitionTracker(offsets([[0, 100], [1, 100]]));
    tracker.observe(0, offsets([[0, 10], [1, 10]]));
    tracker.observe(1_000, offsets([[0, 100], [1, 100]])); // both done at once
    expect(tracker.summary(1_000)).toBeNull();
  });
});
