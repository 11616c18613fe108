import { PublishedMarks } from '../src/published-marks';

function marksWith(mark: (ids: readonly bigint[]) => Promise<void>, pendingMax = 100) {
  const logs: string[] = [];
  return { marks: new PublishedMarks({ mark, intervalMs: 1_000_000, idsPerFlushMax: 20_000, pendingMax, log: (m) => logs.push(m) }), logs };
}

describe('PublishedMarks', () => {
  test('one flush writes every id added since the last one, once', async () => {
    const calls: bigint[][] = [];
    const { marks } = marksWith(async (ids) => void calls.push([...ids]));
    marks.add([1n, 2n]);
    marks.add([3n]);
    await marks.flush();
    await marks.flush();
    expect(calls).toEqual([[1n, 2n, 3n]]);
    expect(marks.pendingCount).toBe(0);
  });

  test('a failed flush keeps its ids for the next one', async () => {
    const calls: bigint[][] = [];
    let fail = true;
    const { marks, logs } = marksWith(async (ids) => {
      calls.push([...ids]);
      if (fail) throw new Error('pgbouncer restarting');
    });
    marks.add([1n, 2n]);
    await marks.flush();
    expect(logs[0]).toMatch(/pgbouncer restarting/);
    fail = false;
    marks.add([3n]);
    await marks.flush();
    expect(calls).toEqual([[1n, 2n], [1n, 2n, 3n]]);
    expect(marks.pendingCount).toBe(0);
  });

  test('flushes do not overlap: a flush during one in flight waits for it', async () => {
    let release: () => void = () => undefined;
    let inFlight = 0;
    let maxInFlight = 0;
    const { marks } = marksWith(async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise<void>((resolve) => (release = resolve));
      inFlight--;
    });
    marks.add([1n]);
    const first = marks.flush();
    marks.add([2n]);
    const second = marks.flush();
    release();
    await Promise.all([first, second]);
    expect(maxInFlight).toBe(1);
    expect(marks.pendingCount).toBe(1); // 2n waits for the next tick
  });

  test('the backlog is bounded: beyond pendingMax the oldest ids are dropped (the sweeper republishes them)', () => {
    const { marks } = marksWith(async () => undefined, 3);
    marks.add([1n, 2n, 3n, 4n, 5n]);
    expect(marks.pendingCount).toBe(3);
  });

  test('stop writes what is pending', async () => {
    const calls: bigint[][] = [];
    const { marks } = marksWith(async (ids) => void calls.push([...ids]));
    marks.start();
    marks.add([9n]);
    await marks.stop();
    expect(calls).toEqual([[9n]]);
  });
});
