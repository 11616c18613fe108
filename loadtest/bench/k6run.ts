/**
 * Runs one k6 scenario (the real binary built by loadtest/scripts/build-k6.sh) and reads
 * back its summary (written by the scenario's handleSummary to SUMMARY_JSON).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Managed, spawnLogged } from './processes';
import { k6PercentileIsLowerBound, log } from './util';

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
  /** What setup() returned; `loadStartMs` is its end, when the load's first requests go out. */
  setup_data?: { loadStartMs?: unknown } | null;
  state?: { testRunDurationMs?: number };
}

/** Percentiles of a latency with censored samples: those that reach them are lower bounds. */
export interface CensoredPercentiles {
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  /** Samples, the censored ones included. */
  n: number;
  /** Sampled transfers not COMPLETED when their long poll ended, counted at what they waited (>= WAIT_MS). */
  censored: number;
  /** The percentiles above that reach a censored sample: lower bounds, not the percentile. */
  lower_bounds: ('p50_ms' | 'p95_ms' | 'p99_ms')[];
}

export interface K6Figures {
  acked: number;
  /**
   * acked / ack_window_s: per second of the time the counted acks took. Not per DURATION: k6's
   * graceful stop (10 s) lets iterations in flight at its end finish, and their acks count.
   */
  acked_per_s: number;
  /**
   * From the load's start (the end of setup()) to the last ack (acked_at_ms's max), both on
   * k6's clock; when the summary lacks either, the whole k6 run (setup included: a longer
   * window, so a rate that can only be understated). Null with nothing acked.
   */
  ack_window: { start_ms: number | null; last_ack_ms: number | null; seconds: number } | null;
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

function ackWindow(summary: K6Summary, acked: number): K6Figures['ack_window'] {
  if (acked === 0) return null;
  const start = Number(summary.setup_data?.loadStartMs);
  const lastAck = value(summary, 'acked_at_ms', 'max');
  if (Number.isFinite(start) && start > 0 && lastAck !== null && lastAck > start) return { start_ms: start, last_ack_ms: lastAck, seconds: (lastAck - start) / 1000 };
  const runMs = summary.state?.testRunDurationMs;
  if (runMs !== undefined && runMs > 0) return { start_ms: null, last_ack_ms: null, seconds: runMs / 1000 };
  throw new Error('k6 summary has acks but neither their window (setup_data.loadStartMs, acked_at_ms) nor the run\'s duration');
}

function e2eOf(summary: K6Summary): CensoredPercentiles | null {
  const n = value(summary, 'e2e_ms', 'count') ?? 0;
  if (n === 0) return null;
  const censored = value(summary, 'e2e_censored', 'count') ?? 0;
  const at = { p50_ms: 50, p95_ms: 95, p99_ms: 99 } as const;
  const lowerBounds = (Object.keys(at) as (keyof typeof at)[]).filter((key) => k6PercentileIsLowerBound(at[key], n, censored));
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
  const window = ackWindow(summary, acked);
  return {
    acked,
    acked_per_s: window === null ? 0 : acked / window.seconds,
    ack_window: window,
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
