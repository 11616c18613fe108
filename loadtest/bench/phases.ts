/**
 * The k6-driven phases: ingest sweep and end-to-end latency against the ingest API, the
 * five scenarios as a smoke run, and the same load against the row-lock baseline.
 */
import { join } from 'node:path';
import { type KafkaAdmin, topicNames } from '@ledgerline/kafka';
import { withDatabase } from '@ledgerline/postgres';
import { type BenchContext, cpuMeter, pgMeter } from './context';
import type { CpuReport } from './cpu';
import { type CensoredPercentiles, type K6Figures, runK6 } from './k6run';
import type { PgReport } from './pgstats';
import type { Managed } from './processes';
import { STALL_MS, waitSettled } from './services';
import { log, round, sleep } from './util';
import { ExchangeMeter, type ExchangesReport, type HopNaming, portOf } from './exchanges';
import { WritesMeter, type WritesReport } from './writes';

export interface StepResult {
  offered_per_s: number;
  duration_s: number;
  /** Acks that arrived within the step's window, per second of it (k6run.ts, K6Figures.acked_per_s). */
  acked_per_s: number;
  /** Seconds of the window acked_per_s is counted over: the step's duration (the whole k6 run for a summary without it). */
  ack_window_s: number | null;
  /** Acks after the window, in k6's graceful stop: counted apart, not in acked_per_s. */
  acked_late: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  errors: number;
  dropped: number;
  /** Ours only: transfers COMPLETED per second while the step ran (from Postgres). */
  completed_per_s: number | null;
  /** Ours only: how long the workers needed after the step to apply everything. */
  settle_s: number | null;
  /** Ours only: set when the workers did not catch up (timeout, or stalled). */
  settle_problem: string | null;
  thresholds_crossed: string[];
  cpu: CpuReport | null;
  pg: PgReport | null;
}

export interface E2eResult extends StepResult {
  /** Client-observed, sampled: from the 202 to seeing COMPLETED through a long poll (censored at its wait). */
  e2e: CensoredPercentiles | null;
  /** From Postgres, every transfer: completed_at (the batch's clock) minus created_at (the ack). */
  e2e_db: { p50_ms: number | null; p95_ms: number | null; p99_ms: number | null; n: number } | null;
  money_moved: { rate: number; n: number } | null;
}

interface Target {
  kind: 'api' | 'baseline';
  baseUrl: string;
  procs: Record<string, readonly (Managed | null)[]>;
  /** Ours: the topic whose backlog must be applied before the next step. */
  topic: string | null;
  admin: KafkaAdmin | null;
}

export function apiTarget(ctx: BenchContext, api: Managed, workers: Managed[], admin: KafkaAdmin): Target {
  return {
    kind: 'api',
    baseUrl: `http://127.0.0.1:${ctx.plan.apiPort}`,
    procs: { api: [api], workers },
    topic: topicNames(ctx.mainPrefix).commands,
    admin,
  };
}

export function baselineTarget(ctx: BenchContext, baseline: Managed): Target {
  return { kind: 'baseline', baseUrl: `http://127.0.0.1:${ctx.plan.baselinePort}`, procs: { baseline: [baseline] }, topic: null, admin: null };
}

interface StepOptions {
  name: string;
  script: string;
  durationS: number;
  env: Record<string, string>;
  tag: string;
  /** Called when k6 has been spawned (the load starts). */
  onLoadStart?: () => void;
}

