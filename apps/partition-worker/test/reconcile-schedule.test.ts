// Proves the scheduled reconcile runs on one worker of the group, the one assigned partition 0
// of the commands topic, and follows that partition when it moves: a worker without it does
// not scan the ledger, and exports no violations and a last run of 0 rather than the figures
// of a run it did while it held partition 0. Without the guard every worker runs every tick.
import type { ReconcileReport } from '@ledgerline/postgres';
import { silentLogger } from '@ledgerline/logging';
import { createWorkerMetrics } from '../src/metrics';
import { ReconcileSchedule, reconcileTurn } from '../src/reconcile-schedule';

function reportOf(violations: Record<string, number>): ReconcileReport {
  return {
    checks: Object.entries(violations).map(([name, n]) => ({ name, description: name, violations: n, examples: [] })),
    accounts: 0,
    transfers: 0,
    inFlight: [],
    checkedAt: new Date(0).toISOString(),
  };
}

describe('reconcileTurn', () => {
  test('a process runs it only while partition 0 is assigned to it, and never beside its own run in progress', () => {
    expect(reconcileTurn([0], false)).toBe('run');
    expect(reconcileTurn([3, 0, 5], false)).toBe('run');
    expect(reconcileTurn([1, 2, 3], false)).toBe('elsewhere');
    expect(reconcileTurn([], false)).toBe('elsewhere'); // joining, or its consumer crashed
    expect(reconcileTurn([0], true)).toBe('busy');
    // Partition 0 gone while its own run goes on (perhaps hung): it stands aside all the same.
    expect(reconcileTurn([1], true)).toBe('elsewhere');
  });
});

