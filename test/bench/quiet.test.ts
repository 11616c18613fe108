import { CensoredSamples } from '../../loadtest/bench/quiet';

describe('quiet latency samples (CensoredSamples)', () => {
  it('keeps a transfer not COMPLETED within the long poll, at what it waited (at least the wait), and marks the percentiles that reach it', () => {
    const samples = new CensoredSamples(5_000);
    for (let i = 1; i <= 98; i++) samples.completed(10 + i / 10);
    samples.notCompleted(5_004); // still PROCESSING when the 5 s poll answered
    samples.notCompleted(120); // the poll failed early: still at least the wait
    expect(samples.summary()).toEqual({ n: 100, censored: 2, lower_bounds: ['p99_ms'], p50_ms: 15, p95_ms: 19.5, p99_ms: 5_000, max_ms: 5_004 });
  });

  it('reports exact percentiles when nothing was censored', () => {
    const samples = new CensoredSamples(5_000);
    for (let i = 1; i <= 100; i++) samples.completed(i);
    expect(samples.summary()).toEqual({ n: 100, censored: 0, lower_bounds: [], p50_ms: 50, p95_ms: 95, p99_ms: 99, max_ms: 100 });
  });
});