async function runStep(ctx: BenchContext, target: Target, step: StepOptions): Promise<{ figures: K6Figures; result: StepResult }> {
  // The CPU window opens when k6 is spawned; k6 is counted once it has exited and been reaped.
  let meter = cpuMeter(ctx, target.procs, {}, 'k6');
  const pg = pgMeter(ctx, target.kind === 'api' ? ctx.benchDb : ctx.baseDb);
  await pg.begin();
  const run = await runK6({
    k6Bin: ctx.k6Bin,
    runDir: ctx.runDir,
    script: join(ctx.repoRoot, 'loadtest/k6', step.script),
    name: step.name,
    env: {
      BASE_URL: target.baseUrl,
      TARGET: target.kind,
      JWT_SECRET: ctx.jwtSecret,
      FIXTURE: ctx.fixturePath,
      CURRENCY: ctx.fixture.currency,
      RUN_TAG: step.tag,
      DURATION: `${step.durationS}s`,
      ...step.env,
    },
    onSpawn: () => {
      meter = cpuMeter(ctx, target.procs, {}, 'k6');
      meter.begin();
      step.onLoadStart?.();
    },
  });
  const cpuReport = meter.end();
  const pgReport = await pg.end();
  const f = run.figures;
  let completedPerS: number | null = null;
  let settleS: number | null = null;
  let settleNote: string | null = null;
  if (target.kind === 'api' && target.topic && target.admin) {
    completedPerS = await completedDuringRun(ctx, step.tag);
    const settled = await waitSettled(ctx.pool, target.admin, target.topic, ctx.plan.settleTimeoutS * 1000);
    settleS = settled.ms === null ? null : round(settled.ms / 1000, 1);
    if (settled.ms === null) {
      const why = settled.reason === 'stalled' ? `applied nothing for ${STALL_MS / 1000} s with work pending (stalled)` : `did not catch up within ${ctx.plan.settleTimeoutS} s`;
      log(`${step.name}: the workers ${why}`);
      settleNote = `after ${step.name} the workers ${why}`;
    }
  }
  const result: StepResult = {
    offered_per_s: Number(step.env.RATE ?? 0),
    duration_s: step.durationS,
    acked_per_s: Math.round(f.acked_per_s),
    ack_window_s: round(f.window?.seconds, 1),
    acked_late: f.acked_late,
    p50_ms: round(f.p50_ms, 2),
    p95_ms: round(f.p95_ms, 2),
    p99_ms: round(f.p99_ms, 2),
    errors: f.errors,
    dropped: f.dropped,
    completed_per_s: completedPerS,
    settle_s: settleS,
    thresholds_crossed: f.thresholds_crossed,
    settle_problem: settleNote,
    cpu: cpuReport,
    pg: pgReport,
  };
  log(
    `${step.name}: offered ${result.offered_per_s || '-'}/s, acked ${result.acked_per_s}/s (${result.acked_late ?? '-'} more late, in the graceful stop), ack p50/p95/p99 ${result.p50_ms}/${result.p95_ms}/${result.p99_ms} ms, ` +
      `errors ${result.errors}, dropped ${result.dropped}` +
      (completedPerS !== null ? `, completed ${completedPerS}/s during the step, settled ${settleS ?? '>timeout'} s after` : '') +
      (cpuReport ? `; cpu ${JSON.stringify(cpuReport.by_group)}` : ''),
  );
  return { figures: f, result };
}

/** Transfers of this step COMPLETED while the step was still accepting (Postgres clocks). */
async function completedDuringRun(ctx: BenchContext, tag: string): Promise<number | null> {
  const r = await ctx.pool.query(
    `WITH w AS (SELECT min(created_at) AS t0, max(created_at) AS t1 FROM transfers WHERE description = $1)
     SELECT extract(epoch FROM w.t1 - w.t0)::float8 AS seconds,
            (SELECT count(*) FROM transfers t WHERE t.description = $1 AND t.status = 'COMPLETED' AND t.completed_at <= w.t1)::int AS n
       FROM w`,
    [tag],
  );
  const seconds = Number(r.rows[0]?.seconds ?? 0);
  return seconds > 0 ? Math.round(Number(r.rows[0].n) / seconds) : null;
}

async function e2eFromDb(ctx: BenchContext, tag: string): Promise<E2eResult['e2e_db']> {
  const r = await ctx.pool.query(
    `SELECT count(*)::int AS n,
            percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at) * 1000) AS p
       FROM transfers WHERE description = $1 AND status = 'COMPLETED'`,
    [tag],
  );
  const row = r.rows[0];
  if (!row || Number(row.n) === 0) return null;
  const p = (row.p as (number | string)[]).map(Number);
  return { p50_ms: round(p[0], 1), p95_ms: round(p[1], 1), p99_ms: round(p[2], 1), n: Number(row.n) };
}

/**
 * One step of an offered-load sweep (k6 steady at `rate`), against ours (`ingest`) or the
 * row-lock baseline (`baseline`): the same script, the same accounts and the same
 * thresholds, so the two curves of the chart compare like with like. The targets are the
 * thresholds (p99 ack <= 50 ms, 0 errors, 0 dropped); a crossed one is recorded, not fatal:
 * the sweep is meant to go past the knee.
 */
