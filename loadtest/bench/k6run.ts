/**
 * Runs one k6 scenario (the real binary built by loadtest/scripts/build-k6.sh) and reads
 * back its summary (written by the scenario's handleSummary to SUMMARY_JSON).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Managed, spawnLogged } from './processes';
import { log } from './util';

/** k6 exits 99 when a threshold is crossed: a measured outcome, not a failed run. */
const EXIT_THRESHOLDS_CROSSED = 99;
const EXIT_ABORTED_BY_THRESHOLD = 99;

interface MetricData {
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

export interface K6Summary {
  metrics: Record<string, MetricData | undefined>;
  computed: Record<string, unknown> | null;
  /**
   * What setup() returned (lib/fixture.js): `loadStartMs` is its end, when the load's first
   * requests go out, and `loadEndMs` that plus the load's nominal length (DURATION).
   */
  setup_data?: { loadStartMs?: unknown; loadEndMs?: unknown } | null;
  state?: { testRunDurationMs?: number };
}

/** Percentiles of a latency with censored samples: those that reach them are lower bounds. */
export interface CensoredPercentiles {
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  /** Samples, the censored ones included. */
  n: number;
  /** Sampled transfers not COMPLETED when their long poll ended, counted at what they waited (a lower bound). */
  censored: number;
  /** The percentiles above that depend on a censored sample: lower bounds, not the percentile. */
  lower_bounds: ('p50_ms' | 'p95_ms' | 'p99_ms')[];
}

export interface K6Figures {
  /** Every ack, the graceful stop's included. */
  acked: number;
  /**
   * The acks that arrived within the load's window, per second of it (`acked_in_window /
   * window.seconds`): what the load sustained. Not all acks over DURATION (k6's graceful stop
   * lets iterations in flight when it ends run up to 10 s more, and their acks would count),
   * nor over the time to the last ack (one straggler stretches it, acks that stop early shrink
   * it). Without the window in the summary, all acks over the whole k6 run.
   */
  acked_per_s: number;
  /** Acks within the window (`transfers_acked{late:false}`); null without the window. */
  acked_in_window: number | null;
  /** Acks in k6's graceful stop, after the window; null without the window. */
  acked_late: number | null;
  /**
   * The load's nominal window, k6's clock: from the end of setup() for DURATION (setup_data's
   * loadStartMs to loadEndMs). When the summary lacks it (one from before it), the whole k6
   * run, setup and graceful stop included: a longer window, so a rate that can only be
   * understated (start_ms/end_ms null). Null with nothing acked and no window.
   */
  window: { start_ms: number | null; end_ms: number | null; seconds: number } | null;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  errors: number;
  error_rate: number;
  dropped: number;
  e2e: CensoredPercentiles | null;
  money_moved: { rate: number; n: number } | null;
  thresholds_crossed: string[];
}

export interface K6Result {
  name: string;
  exitCode: number | null;
  startedAt: Date;
  endedAt: Date;
  figures: K6Figures;
  summary: K6Summary;
  logPath: string;
}

export interface K6RunOptions {
  k6Bin: string;
  runDir: string;
  script: string;
  name: string;
  env: Record<string, string>;
  /** Called with the k6 process once it is spawned (CPU accounting). */
  onSpawn?: (proc: Managed) => void;
}

export async function runK6(options: K6RunOptions): Promise<K6Result> {
  const summaryPath = join(options.runDir, `${options.name}.summary.json`);
  const args = ['run', '--no-usage-report', '--no-color', '--quiet'];
  const env = { ...options.env, SUMMARY_JSON: summaryPath };
  for (const [key, value] of Object.entries(env)) args.push('-e', `${key}=${value}`);
  args.push(options.script);
  const startedAt = new Date();
  const proc = spawnLogged(`k6-${options.name}`, options.k6Bin, args, { env: {}, logDir: options.runDir });
  options.onSpawn?.(proc);
  const exitCode = await proc.wait();
  const endedAt = new Date();
  if (!existsSync(summaryPath)) {
    throw new Error(`k6 ${options.name} exited ${exitCode} without a summary; see ${proc.logPath}`);
  }
  if (exitCode !== 0 && exitCode !== EXIT_THRESHOLDS_CROSSED && exitCode !== EXIT_ABORTED_BY_THRESHOLD) {
    log(`k6 ${options.name} exited ${exitCode}; using its summary anyway (see ${proc.logPath})`);
  }
  const summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as K6Summary;
  const figures = figuresOf(summary);
  return { name: options.name, exitCode, startedAt, endedAt, figures, summary, logPath: proc.logPath };
}

function value(summary: K6Summary, metric: string, stat: string): number | null {
  const v = summary.metrics[metric]?.values[stat];
  return v === undefined || !Number.isFinite(v) ? null : v;
}

function loadWindow(summary: K6Summary, acked: number): K6Figures['window'] {
  const start = Number(summary.setup_data?.loadStartMs);
  const end = Number(summary.setup_data?.loadEndMs);
  if (Number.isFinite(start) && Number.isFinite(end) && start > 0 && end > start) return { start_ms: start, end_ms: end, seconds: (end - start) / 1000 };
  if (acked === 0) return null;
  const runMs = summary.state?.testRunDurationMs;
  if (runMs !== undefined && runMs > 0) return { start_ms: null, end_ms: null, seconds: runMs / 1000 };
  throw new Error('k6 summary has acks but neither the load\'s window (setup_data.loadStartMs, loadEndMs) nor the run\'s duration');
}

const PERCENTILES = { p50_ms: 'p(50)', p95_ms: 'p(95)', p99_ms: 'p(99)' } as const;

/**
 * e2e_ms counts a sampled transfer not COMPLETED within its poll at what it waited, a lower
 * bound; e2e_high_ms counts it above any latency, an upper bound (lib/metrics.js). A
 * percentile is exact where the two agree, and a lower bound where they differ. Without
 * e2e_high_ms (a summary from before it) every percentile is a lower bound once one was censored.
 */
function e2eOf(summary: K6Summary): CensoredPercentiles | null {
  const n = value(summary, 'e2e_ms', 'count') ?? 0;
  if (n === 0) return null;
  const censored = value(summary, 'e2e_censored', 'count') ?? 0;
  const hasHigh = summary.metrics.e2e_high_ms !== undefined;
  const lowerBounds = (Object.keys(PERCENTILES) as (keyof typeof PERCENTILES)[]).filter(
    (key) => censored > 0 && (!hasHigh || value(summary, 'e2e_high_ms', PERCENTILES[key]) !== value(summary, 'e2e_ms', PERCENTILES[key])),
  );
  return { p50_ms: value(summary, 'e2e_ms', 'p(50)'), p95_ms: value(summary, 'e2e_ms', 'p(95)'), p99_ms: value(summary, 'e2e_ms', 'p(99)'), n, censored, lower_bounds: lowerBounds };
}

export function figuresOf(summary: K6Summary): K6Figures {
  const acked = value(summary, 'transfers_acked', 'count') ?? 0;
  const failedRate = value(summary, 'transfer_failed', 'rate') ?? 0;
  const errors = value(summary, 'transfer_failed', 'passes') ?? 0;
  const movedPasses = value(summary, 'money_moved', 'passes');
  const movedFails = value(summary, 'money_moved', 'fails');
  const crossed: string[] = [];
  for (const [name, metric] of Object.entries(summary.metrics)) {
    for (const [expr, t] of Object.entries(metric?.thresholds ?? {})) if (!t.ok) crossed.push(`${name}: ${expr}`);
  }
  const span = loadWindow(summary, acked);
  // A submetric with no sample may be left out of the summary: none acked within the window.
  const inWindow = span !== null && span.start_ms !== null ? (value(summary, 'transfers_acked{late:false}', 'count') ?? 0) : null;
  return {
    acked,
    acked_per_s: span === null ? 0 : (inWindow ?? acked) / span.seconds,
    acked_in_window: inWindow,
    acked_late: inWindow === null ? null : acked - inWindow,
    window: span,
    p50_ms: value(summary, 'ack_ms', 'p(50)'),
    p95_ms: value(summary, 'ack_ms', 'p(95)'),
    p99_ms: value(summary, 'ack_ms', 'p(99)'),
    errors,
    error_rate: failedRate,
    dropped: value(summary, 'dropped_iterations', 'count') ?? 0,
    e2e: e2eOf(summary),
    money_moved: movedPasses !== null && movedFails !== null ? { rate: movedPasses / Math.max(1, movedPasses + movedFails), n: movedPasses + movedFails } : null,
    thresholds_crossed: crossed,
  };
}
