import { type K6Summary, figuresOf } from '../../loadtest/bench/k6run';

/** The load start (setup()'s end) of `benchmxcls4ek`'s batch run, k6's clock. */
const START = 1_796_608_202_712;
/** What setup() returns for a load of `seconds` (lib/fixture.js). */
const loadOf = (seconds: number) => ({ setup_data: { loadStartMs: START, loadEndMs: START + seconds * 1000 } });

const summary = (metrics: Record<string, Record<string, number>>, rest: Partial<K6Summary> = {}): K6Summary => ({
  metrics: Object.fromEntries(Object.entries(metrics).map(([name, values]) => [name, { values }])),
  computed: null,
  ...rest,
});

describe('the k6 figures the bench reads (figuresOf)', () => {
  it('counts the acks that arrived within the load\'s window, per second of it, and the graceful stop\'s apart', () => {
    // benchmxcls4ek's ingest headline: 62,294 acked, at most 2,500 of them (the VUs in flight
    // at 60 s) after the window; the last one ~10 s late. Over the time to the last ack it read
    // 889/s; all acks over 60 s, 1,038/s.
    const f = figuresOf(summary({ transfers_acked: { count: 62_294 }, 'transfers_acked{late:false}': { count: 59_800 } }, { ...loadOf(60), state: { testRunDurationMs: 70_011 } }));
    expect(f.window).toEqual({ start_ms: START, end_ms: START + 60_000, seconds: 60 });
    expect(Math.round(f.acked_per_s)).toBe(997);
    expect(f.acked_in_window).toBe(59_800);
    expect(f.acked_late).toBe(2_494);
  });

  it('divides by the whole window when the acks stopped early: 15,000/s for 20 s of 30 is 10,000/s', () => {
    const f = figuresOf(summary({ transfers_acked: { count: 300_000 }, 'transfers_acked{late:false}': { count: 300_000 } }, loadOf(30)));
    expect(f.acked_per_s).toBe(10_000);
    expect(f.acked_late).toBe(0);
  });

  it('reads no ack within the window as 0/s when every ack came late (the submetric then has no sample)', () => {
    const f = figuresOf(summary({ transfers_acked: { count: 40 } }, loadOf(10)));
    expect(f.acked_per_s).toBe(0);
    expect(f.acked_late).toBe(40);
  });

  it('without the load\'s window (a summary from before it), divides by the whole k6 run: a longer window, never an overstated rate', () => {
    // The committed summary of benchmxcls4ek's batch as it is: setup data without loadEndMs, and the run's duration.
    const f = figuresOf(summary({ transfers_acked: { count: 193_500, rate: 4_958.18 } }, { setup_data: { loadStartMs: START }, state: { testRunDurationMs: 39_026.43 } }));
    expect(f.window).toEqual({ start_ms: null, end_ms: null, seconds: 39.02643 });
    expect(Math.round(f.acked_per_s)).toBe(4_958);
    expect(f.acked_in_window).toBeNull();
    expect(f.acked_late).toBeNull();
  });

  it('reports 0/s when nothing was acked', () => {
    expect(figuresOf(summary({ transfers_acked: { count: 0 } }, loadOf(10))).acked_per_s).toBe(0);
    expect(figuresOf(summary({ transfers_acked: { count: 0 } }, { setup_data: { loadStartMs: START } })).window).toBeNull();
  });

  describe('e2e: samples not COMPLETED within their poll, counted at what they waited', () => {
    const e2e = (low: Record<string, number>, high: Record<string, number> | null, censored: number) =>
      figuresOf(
        summary(
          { transfers_acked: { count: 1 }, e2e_ms: { ...low, count: 101 }, e2e_censored: { count: censored }, ...(high ? { e2e_high_ms: { ...high, count: 101 } } : {}) },
          loadOf(10),
        ),
      ).e2e;

    it('marks as a lower bound each percentile that moves when those samples are put above all others', () => {
      // 4 of 101 polls answered at once, past the API's long-poll share (a few ms each): they
      // sit among the fastest, so the p50 depends on them, though the p99 does not.
      expect(e2e({ 'p(50)': 2_400, 'p(95)': 2_900, 'p(99)': 3_100 }, { 'p(50)': 2_450, 'p(95)': 2_900, 'p(99)': 3_100 }, 4)).toEqual({
        p50_ms: 2_400,
        p95_ms: 2_900,
        p99_ms: 3_100,
        n: 101,
        censored: 4,
        lower_bounds: ['p50_ms'],
      });
      // The 4 polls ran their 10 s: the slowest samples, under the p99's reach only.
      expect(e2e({ 'p(50)': 21, 'p(95)': 40, 'p(99)': 10_000 }, { 'p(50)': 21, 'p(95)': 40, 'p(99)': 1e9 }, 4)?.lower_bounds).toEqual(['p99_ms']);
    });

    it('keeps exact percentiles exact', () => {
      expect(e2e({ 'p(50)': 21, 'p(95)': 40, 'p(99)': 53 }, { 'p(50)': 21, 'p(95)': 40, 'p(99)': 53 }, 0)).toMatchObject({ censored: 0, lower_bounds: [] });
    });

    it('without the upper bound (a summary from before it), calls every percentile a lower bound once one sample was censored', () => {
      expect(e2e({ 'p(50)': 21, 'p(95)': 40, 'p(99)': 53 }, null, 1)?.lower_bounds).toEqual(['p50_ms', 'p95_ms', 'p99_ms']);
    });
  });
});
