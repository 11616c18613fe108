import { type K6Summary, figuresOf } from '../../loadtest/bench/k6run';

/** The load's start (setup()'s end) of `benchmxcls4ek`'s batch run, k6's clock. */
const START = 1_796_608_202_712;

const summary = (metrics: Record<string, Record<string, number>>, rest: Partial<K6Summary> = {}): K6Summary => ({
  metrics: Object.fromEntries(Object.entries(metrics).map(([name, values]) => [name, { values }])),
  computed: null,
  ...rest,
});

describe('the k6 figures the bench reads (figuresOf)', () => {
  it('divides the acks by the time they took, from the load start to the last ack (graceful stop included), not by DURATION', () => {
    // benchmxcls4ek's batch: 193,500 items acked over 30 s of DURATION and 9 s of graceful stop.
    const f = figuresOf(
      summary({ transfers_acked: { count: 193_500 }, acked_at_ms: { value: START + 38_100, min: START + 350, max: START + 39_000 } }, { setup_data: { loadStartMs: START }, state: { testRunDurationMs: 49_000 } }),
    );
    expect(f.ack_window).toEqual({ start_ms: START, last_ack_ms: START + 39_000, seconds: 39 });
    expect(Math.round(f.acked_per_s)).toBe(4_962); // not 6,450 (193,500 / 30)
  });

  it('without the acks\' window (a summary from before acked_at_ms), divides by the whole k6 run: a longer window, never an overstated rate', () => {
    // The committed summary of benchmxcls4ek's batch as it is: setup data and run duration, no acked_at_ms.
    const f = figuresOf(summary({ transfers_acked: { count: 193_500, rate: 4_958.18 } }, { setup_data: { loadStartMs: START }, state: { testRunDurationMs: 39_026.43 } }));
    expect(f.ack_window).toEqual({ start_ms: null, last_ack_ms: null, seconds: 39.02643 });
    expect(Math.round(f.acked_per_s)).toBe(4_958);
  });

  it('reports 0/s and no window when nothing was acked', () => {
    const f = figuresOf(summary({ transfers_acked: { count: 0 } }, { setup_data: { loadStartMs: START } }));
    expect(f.acked_per_s).toBe(0);
    expect(f.ack_window).toBeNull();
  });

  it('keeps the e2e samples not COMPLETED within the wait, and marks the percentiles that reach them as lower bounds', () => {
    // The review's reproduction: 101 sampled transfers, 4 not COMPLETED within WAIT_MS. k6's p99
    // of 101 samples sits between the 100th and 101st: among the 4 slowest.
    const e2e = (n: number, censored: number) =>
      figuresOf(summary({ transfers_acked: { count: n }, acked_at_ms: { max: START + 10_000 }, e2e_ms: { 'p(50)': 21, 'p(95)': 40, 'p(99)': 30, count: n }, e2e_censored: { count: censored } }, { setup_data: { loadStartMs: START } })).e2e;
    expect(e2e(101, 4)).toEqual({ p50_ms: 21, p95_ms: 40, p99_ms: 30, n: 101, censored: 4, lower_bounds: ['p99_ms'] });
    // The batch phase of benchmxcls4ek: 21 samples, 16 of them not COMPLETED within 10 s.
    expect(e2e(21, 16)?.lower_bounds).toEqual(['p50_ms', 'p95_ms', 'p99_ms']);
    // 5 of 1,000 censored: the p99 (between the 990th and 991st) is below them all.
    expect(e2e(1_000, 5)?.lower_bounds).toEqual([]);
    expect(e2e(1_000, 0)).toMatchObject({ censored: 0, lower_bounds: [] });
  });
});