export async function measureSweepStep(ctx: BenchContext, target: Target, rate: number, rep: number): Promise<StepResult> {
  const kind = target.kind === 'baseline' ? 'baseline' : 'ingest';
  const { result } = await runStep(ctx, target, {
    name: `${kind}-${rate}-r${rep}`,
    script: 'steady.js',
    durationS: kind === 'baseline' ? ctx.plan.baselineSweepDurationS : ctx.plan.ingestDurationS,
    tag: `${ctx.runId}-${kind === 'baseline' ? 'base' : 'ingest'}-${rate}-${rep}`,
    env: { RATE: String(rate), SAMPLE_EVERY: '1000', P95_MS: '25', P99_MS: '50', ERROR_RATE_MAX: '0', DROPPED_MAX: '0' },
  });
  return result;
}

export async function measureE2e(ctx: BenchContext, target: Target, rep: number): Promise<E2eResult> {
  const tag = `${ctx.runId}-e2e-${rep}`;
  const { figures, result } = await runStep(ctx, target, {
    name: `e2e-${ctx.plan.e2eRate}-r${rep}`,
    script: 'steady.js',
    durationS: ctx.plan.e2eDurationS,
    tag,
    env: {
      RATE: String(ctx.plan.e2eRate),
      SAMPLE_EVERY: String(ctx.plan.e2eSampleEvery),
      VERIFY: 'status',
      E2E_P99_MS: '250',
      P99_MS: '50',
      ERROR_RATE_MAX: '0',
      DROPPED_MAX: '0',
    },
  });
  const db = await e2eFromDb(ctx, tag);
  const e2e = figures.e2e
    ? { ...figures.e2e, p50_ms: round(figures.e2e.p50_ms, 1), p95_ms: round(figures.e2e.p95_ms, 1), p99_ms: round(figures.e2e.p99_ms, 1) }
    : null;
  log(`e2e: client-observed p50/p95/p99 ${e2e?.p50_ms}/${e2e?.p95_ms}/${e2e?.p99_ms} ms (n ${e2e?.n}, ${e2e?.censored ?? 0} not COMPLETED within the wait: lower bounds ${e2e?.lower_bounds.join(', ') || 'none'}); Postgres clocks ${db?.p50_ms}/${db?.p95_ms}/${db?.p99_ms} ms (n ${db?.n})`);
  return { ...result, e2e, e2e_db: db, money_moved: figures.money_moved };
}


/** Closed model: VUS clients back to back; the throughput is what the system can take. */
export async function measureSaturation(ctx: BenchContext, target: Target, mix: 'uniform' | 'hot', rep: number): Promise<StepResult> {
  const { result } = await runStep(ctx, target, {
    name: `${target.kind}-saturation-${mix}-r${rep}`,
    script: mix === 'hot' ? 'hot-account.js' : 'steady.js',
    durationS: ctx.plan.baselineSaturationDurationS,
    tag: `${ctx.runId}-${target.kind}-sat-${mix}-${rep}`,
    env: {
      EXECUTOR: 'constant-vus',
      VUS: String(ctx.plan.baselineVus),
      SAMPLE_EVERY: '1000',
      // Saturation is the point here; latency thresholds would only restate it.
      P95_MS: '600000',
      P99_MS: '600000',
      ERROR_RATE_MAX: '0',
    },
  });
  return result;
}

export interface ScenarioResult {
  scenario: string;
  passed: boolean;
  exit_code: number | null;
  acked_per_s: number;
  p95_ms: number | null;
  p99_ms: number | null;
  errors: number;
  dropped: number;
  money_moved: { rate: number; n: number } | null;
  thresholds_crossed: string[];
  computed: Record<string, unknown> | null;
}

