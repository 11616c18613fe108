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
}

export interface K6Figures {
  acked: number;
  acked_per_s: number;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  errors: number;
  error_rate: number;
  dropped: number;
  e2e: { p50_ms: number | null; p95_ms: number | null; p99_ms: number | null; n: number } | null;
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
  /** Seconds the load itself runs (rates are per this, not per process lifetime). */
  loadSeconds: number;
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
  const figures = figuresOf(summary, options.loadSeconds);
  return { name: options.name, exitCode, startedAt, endedAt, figures, summary, logPath: proc.logPath };
}

function value(summary: K6Summary, metric: string, stat: string): number | null {
  const v = summary.metrics[metric]?.values[stat];
  return v === undefined || !Number.isFinite(v) ? null : v;
}

export function figuresOf(summary: K6Summary, loadSeconds: number): K6Figures {
  const acked = value(summary, 'transfers_acked', 'count') ?? 0;
  const failedRate = value(summary, 'transfer_failed', 'rate') ?? 0;
  const errors = value(summary, 'transfer_failed', 'passes') ?? 0;
  const e2eN = value(summary, 'e2e_ms', 'count') ?? 0;
  const movedPasses = value(summary, 'money_moved', 'passes');
  const movedFails = value(summary, 'money_moved', 'fails');
  const crossed: string[] = [];
  for (const [name, metric] of Object.entries(summary.metrics)) {
    for (const [expr, t] of Object.entries(metric?.thresholds ?? {})) if (!t.ok) crossed.push(`${name}: ${expr}`);
  }
  return {
    acked,
    acked_per_s: acked / loadSeconds,
    p50_ms: value(summary, 'ack_ms', 'p(50)'),
    p95_ms: value(summary, 'ack_ms', 'p(95)'),
    p99_ms: value(summary, 'ack_ms', 'p(99)'),
    errors,
    error_rate: failedRate,
    dropped: value(summary, 'dropped_iterations', 'count') ?? 0,
    e2e: e2eN > 0 ? { p50_ms: value(summary, 'e2e_ms', 'p(50)'), p95_ms: value(summary, 'e2e_ms', 'p(95)'), p99_ms: value(summary, 'e2e_ms', 'p(99)'), n: e2eN } : null,
    money_moved: movedPasses !== null && movedFails !== null ? { rate: movedPasses / Math.max(1, movedPasses + movedFails), n: movedPasses + movedFails } : null,
    thresholds_crossed: crossed,
  };
}