describe('ReconcileSchedule', () => {
  /** A worker's schedule over `assigned` (changed by the test as a rebalance would), whose runs find `violations`. */
  function scheduleOn(assigned: () => readonly number[], violations: Record<string, number>) {
    const metrics = createWorkerMetrics({ defaultMetrics: false });
    let clock = 1_000_000;
    const schedule = new ReconcileSchedule({
      intervalMs: 60_000,
      assigned,
      run: async () => reportOf(violations),
      metrics,
      logger: silentLogger,
      now: () => clock,
    });
    return { metrics, schedule, advance: (ms: number) => (clock += ms) };
  }

  async function exported(metrics: ReturnType<typeof createWorkerMetrics>) {
    const violations = (await metrics.reconcileViolations.get()).values.map((v) => [v.labels.check, v.value]);
    const lastRun = (await metrics.reconcileLastRun.get()).values[0]?.value ?? null;
    return { violations, lastRun };
  }

  test('of two workers only the one assigned partition 0 scans the ledger, tick after tick; the run moves with partition 0', async () => {
    const assigned = [[0, 2], [1, 3]];
    const runs: string[] = [];
    const [a, b] = [0, 1].map(
      (i) =>
        new ReconcileSchedule({
          intervalMs: 60_000,
          assigned: () => assigned[i]!,
          run: async () => {
            runs.push(`worker ${i}`);
            return reportOf({ 'money-conserved': 0 });
          },
          metrics: createWorkerMetrics({ defaultMetrics: false }),
          logger: silentLogger,
        }),
    );
    for (let tick = 0; tick < 3; tick++) await Promise.all([a!.tick(), b!.tick()]);
    expect(runs).toEqual(['worker 0', 'worker 0', 'worker 0']);
    // A rebalance gives partition 0 to the other worker: it runs the next ticks, the first does not.
    assigned[0] = [2];
    assigned[1] = [0, 1, 3];
    for (let tick = 0; tick < 2; tick++) await Promise.all([a!.tick(), b!.tick()]);
    expect(runs).toEqual(['worker 0', 'worker 0', 'worker 0', 'worker 1', 'worker 1']);
  });

  test('a worker that loses partition 0 stops exporting its last run: no violations, last run 0', async () => {
    let assigned = [0];
    const { metrics, schedule, advance } = scheduleOn(() => assigned, { 'money-conserved': 0, 'outbox-published': 2 });
    // Before any run: no violations, and 0 (the dashboard skips it).
    expect(await exported(metrics)).toEqual({ violations: [], lastRun: 0 });
    await schedule.tick();
    expect(await exported(metrics)).toEqual({ violations: [['money-conserved', 0], ['outbox-published', 2]], lastRun: 1_000 });
    // Partition 0 went to another worker: its next tick clears the figures instead of running.
    assigned = [1, 2];
    advance(60_000);
    await schedule.tick();
    expect(await exported(metrics)).toEqual({ violations: [], lastRun: 0 });
  });

  // Regression (an operator run): the figures were cleared at the next tick only, one interval
  // (5 min by default) after partition 0 left; meanwhile this worker's run, newer than the new
  // runner's first, was the one the dashboard's max() showed.
  test('a worker that loses partition 0 clears its figures within a second, not at its next tick', async () => {
    let assigned = [0];
    const { metrics, schedule } = scheduleOn(() => assigned, { 'money-conserved': 0, 'outbox-published': 2 });
    await schedule.tick();
    expect((await exported(metrics)).lastRun).toBe(1_000);
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
    try {
      schedule.start(); // interval 60 s: no tick comes in what follows
      jest.advanceTimersByTime(5_000);
      expect((await exported(metrics)).lastRun).toBe(1_000); // still its: partition 0 is here
      assigned = [1, 2];
      jest.advanceTimersByTime(1_000);
      expect(await exported(metrics)).toEqual({ violations: [], lastRun: 0 });
    } finally {
      schedule.stop();
      jest.useRealTimers();
    }
  });

  test('one run at a time: a tick while a run is in progress does not start another', async () => {
    const metrics = createWorkerMetrics({ defaultMetrics: false });
    const assigned = [0];
    let finish: (report: ReconcileReport) => void = () => undefined;
    let started = 0;
    const schedule = new ReconcileSchedule({
      intervalMs: 60_000,
      assigned: () => assigned,
      run: () => {
        started++;
        return new Promise<ReconcileReport>((resolve) => (finish = resolve));
      },
      metrics,
      logger: silentLogger,
      now: () => 5_000,
    });
    const first = schedule.tick();
    await schedule.tick();
    await schedule.tick();
    expect(started).toBe(1);
    finish(reportOf({ 'money-conserved': 1 }));
    await first;
    expect(await exported(metrics)).toEqual({ violations: [['money-conserved', 1]], lastRun: 5 });
  });

  test('partition 0 moving away during a run (one that hangs, say): the worker stands aside at once, and the run exports nothing', async () => {
    const metrics = createWorkerMetrics({ defaultMetrics: false });
    const assigned = [0];
    const finishes: ((report: ReconcileReport) => void)[] = [];
    const schedule = new ReconcileSchedule({
      intervalMs: 60_000,
      assigned: () => assigned,
      run: () => new Promise<ReconcileReport>((resolve) => finishes.push(resolve)),
      metrics,
      logger: silentLogger,
      now: () => 5_000,
    });
    const done = schedule.tick(); // a first run, which will hang
    expect(finishes).toHaveLength(1);
    // An earlier run had left figures; partition 0 moves to another worker mid-run.
    metrics.reconcileViolations.set({ check: 'money-conserved' }, 3);
    metrics.reconcileLastRun.set(4);
    assigned.length = 0;
    await schedule.tick();
    expect(await exported(metrics)).toEqual({ violations: [], lastRun: 0 });
    // The run ends at last: its figures are another worker's business now.
    finishes[0]!(reportOf({ 'money-conserved': 7 }));
    await done;
    expect(await exported(metrics)).toEqual({ violations: [], lastRun: 0 });
  });

  test('a failed run is logged and leaves the schedule going', async () => {
    const warned: string[] = [];
    let calls = 0;
    const schedule = new ReconcileSchedule({
      intervalMs: 60_000,
      assigned: () => [0],
      run: async () => {
        if (++calls === 1) throw new Error('connection refused');
        return reportOf({ 'money-conserved': 0 });
      },
      metrics: createWorkerMetrics({ defaultMetrics: false }),
      logger: { ...silentLogger, warn: (message: string, fields?: object) => void warned.push(`${message} ${JSON.stringify(fields)}`) },
    });
    await schedule.tick();
    await schedule.tick();
    expect(calls).toBe(2);
    expect(warned).toEqual(['reconcile failed {"error":"connection refused"}']);
  });
});