/** Each of the five scenarios once, at modest rates, with its own thresholds. */
export async function runScenarios(ctx: BenchContext, target: Target): Promise<ScenarioResult[]> {
  const d = ctx.plan.scenarioDurationS;
  const r = ctx.plan.scenarioRates;
  const hold = Math.max(5, Math.round(d / 2));
  const runs: { scenario: string; env: Record<string, string> }[] = [
    { scenario: 'steady', env: { RATE: String(r.steadyPerS), SAMPLE_EVERY: '50' } },
    { scenario: 'hot-account', env: { RATE: String(r.hotAccountPerS), SAMPLE_EVERY: '50' } },
    { scenario: 'retry-storm', env: { RATE: String(r.retryStormPerS), SAMPLE_EVERY: '20' } },
    { scenario: 'read-heavy', env: { RATE: String(r.readHeavyWritesPerS), READ_RATE: String(r.readHeavyReadsPerS), SAMPLE_EVERY: '30' } },
    {
      scenario: 'ramp',
      env: { START_RATE: String(r.rampStartPerS), STEP_RATE: String(r.rampStepPerS), STEPS: String(r.rampSteps), RAMP_S: '3', HOLD_S: String(hold), SAMPLE_EVERY: '100' },
    },
  ];
  const results: ScenarioResult[] = [];
  for (const run of runs) {
    const k6 = await runK6({
      k6Bin: ctx.k6Bin,
      runDir: ctx.runDir,
      script: join(ctx.repoRoot, 'loadtest/k6', `${run.scenario}.js`),
      name: `scenario-${run.scenario}`,
      env: {
        BASE_URL: target.baseUrl,
        TARGET: target.kind,
        JWT_SECRET: ctx.jwtSecret,
        FIXTURE: ctx.fixturePath,
        CURRENCY: ctx.fixture.currency,
        RUN_TAG: `${ctx.runId}-scenario-${run.scenario}`,
        DURATION: `${d}s`,
        ...run.env,
      },
    });
    const f = k6.figures;
    results.push({
      scenario: run.scenario,
      passed: k6.exitCode === 0,
      exit_code: k6.exitCode,
      acked_per_s: Math.round(f.acked_per_s),
      p95_ms: round(f.p95_ms, 2),
      p99_ms: round(f.p99_ms, 2),
      errors: f.errors,
      dropped: f.dropped,
      money_moved: f.money_moved,
      thresholds_crossed: f.thresholds_crossed,
      computed: k6.summary.computed,
    });
    log(`scenario ${run.scenario}: ${k6.exitCode === 0 ? 'thresholds passed' : `thresholds crossed: ${f.thresholds_crossed.join('; ')}`}`);
    if (target.topic && target.admin) await waitSettled(ctx.pool, target.admin, target.topic, ctx.plan.settleTimeoutS * 1000);
  }
  return results;
}

export interface CapacityStep {
  offered_per_s: number;
  acked_per_s: number;
  p99_ms: number | null;
  errors: number;
  dropped: number;
  passed: boolean;
}

export interface CapacityResult {
  /** Highest offered rate whose step passed; null when even the lowest tried failed. */
  per_s: number | null;
  p99_limit_ms: number;
  step_s: number;
  /** The step at half the start rate that opens the ramp: reported, not judged. */
  warmup: CapacityStep;
  steps: CapacityStep[];
}

/**
 * Single-request capacity (`ingest_capacity_per_s`): the highest offered rate at which every
 * request was acked (no error, no dropped iteration) with ack p99 <= the limit (100 ms). A
 * short ramp of k6 `steady` steps: up by a factor until a step fails, then a few bisections
 * between the last pass and the first fail. The same for ours and the baseline (same script,
 * same accounts); ours waits for the workers to catch up between steps.
 *
 * The ramp opens with a warm-up step at half the start rate that is reported and not judged:
 * the baseline's server is started just before its ramp, and its first step used to meet a
 * cold process and an empty connection pool (in `benchmxal593q` its 250/s start failed with
 * 9 dropped, and 190/s and 220/s then passed with p99 16 and 7 ms), so one cold second set
 * the bracket the bisections could not leave.
 */
export async function measureCapacity(ctx: BenchContext, target: Target, rep: number): Promise<CapacityResult> {
  const p = ctx.plan;
  const kind = target.kind === 'baseline' ? 'baseline' : 'ours';
  const steps: CapacityStep[] = [];
  const step = async (rate: number, label: string): Promise<CapacityStep> => {
    const { result } = await runStep(ctx, target, {
      name: `capacity-${kind}-${label}-r${rep}`,
      script: 'steady.js',
      durationS: p.capacityStepS,
      tag: `${ctx.runId}-cap-${kind}-${label}-${rep}`,
      env: { RATE: String(rate), SAMPLE_EVERY: '100000', P99_MS: String(p.capacityP99Ms), P95_MS: String(p.capacityP99Ms), ERROR_RATE_MAX: '0', DROPPED_MAX: '0' },
    });
    const passed = result.p99_ms !== null && result.p99_ms <= p.capacityP99Ms && result.errors === 0 && result.dropped === 0;
    return { offered_per_s: rate, acked_per_s: result.acked_per_s, p99_ms: result.p99_ms, errors: result.errors, dropped: result.dropped, passed };
  };
  const warmup = await step(roundTo(p.capacityStartPerS / 2, CAPACITY_GRAIN_PER_S), 'warmup');
  const run = async (rate: number): Promise<boolean> => {
    const judged = await step(rate, String(rate));
    steps.push(judged);
    return judged.passed;
  };
  let best: number | null = null;
  let failed: number | null = null;
  let rate = p.capacityStartPerS;
  // Up by the factor while steps pass; if even the first fails, down by half until one
  // passes. Either way the search stops once it has a pass and a fail, and bisects between.
  for (let i = 0; i < p.capacityStepsMax; i++) {
    if (await run(rate)) {
      best = rate;
      if (failed !== null) break;
      rate = Math.max(rate + CAPACITY_GRAIN_PER_S, roundTo(rate * p.capacityFactor, CAPACITY_GRAIN_PER_S));
    } else {
      failed = rate;
      if (best !== null) break;
      rate = roundTo(rate / 2, CAPACITY_GRAIN_PER_S);
      if (rate < CAPACITY_GRAIN_PER_S) break;
    }
  }
  for (let i = 0; i < p.capacityBisections && best !== null && failed !== null; i++) {
    const mid = roundTo((best + failed) / 2, CAPACITY_GRAIN_PER_S);
    if (mid <= best || mid >= failed) break;
    if (await run(mid)) best = mid;
    else failed = mid;
  }
  log(`capacity ${kind}: ${best ?? '-'} transfers/s with ack p99 <= ${p.capacityP99Ms} ms and nothing dropped (warm-up ${warmup.offered_per_s}/s, then steps ${steps.map((s) => `${s.offered_per_s}${s.passed ? '+' : '-'}`).join(' ')})`);
  return { per_s: best, p99_limit_ms: p.capacityP99Ms, step_s: p.capacityStepS, warmup, steps };
}

/** Capacity rates are multiples of this (transfers/s). */
const CAPACITY_GRAIN_PER_S = 10;
const roundTo = (value: number, grain: number) => Math.round(value / grain) * grain;

/** Process groups whose CPU a transfer costs (k6 and other tenants are reported apart). */
export const SYSTEM_GROUPS = ['api', 'workers', 'postgres', 'pgbouncer', 'kafka', 'redis'] as const;

export interface CpuPerTransferResult {
  offered_per_s: number;
  acked_per_s: number;
  acked: number;
  completed: number;
  /** CPU ms per acked transfer, sum of SYSTEM_GROUPS. */
  total_ms: number | null;
  by_process: Record<string, number>;
  /** Not in the total: the load generator and everything that is not the bench. */
  outside_ms: Record<string, number>;
  step: StepResult;
  writes: WritesReport | null;
  /** Messages per transfer on each hop, in the middle of the load (exchanges.ts). */
  exchanges: ExchangesReport | null;
}

/**
 * CPU per transfer (`cpu_ms_per_transfer`) at a fixed offered rate (half the measured
 * single-request capacity), cross-partition pairs only (PAIRS=cross), and in the same window
 * what Postgres wrote per completed transfer (`wal_bytes_per_transfer`, `rows_per_transfer`).
 * CPU is counted from k6's start to its exit, per acked transfer; the writes from before the
 * first request until every transfer is COMPLETED and its outbox rows are marked.
 */
export async function measureCpuPerTransfer(ctx: BenchContext, target: Target, rate: number, rep: number): Promise<CpuPerTransferResult> {
  const tag = `${ctx.runId}-cpu-${rep}`;
  const writes = new WritesMeter(ctx.pool, withDatabase(ctx.services.databaseDirectUrl, ctx.benchDb));
  await writes.begin();
  // The exchanges are counted inside the load: k6's own connections close when it exits, and
  // its first and last seconds are start-up and wind-down.
  const exchanges = new ExchangeMeter(() => hopNaming(ctx, target));
  const exchangeTimers: NodeJS.Timeout[] = [];
  const counted: { report: ExchangesReport | null } = { report: null };
  const durationS = ctx.plan.cpuDurationS;
  const { figures, result } = await runStep(ctx, target, {
    name: `cpu-${rate}-r${rep}`,
    script: 'steady.js',
    durationS,
    tag,
    env: { RATE: String(rate), PAIRS: 'cross', SAMPLE_EVERY: '100000', P99_MS: '100', P95_MS: '100', ERROR_RATE_MAX: '0', DROPPED_MAX: '0' },
    onLoadStart: () => {
      const fromS = Math.min(EXCHANGES_SKIP_S, durationS / 4);
      exchangeTimers.push(setTimeout(() => exchanges.begin(), (EXCHANGES_K6_START_S + fromS) * 1000));
      exchangeTimers.push(setTimeout(() => void (counted.report = exchanges.end(rate)), (EXCHANGES_K6_START_S + durationS - fromS) * 1000));
    },
  });
  for (const timer of exchangeTimers) clearTimeout(timer);
  // Published marks are written every 250 ms (WORKER_OUTBOX_MARK_INTERVAL_MS): let them land.
  await sleep(MARKS_SETTLE_MS);
  await writes.markWalEnd();
  const done = await ctx.pool.query("SELECT count(*)::int AS n FROM transfers WHERE description = $1 AND status = 'COMPLETED'", [tag]);
  const completed = Number(done.rows[0].n);
  const writesReport = await writes.end(completed);
  // k6's own count, and each group's CPU in milliseconds as measured: not the rate rounded to
  // a whole number per second times the duration, nor cores rounded to 0.01 times the window
  // rounded to 0.1 s (at 300/s for 10 s, 0.01 of a core is 0.034 ms per transfer per group).
  const acked = figures.acked;
  const cpu = result.cpu;
  const msOf = (group: string) => (cpu && acked > 0 ? (cpu.cpu_ms_by_group[group] ?? 0) / acked : 0);
  const byProcess: Record<string, number> = {};
  for (const g of SYSTEM_GROUPS) byProcess[g] = round(msOf(g), 3) ?? 0;
  const outside: Record<string, number> = { k6: round(msOf('k6'), 3) ?? 0, other: round(msOf('other'), 3) ?? 0 };
  const total = cpu && acked > 0 ? round(SYSTEM_GROUPS.reduce((a, g) => a + msOf(g), 0), 3) : null;
  log(
    `cpu per transfer at ${rate}/s offered (cross-partition): ${total ?? '-'} ms (${SYSTEM_GROUPS.map((g) => `${g} ${byProcess[g]}`).join(', ')}; k6 ${outside.k6}, other ${outside.other}); ` +
      `writes per completed transfer: ${writesReport?.wal_bytes_per_transfer ?? '-'} WAL bytes, ${writesReport?.rows_per_transfer ?? '-'} rows, ${writesReport?.index_entries_per_transfer ?? '-'} index entries (${completed} completed)`,
  );
  const exchangesReport = counted.report;
  if (exchangesReport) {
    const top = Object.entries(exchangesReport.by_hop).slice(0, 6).map(([hop, n]) => `${hop} ${n}`).join(', ');
    log(`exchanges per transfer at ${rate}/s: ${exchangesReport.total} data segments (${top}, ...)`);
  }
  return { offered_per_s: rate, acked_per_s: result.acked_per_s, acked, completed, total_ms: total, by_process: byProcess, outside_ms: outside, step: result, writes: writesReport, exchanges: exchangesReport };
}

/** Seconds k6 takes from its spawn to its first iteration (setup() reads the fixture): outside the window. */
const EXCHANGES_K6_START_S = 2;
/** Seconds left out at each end of the load. */
const EXCHANGES_SKIP_S = 3;

/** Who is who on the loopback: the services' ports and the apps' pids. */
function hopNaming(ctx: BenchContext, target: Target): HopNaming {
  const portOfUrl = (url: string) => Number(new URL(url).port);
  const pids: Record<string, number[]> = {};
  for (const [group, list] of Object.entries(target.procs)) pids[group] = list.filter((p): p is Managed => p !== null && p.alive).map((p) => p.pid);
  return {
    servicePorts: {
      api: portOfUrl(target.baseUrl),
      pgbouncer: portOfUrl(ctx.services.databaseUrl),
      postgres: portOfUrl(ctx.services.databaseDirectUrl),
      kafka: portOf(ctx.services.kafkaBrokers[0]!),
      redis: portOfUrl(ctx.services.redisUrl),
    },
    pids,
  };
}

const MARKS_SETTLE_MS = 1_500;
