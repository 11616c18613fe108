/**
 * Turns the measurements into loadtest/results/latest.json (the headline keys of loadtest/README.md, plus
 * the details behind them), latest.md (the same for people) and latest.svg (the chart).
 * Every headline figure is the median over `--repeat` runs of the same measurement.
 */
import type { AcceptedRecordsLeft } from './accepted-records';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { CeilingResult } from './ceiling';
import { BENCH_RATE_LIMITS } from './context';
import { renderChart } from './chart';
import type { CpuReport } from './cpu';
import type { DrainResult } from './drain';
import type { LastPartition } from './last-partition';
import type { PgReport } from './pgstats';
import type { BatchIngestResult } from './batch';
import type { IdealResult } from './ideal';
import type { CapacityResult, CapacityStep, CpuPerTransferResult, E2eResult, ScenarioResult, StepResult } from './phases';
import type { QuietResult } from './quiet';
import type { BenchPlan } from './plan';
import type { ProfileSummary } from './profile';
import { atMost, median, round } from './util';

export interface Measurements {
  quiet: QuietResult[];
  capacity: { ours: CapacityResult[]; baseline: CapacityResult[] };
  cpu: CpuPerTransferResult[];
  batch: BatchIngestResult[];
  ideal: IdealResult[];
  ingest: Map<number, StepResult[]>;
  e2e: E2eResult[];
  drain: { uniform: DrainResult[]; hot: DrainResult[] };
  baselineSweep: Map<number, StepResult[]>;
  baselineSaturation: { uniform: StepResult[]; hot: StepResult[] };
  ceiling: CeilingResult[];
  scenarios: ScenarioResult[];
  profiles: ProfileSummary[];
  reconcile: { seconds: number; entries: number; violations: Record<string, number> } | null;
  acceptedRecordsLeft: AcceptedRecordsLeft | null;
  notes: string[];
  skipped: Record<string, string>;
  errors: Record<string, string>;
}

export function emptyMeasurements(): Measurements {
  return {
    quiet: [],
    capacity: { ours: [], baseline: [] },
    cpu: [],
    batch: [],
    ideal: [],
    ingest: new Map(),
    e2e: [],
    drain: { uniform: [], hot: [] },
    baselineSweep: new Map(),
    baselineSaturation: { uniform: [], hot: [] },
    ceiling: [],
    scenarios: [],
    profiles: [],
    reconcile: null,
    acceptedRecordsLeft: null,
    notes: [],
    skipped: {},
    errors: {},
  };
}

/**
 * The bench's exit code, decided once the figures are written: 1 when a phase failed, and 1 when
 * `--reconcile` found money wrong in the bench ledger (any check with violations), since a run
 * whose ledger does not reconcile must not pass a script that only reads the exit code (it
 * exited 0 with the violations only in latest.md's prose; found by an outside review).
 */
export function benchExitCode(m: Pick<Measurements, 'errors' | 'reconcile'>): 0 | 1 {
  if (Object.keys(m.errors).length > 0) return 1;
  const violations = m.reconcile ? Object.values(m.reconcile.violations).reduce((sum, n) => sum + n, 0) : 0;
  return violations > 0 ? 1 : 0;
}

/** How a drain that never finished ended, for the targets table. */
function stuck(runs: DrainResult[]): string | null {
  const bad = runs.find((d) => d.stalled || d.timed_out);
  return bad ? `${bad.stalled ? 'stalled' : 'timed out'} after applying ${bad.applied.toLocaleString('en-US')} of ${bad.commands.toLocaleString('en-US')}` : null;
}

/** The run whose `key` is the median (the lower one of an even count); null when none has it. */
function medianBy<T>(runs: readonly T[], key: (run: T) => number | null): T | null {
  const valued = runs.filter((r) => key(r) !== null).sort((a, b) => key(a)! - key(b)!);
  return valued[Math.floor((valued.length - 1) / 2)] ?? null;
}

type Percentile = 'p50_ms' | 'p95_ms' | 'p99_ms';
type CensoredHead = { censored: number; lower_bounds: Percentile[] } & Partial<Record<Percentile, number | null>>;

/**
 * Censored latency samples over the runs (k6run.ts CensoredPercentiles, quiet.ts): their count,
 * and the percentiles that are a lower bound in any run (a median of runs among which one is
 * only a lower bound is reported as one too: never less than it might be).
 */
function censoredOf(runs: readonly ({ censored: number; lower_bounds: readonly Percentile[] } | null | undefined)[]): { censored: number; lower_bounds: Percentile[] } {
  const present = runs.filter((r): r is { censored: number; lower_bounds: readonly Percentile[] } => !!r);
  return {
    censored: present.reduce((sum, r) => sum + r.censored, 0),
    lower_bounds: (['p50_ms', 'p95_ms', 'p99_ms'] as const).filter((p) => present.some((r) => r.lower_bounds.includes(p))),
  };
}

/** A percentile as read: `>=` before a lower bound. */
function latency(figure: { lower_bounds: readonly Percentile[] } & Partial<Record<Percentile, number | null>>, key: Percentile): string {
  const value = figure[key];
  return value === null || value === undefined ? '-' : `${figure.lower_bounds.includes(key) ? '>=' : ''}${value}`;
}

function censoredNote(figure: { censored: number }): string {
  return figure.censored > 0 ? ` (${figure.censored} sampled transfers not COMPLETED when their long poll ended, counted at what they waited: >= marks a lower bound)` : '';
}

/** Both judged: not met if either is not, unknown if either is unknown. */
function both(a: boolean | null, b: boolean | null): boolean | null {
  if (a === false || b === false) return false;
  return a === null || b === null ? null : true;
}

const med = (values: (number | null | undefined)[], digits = 1) => round(median(values.filter((v): v is number => typeof v === 'number')), digits);

function medianStep(steps: StepResult[]) {
  return {
    offered_per_s: steps[0]?.offered_per_s ?? null,
    acked_per_s: med(steps.map((s) => s.acked_per_s), 0),
    p50_ms: med(steps.map((s) => s.p50_ms), 2),
    p95_ms: med(steps.map((s) => s.p95_ms), 2),
    p99_ms: med(steps.map((s) => s.p99_ms), 2),
    errors: med(steps.map((s) => s.errors), 0),
    dropped: med(steps.map((s) => s.dropped), 0),
    completed_per_s: med(steps.map((s) => s.completed_per_s), 0),
    settle_s: med(steps.map((s) => s.settle_s), 1),
    runs: steps.length,
  };
}

function machine(k6Version: string): Record<string, unknown> {
  return {
    cores: cpus().length,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    memory_bytes: totalmem(),
    cpu_model: cpus()[0]?.model ?? 'unknown',
    load_avg_at_start: loadavg().map((v) => Math.round(v * 100) / 100),
    kernel: release(),
    node: process.version,
    k6: k6Version,
    shared: 'the machine is shared with other test runs; see cpu.by_group.other per phase for the noise',
  };
}

function git(repoRoot: string): { commit: string | null; dirty: boolean | null } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: repoRoot, encoding: 'utf8' }).trim().length > 0;
    return { commit, dirty };
  } catch {
    return { commit: null, dirty: null };
  }
}

export interface ReportInput {
  plan: BenchPlan;
  m: Measurements;
  startedAt: Date;
  finishedAt: Date;
  runId: string;
  runDir: string;
  repoRoot: string;
  outDir: string;
  k6Version: string;
}

export function writeReport(input: ReportInput): Record<string, unknown> {
  const { plan, m } = input;
  const targetSteps = m.ingest.get(plan.ingestTargetRate) ?? [];
  const ingestHead = medianStep(targetSteps);
  const e2eHead = {
    rate_per_s: med(m.e2e.map((e) => e.acked_per_s), 0),
    p50_ms: med(m.e2e.map((e) => e.e2e?.p50_ms)),
    p95_ms: med(m.e2e.map((e) => e.e2e?.p95_ms)),
    p99_ms: med(m.e2e.map((e) => e.e2e?.p99_ms)),
    ...censoredOf(m.e2e.map((e) => e.e2e)),
  };
  // Two rates per drain, in different units. `per_s`: the backlog's own commands per second
  // until every partition's offset covers them; for a cross-partition transfer that is only its
  // debit leg (the credit leg is appended behind the destination partition's backlog and mostly
  // applied after that clock stops). `settled_per_s`: the backlog's transfers per second until
  // every one of them is terminal (both legs applied). The ceiling and the baseline count
  // finished transfers, so they are compared with the second; in the full run of
  // `benchmxb2c5g1` the uniform drain's first rate (21,898/s) was 1.9x its second (11,417/s).
  const drainUniform = med(m.drain.uniform.map((d) => d.per_s), 0);
  const drainHot = med(m.drain.hot.map((d) => d.per_s), 0);
  const settledUniform = med(m.drain.uniform.map((d) => d.settled_per_s), 0);
  const settledHot = med(m.drain.hot.map((d) => d.settled_per_s), 0);
  const hotLast = medianBy(m.drain.hot, (d) => d.per_s)?.last_partition ?? null;
  const baseUniform = med(m.baselineSaturation.uniform.map((s) => s.acked_per_s), 0);
  const baseHot = med(m.baselineSaturation.hot.map((s) => s.acked_per_s), 0);
  const ceiling = med(m.ceiling.map((c) => c.per_s), 0);
  const ideal = med(m.ideal.map((c) => c.per_s), 0);
  const quiet = {
    rate_per_s: m.quiet[0]?.rate_per_s ?? null,
    p50_ms: med(m.quiet.map((q) => q.p50_ms)),
    p99_ms: med(m.quiet.map((q) => q.p99_ms)),
    n: med(m.quiet.map((q) => q.n), 0),
    ...censoredOf(m.quiet),
  };
  const capOurs = med(m.capacity.ours.map((c) => c.per_s), 0);
  const capBase = med(m.capacity.baseline.map((c) => c.per_s), 0);
  const cpuRun = medianBy(m.cpu, (c) => c.total_ms);
  const cpuHead = {
    offered_per_s: cpuRun?.offered_per_s ?? null,
    total: cpuRun?.total_ms ?? null,
    by_process: cpuRun?.by_process ?? null,
    outside_the_total: cpuRun?.outside_ms ?? null,
  };
  const writesRun = medianBy(m.cpu, (c) => c.writes?.wal_bytes_per_transfer ?? null)?.writes ?? null;
  const exchangesRun = medianBy(m.cpu, (c) => c.exchanges?.total ?? null)?.exchanges ?? null;
  const batchRun = medianBy(m.batch, (b) => b.rate_per_s);
  const batchHead = batchRun
    ? { items_per_batch: batchRun.items_per_batch, rate_per_s: batchRun.rate_per_s, p99_ms: batchRun.p99_ms, drained_per_s: batchRun.drained_per_s }
    : { items_per_batch: plan.batchItems, rate_per_s: null, p99_ms: null, drained_per_s: null, not_available: m.skipped.batch ?? m.errors['batch #1'] ?? 'not measured' };

  const targets = [
    {
      name: `ingest: >= 5,000 acked transfers/s for ${plan.ingestDurationS} s at ${plan.ingestTargetRate}/s offered, p99 ack <= 50 ms, 0 errors, nothing dropped`,
      measured: `${ingestHead.acked_per_s ?? '-'}/s, p99 ${ingestHead.p99_ms ?? '-'} ms, ${ingestHead.errors ?? '-'} errors, ${ingestHead.dropped ?? '-'} dropped`,
      met:
        ingestHead.acked_per_s === null
          ? null
          : // Acks within the step's window per second of it, and every offered transfer sent (k6
            // drops an iteration it has no VU for): accepted for the whole duration, not part of it.
            plan.ingestDurationS >= 60 && ingestHead.acked_per_s >= 5000 && (ingestHead.p99_ms ?? Infinity) <= 50 && ingestHead.errors === 0 && ingestHead.dropped === 0,
      note: plan.ingestDurationS < 60 ? `quick mode holds each rate ${plan.ingestDurationS} s, not 60 s: indicative only` : undefined,
    },
    {
      name: 'e2e: p99 202 -> COMPLETED <= 250 ms at 2,000/s',
      measured: `p99 ${latency(e2eHead, 'p99_ms')} ms at ${e2eHead.rate_per_s ?? '-'}/s${censoredNote(e2eHead)}`,
      met: atMost(e2eHead.p99_ms, e2eHead.lower_bounds.includes('p99_ms'), 250),
    },
    {
      name: 'quiet: 202 -> COMPLETED p50 <= 15 ms and p99 <= 40 ms (sequential cross-partition transfers at 20/s, client-measured)',
      measured: `p50 ${latency(quiet, 'p50_ms')} ms, p99 ${latency(quiet, 'p99_ms')} ms (n ${quiet.n ?? '-'})${censoredNote(quiet)}`,
      met: both(atMost(quiet.p50_ms, quiet.lower_bounds.includes('p50_ms'), 15), atMost(quiet.p99_ms, quiet.lower_bounds.includes('p99_ms'), 40)),
    },
    {
      name: 'CPU per acked transfer (API, workers, Postgres, PgBouncer, Kafka, Redis) <= 0.5 ms at half the single-request capacity',
      measured: cpuHead.total === null ? '-' : `${cpuHead.total} ms at ${cpuHead.offered_per_s}/s offered`,
      met: cpuHead.total === null ? null : cpuHead.total <= 0.5,
    },
    {
      name: 'single-request capacity (ack p99 <= 100 ms, nothing dropped) >= 3x the row-lock baseline',
      measured: capOurs !== null && capBase ? `${capOurs}/s vs ${capBase}/s: ${round(capOurs / capBase, 2)}x` : `${capOurs ?? '-'}/s vs ${capBase ?? '-'}/s`,
      met: capOurs !== null && capBase ? capOurs >= 3 * capBase : null,
    },
    {
      name: `batch ingest: >= 15,000 transfers/s accepted for ${plan.batchDurationS} s in ${plan.batchItems}-item batches, batch ack p99 <= 250 ms, no batch refused for good or dropped`,
      measured: batchRun
        ? `${batchRun.rate_per_s}/s, p99 ${batchRun.p99_ms ?? '-'} ms, ${batchRun.errors} items failed, ${batchRun.dropped} batches dropped, ${batchRun.acked_late ?? '-'} items acked late; backlog applied at ${batchRun.drained_per_s ?? '-'}/s`
        : String((batchHead as { not_available?: string }).not_available),
      // The items accepted within the load's window per second of it; and accepted for the whole
      // 30 s: a batch refused after its retries (errors) or never sent (dropped: k6 had no VU
      // for it) is a part of the load that was not accepted, whatever the rate of the rest.
      met: batchRun ? batchRun.rate_per_s >= 15000 && (batchRun.p99_ms ?? Infinity) <= 250 && plan.batchDurationS >= 30 && batchRun.errors === 0 && batchRun.dropped === 0 : null,
    },
    {
      name: 'drain uniform >= 80% of the ceiling (transfers COMPLETED/s, both legs, against the ceiling\'s COMPLETED/s)',
      measured:
        settledUniform !== null && ceiling
          ? `${Math.round((settledUniform / ceiling) * 100)}% (${settledUniform}/s vs ${ceiling}/s; backlog commands ${drainUniform ?? '-'}/s)`
          : stuck(m.drain.uniform) ?? '-',
      met: settledUniform !== null && ceiling ? settledUniform >= 0.8 * ceiling : stuck(m.drain.uniform) ? false : null,
    },
    {
      name: 'ceiling >= 50% of the ideal (PostgreSQL alone, smallest double-entry schema)',
      measured: ceiling !== null && ideal ? `${Math.round((ceiling / ideal) * 100)}% (${ceiling}/s vs ${ideal}/s)` : '-',
      met: ceiling !== null && ideal ? ceiling >= 0.5 * ideal : null,
    },
    {
      name: 'WAL bytes per completed cross-partition transfer <= 2,000',
      measured: writesRun ? `${cell(writesRun.wal_bytes_per_transfer)} bytes (${cell(writesRun.rows_per_transfer)} rows, ${cell(writesRun.index_entries_per_transfer)} index entries)` : '-',
      met: typeof writesRun?.wal_bytes_per_transfer === 'number' ? writesRun.wal_bytes_per_transfer <= 2000 : null,
    },
    {
      name: 'drain uniform >= 20,000 commands/s (the backlog\'s own commands: a cross-partition transfer\'s debit leg, not its credit leg)',
      measured: drainUniform !== null ? `${drainUniform}/s` : stuck(m.drain.uniform) ?? '-',
      met: drainUniform !== null ? drainUniform >= 20000 : stuck(m.drain.uniform) ? false : null,
    },
    {
      name: 'drain hot >= 90% of uniform (transfers COMPLETED/s until the whole backlog is terminal)',
      measured:
        settledUniform && settledHot !== null
          ? `${Math.round((settledHot / settledUniform) * 100)}% (${settledHot}/s vs ${settledUniform}/s; backlog commands alone ${drainUniform && drainHot !== null ? `${Math.round((drainHot / drainUniform) * 100)}%` : '-'})`
          : stuck(m.drain.hot) ?? '-',
      met: settledUniform && settledHot !== null ? settledHot >= 0.9 * settledUniform : stuck(m.drain.hot) ? false : null,
    },
    {
      name: 'drain hot >= 10x the row-lock baseline (hot), both in transfers COMPLETED/s',
      measured: baseHot && settledHot !== null ? `${round(settledHot / baseHot, 1)}x (${settledHot}/s vs ${baseHot}/s)` : stuck(m.drain.hot) ?? '-',
      met: baseHot && settledHot !== null ? settledHot >= 10 * baseHot : stuck(m.drain.hot) ? false : null,
    },
  ];

  const result: Record<string, unknown> = {
    started_at: input.startedAt.toISOString(),
    finished_at: input.finishedAt.toISOString(),
    mode: plan.mode,
    repeat: plan.repeat,
    run_id: input.runId,
    ingest: { rate_per_s: ingestHead.acked_per_s, p50_ms: ingestHead.p50_ms, p95_ms: ingestHead.p95_ms, p99_ms: ingestHead.p99_ms, errors: ingestHead.errors },
    e2e: e2eHead,
    drain: { uniform_per_s: drainUniform, hot_per_s: drainHot, uniform_settled_per_s: settledUniform, hot_settled_per_s: settledHot },
    baseline: { uniform_per_s: baseUniform, hot_per_s: baseHot },
    ceiling: { per_s: ceiling },
    e2e_quiet: { rate_per_s: quiet.rate_per_s, p50_ms: quiet.p50_ms, p99_ms: quiet.p99_ms, censored: quiet.censored, lower_bounds: quiet.lower_bounds },
    cpu_ms_per_transfer: cpuHead,
    ingest_capacity_per_s: { ours: capOurs, baseline: capBase },
    batch_ingest: batchHead,
    ideal: { per_s: ideal },
    wal_bytes_per_transfer: writesRun?.wal_bytes_per_transfer ?? null,
    rows_per_transfer: writesRun
      ? { rows: writesRun.rows_per_transfer, index_entries: writesRun.index_entries_per_transfer, index_entries_from: writesRun.index_entries_from, by_table: writesRun.by_table, wal_bytes_by_relation: writesRun.wal_by_relation, wal_bytes_by_record: writesRun.wal_by_record }
      : null,
    drain_hot_last_partition: hotLast ? { ...hotLast, alone_vs_uniform: drainUniform && hotLast.alone_per_s !== null ? round(hotLast.alone_per_s / drainUniform, 2) : null } : null,
    exchanges_per_transfer: exchangesRun ? { offered_per_s: cpuHead.offered_per_s, total: exchangesRun.total, by_hop: exchangesRun.by_hop } : null,
    machine: machine(input.k6Version),
    targets,
    git: git(input.repoRoot),
    details: {
      definitions: {
        ingest: `k6 constant-arrival-rate against POST /v1/transfers at ${plan.ingestTargetRate}/s for ${plan.ingestDurationS} s; rate_per_s = 2xx answers that arrived within the step's window (from the load's start for its duration) / its seconds (k6's graceful stop lets requests in flight at the end be answered later: those are counted apart, details.ingest_sweep[].runs[].acked_late); latency = the 202 (durable in Kafka); errors = non-2xx or timeouts`,
        e2e: `k6 at ${plan.e2eRate}/s; one transfer in ${plan.e2eSampleEvery} is long-polled (GET /v1/transfers/{id}?wait_ms=10000) from its 202 until COMPLETED; percentiles of those samples, a sample not COMPLETED when its poll ended (after 10 s, or sooner when it failed or was answered at once) counted at what it waited (censored: the count is \`censored\`, and a percentile that depends on one, that moves when they are put above every other sample, is listed in \`lower_bounds\`: a lower bound, not the percentile)`,
        drain: `uniform_per_s / hot_per_s: commands/s the ${plan.workers} worker processes apply from a backlog of ${plan.drainCommands.toLocaleString('en-US')} TRANSFER commands already in Kafka, from their first commit until every partition's stored offset covers the backlog; for a cross-partition transfer that is its debit leg only (its credit leg is appended behind the destination partition's backlog). uniform_settled_per_s / hot_settled_per_s: the backlog's transfers per second from the same first commit until every one is terminal (both legs applied): the figure compared with the ceiling (COMPLETED transfers/s) and the baseline (committed transfers/s), and hot with uniform`,
        drain_hot_last_partition: `the hot drain's partition done last (the merchant's): backlog commands it applied per second from the first commit until it was the only partition not done (shared_per_s), and after (alone_per_s, for alone_s seconds; alone_vs_uniform = alone_per_s / the uniform drain); from the drain's polls of partition_state (loadtest/bench/last-partition.ts)`,
        baseline: `the synchronous row-lock comparator (loadtest/baseline/server.ts) driven by k6 with ${plan.baselineVus} closed-loop clients for ${plan.baselineSaturationDurationS} s: committed transfers/s`,
        ceiling: `PostgreSQL alone applying writeBatch(applyBatch(...)) batches of ${plan.ceilingBatchCommands} on ${plan.partitions} partitions through PgBouncer, legs routed in memory: COMPLETED transfers/s`,
        e2e_quiet: `${plan.quietRatePerS} cross-partition transfers/s, one at a time, for ${plan.quietDurationS} s after a 1 s warm-up, on an idle system, from the bench driver: POST /v1/transfers, then GET /v1/transfers/{id}?wait_ms=5000; from the 202 to COMPLETED; a transfer not COMPLETED when its poll ended is counted at what it waited, 5 s or less when the poll ended early (\`censored\`; percentiles that depend on one are in \`lower_bounds\`)`,
        ingest_capacity_per_s: `highest offered rate of a k6 steady ramp (an unjudged warm-up step at half the start rate, then ${plan.capacityStepS} s steps from ${plan.capacityStartPerS}/s, x${plan.capacityFactor} per step, then ${plan.capacityBisections} bisection(s)) with ack p99 <= ${plan.capacityP99Ms} ms, 0 errors and 0 dropped iterations; ours and the baseline the same way`,
        cpu_ms_per_transfer: `k6 steady at half of ingest_capacity_per_s.ours for ${plan.cpuDurationS} s, cross-partition pairs only; CPU (/proc) of API, workers, Postgres, PgBouncer, Kafka and Redis from k6's start to its exit, per acked transfer; k6 and other tenants reported outside the total`,
        wal_bytes_per_transfer: 'same window as cpu_ms_per_transfer, until every transfer is COMPLETED and its outbox marks are written: pg_current_wal_lsn() difference / COMPLETED transfers (the dev profile\'s cluster serves only the bench)',
        rows_per_transfer: 'same window: pg_stat_user_tables inserts + updates + deletes per COMPLETED transfer; index entries = B-tree leaf tuples written in the WAL window (INSERT_LEAF, INSERT_POST and level-0 splits, pg_walinspect: a partial index counts only the rows its predicate admits, a BRIN index none), or, when the WAL cannot be read (index_entries_from = "row counters"), the upper bound (inserts + updates - HOT updates) x the table\'s indexes',
        exchanges_per_transfer: 'inside the cpu_ms_per_transfer load (its first and last seconds left out): TCP data segments sent on the stack\'s loopback connections (ss -ti data_segs_out), by hop from the process that wrote to the one that read, per offered transfer; a segment is one write as the kernel sent it (loadtest/bench/exchanges.ts)',
        batch_ingest: `k6 ${plan.batchItems}-item POST /v1/batch requests at ${plan.batchItemsPerS} items/s offered for ${plan.batchDurationS} s: items accepted within the load's window (from its start for ${plan.batchDurationS} s) per second of it (batches answered later, in k6's graceful stop, are counted apart: details.batch[].acked_late), batch ack p99; drained_per_s = the backlog's transfers COMPLETED per second from the load's window's end until the first poll that found every accepted item terminal (polled every 100 ms; null when under 1 s, or when the first poll, after k6's exit, already found them so), with the backlog's make-up in details.batch[].backlog_at_end (not applied at all / PROCESSING: only the credit leg left)`,
        ideal: `PostgreSQL alone (direct connections, same server): ${plan.idealWriters} writers on disjoint accounts, batches of ${plan.idealBatchTransfers} transfers in one statement each (a transfer row, two entries, one balance UPDATE per account per batch): transfers committed/s`,
      },
      ingest_sweep: [...m.ingest.entries()].sort((a, b) => a[0] - b[0]).map(([rate, steps]) => ({ rate, median: medianStep(steps), runs: steps })),
      e2e_quiet: m.quiet,
      capacity: m.capacity,
      cpu: m.cpu,
      batch: m.batch,
      ideal: m.ideal,
      e2e: m.e2e,
      drain: m.drain,
      baseline_sweep: [...m.baselineSweep.entries()].sort((a, b) => a[0] - b[0]).map(([rate, steps]) => ({ rate, median: medianStep(steps), runs: steps })),
      baseline_saturation: m.baselineSaturation,
      ceiling: m.ceiling,
      scenarios: m.scenarios,
      profiles: m.profiles,
      reconcile: m.reconcile,
      accepted_records_left: m.acceptedRecordsLeft,
      run_dir: input.runDir,
    },
    notes: m.notes,
    skipped: m.skipped,
    errors: m.errors,
  };

  mkdirSync(input.outDir, { recursive: true });
  writeFileSync(join(input.outDir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  const footer = [
    `e2e quiet (20/s, one at a time): p50 ${quiet.p50_ms ?? '-'} ms, p99 ${quiet.p99_ms ?? '-'} ms`,
    `CPU per transfer at ${cpuHead.offered_per_s ?? '-'}/s: ${cpuHead.total ?? '-'} ms; WAL per transfer ${writesRun?.wal_bytes_per_transfer ?? '-'} bytes, ${writesRun?.rows_per_transfer ?? '-'} rows, ${writesRun?.index_entries_per_transfer ?? '-'} index entries`,
  ];
  writeFileSync(
    join(input.outDir, 'latest.svg'),
    chart(input, e2eHead.p99_ms, { capOurs, capBase, settledUniform, settledHot, baseUniform, baseHot, ceiling, ideal }, footer),
  );
  writeFileSync(join(input.outDir, 'latest.md'), markdown(input, result, targets));
  return result;
}

function chart(input: ReportInput, e2eP99: number | null, caps: Record<string, number | null>, footer: string[]): string {
  const { plan, m } = input;
  const sweep = (map: Map<number, StepResult[]>, pick: (s: ReturnType<typeof medianStep>) => number | null) =>
    [...map.entries()].map(([rate, steps]) => ({ offered: rate, value: pick(medianStep(steps)) }));
  return renderChart({
    title: `ledgerline vs row-lock baseline (${plan.mode} run, ${input.startedAt.toISOString().slice(0, 16)}Z)`,
    subtitle: `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, shared machine; medians of ${plan.repeat} run(s); same accounts and k6 load for both`,
    oursAcked: sweep(m.ingest, (s) => s.acked_per_s),
    oursCompleted: sweep(m.ingest, (s) => s.completed_per_s),
    baselineDone: sweep(m.baselineSweep, (s) => s.acked_per_s),
    oursP99: sweep(m.ingest, (s) => s.p99_ms),
    baselineP99: sweep(m.baselineSweep, (s) => s.p99_ms),
    e2eP99: e2eP99 === null ? null : { offered: plan.e2eRate, value: e2eP99 },
    ackP99TargetMs: 50,
    e2eP99TargetMs: 250,
    bars: [
      { label: 'ledgerline single requests (p99 <= 100 ms)', value: caps.capOurs ?? null, kind: 'ours' },
      { label: 'row-lock baseline single requests (p99 <= 100 ms)', value: caps.capBase ?? null, kind: 'baseline' },
      { label: 'ledgerline drain, uniform (until every transfer is COMPLETED)', value: caps.settledUniform ?? null, kind: 'ours' },
      { label: 'ledgerline drain, hot account (until every transfer is COMPLETED)', value: caps.settledHot ?? null, kind: 'ours' },
      { label: 'row-lock baseline saturated, uniform', value: caps.baseUniform ?? null, kind: 'baseline' },
      { label: 'row-lock baseline saturated, hot account', value: caps.baseHot ?? null, kind: 'baseline' },
      { label: 'ledgerline ceiling (writeBatch alone)', value: caps.ceiling ?? null, kind: 'ceiling' },
      { label: 'ideal: PostgreSQL alone, minimal double entry', value: caps.ideal ?? null, kind: 'ideal' },
    ],
    footer,
  });
}

const capacityStep = (st: CapacityStep) =>
  `${st.offered_per_s}/s ${st.passed ? '+' : '-'} (p99 ${cell(st.p99_ms)} ms, ${st.errors} errors, ${st.dropped} dropped)`;

function cell(v: unknown): string {
  return v === null || v === undefined ? '-' : String(v);
}

function cpuLine(cpu: CpuReport | null): string {
  if (!cpu) return '-';
  const groups = Object.entries(cpu.by_group)
    .filter(([, v]) => v >= 0.01)
    .sort((a, b) => b[1] - a[1])
    .map(([g, v]) => `${g} ${v}`)
    .join(', ');
  return `${cpu.machine_busy_cores}/${cpu.cores} cores busy: ${groups}`;
}

/** CPU milliseconds per transfer (or command) by group: comparable across noisy runs. */
function cpuPerItem(cpu: CpuReport | null, perS: number | null): string {
  if (!cpu || !perS) return '-';
  return Object.entries(cpu.by_group)
    .filter(([g, v]) => g !== 'other' && v >= 0.01)
    .sort((a, b) => b[1] - a[1])
    .map(([g, v]) => `${g} ${round((v * 1000) / perS, 3)}`)
    .join(', ');
}

function pgTable(pg: PgReport | null): string[] {
  if (!pg) return ['(no pg_stat_statements data)'];
  const lines = [
    `${pg.commits} commits (${pg.commits_per_s}/s), ${pg.wal_mb} MB WAL${pg.wal_fsyncs !== null ? `, ${pg.wal_fsyncs} WAL fsyncs` : ''}`,
    ...(pg.wal_by_kind
      ? ['', `WAL by kind (cluster-wide): ${pg.wal_by_kind.map((w) => `${w.resource_manager} ${w.records} records, ${w.record_mb} MB + ${w.fpi_mb} MB full-page images`).join('; ')}`]
      : []),
    '',
    '| share | calls | total ms | mean ms | statement |',
    '|---:|---:|---:|---:|---|',
  ];
  for (const s of pg.top_statements) lines.push(`| ${s.share_pct}% | ${s.calls} | ${s.total_ms} | ${s.mean_ms} | \`${s.query.replace(/\|/g, '\\|')}\` |`);
  return lines;
}

function markdown(input: ReportInput, r: Record<string, unknown>, targets: { name: string; measured: string; met: boolean | null; note?: string }[]): string {
  const { plan, m } = input;
  const L: string[] = [];
  const head = r as {
    ingest: Record<string, unknown>;
    e2e: Record<string, unknown> & CensoredHead;
    drain: Record<string, unknown>;
    baseline: Record<string, unknown>;
    ceiling: Record<string, unknown>;
    ideal: Record<string, unknown>;
    e2e_quiet: Record<string, unknown> & CensoredHead;
    cpu_ms_per_transfer: { offered_per_s: number | null; total: number | null; by_process: Record<string, number> | null };
    ingest_capacity_per_s: Record<string, unknown>;
    batch_ingest: Record<string, unknown>;
    wal_bytes_per_transfer: number | null;
    rows_per_transfer: { rows: number | null; index_entries: number | null } | null;
    exchanges_per_transfer: { total: number; by_hop: Record<string, number> } | null;
    drain_hot_last_partition: (LastPartition & { alone_vs_uniform: number | null }) | null;
    machine: Record<string, unknown>;
  };
  L.push(`# ledgerline bench: ${plan.mode} run of ${input.startedAt.toISOString()}`);
  L.push('');
  for (const note of m.notes.filter((n) => n.startsWith('EXPERIMENT'))) L.push(`> **${note}**`, '');
  L.push(
    `Machine: ${head.machine.cores} cores (${head.machine.cpu_model}), ${head.machine.memory}, load average at start ${JSON.stringify(head.machine.load_avg_at_start)}; node ${head.machine.node}, k6 ${head.machine.k6}. ` +
      `Shared with other work, so figures are noisy: each phase below lists the CPU used by "other" (not the bench). ` +
      `Medians of ${plan.repeat} run(s). Command: \`npm run bench${plan.mode === 'quick' ? ' -- --quick' : ''}${plan.repeat > 1 ? ` --repeat ${plan.repeat}` : ''}\`.`,
  );
  L.push(
    '',
    `Per-principal rate limits and the open-accounts quota are **raised for the bench** (a few principals send the whole load): ${Object.entries(BENCH_RATE_LIMITS)
      .map(([k, v]) => `\`${k}=${v}\``)
      .join(', ')}. A deployment keeps the defaults of apps/ingest-api/src/config.ts.`,
  );
  L.push('', '![chart](latest.svg)', '');
  L.push('## Headline', '');
  L.push('| figure | value |', '|---|---|');
  L.push(`| ingest at ${plan.ingestTargetRate}/s offered: acked/s, ack p50/p95/p99, errors | ${cell(head.ingest.rate_per_s)}/s, ${cell(head.ingest.p50_ms)} / ${cell(head.ingest.p95_ms)} / ${cell(head.ingest.p99_ms)} ms, ${cell(head.ingest.errors)} errors |`);
  L.push(`| e2e at ${plan.e2eRate}/s: 202 -> COMPLETED p50/p95/p99 | ${latency(head.e2e, 'p50_ms')} / ${latency(head.e2e, 'p95_ms')} / ${latency(head.e2e, 'p99_ms')} ms${censoredNote(head.e2e)} |`);
  L.push(`| worker drain, uniform / hot: backlog commands/s until every partition's offset covers the backlog (credit legs not counted) | ${cell(head.drain.uniform_per_s)} / ${cell(head.drain.hot_per_s)} |`);
  L.push(`| worker drain, uniform / hot: transfers COMPLETED/s until every transfer of the backlog is terminal (both legs; what the ceiling and the baseline count) | ${cell(head.drain.uniform_settled_per_s)} / ${cell(head.drain.hot_settled_per_s)} |`);
  const lastP = head.drain_hot_last_partition;
  L.push(`| hot drain, the partition done last: commands/s while others ran / once alone (share of uniform) | ${lastP ? `p${lastP.partition}: ${cell(lastP.shared_per_s)} / ${cell(lastP.alone_per_s)} for ${cell(lastP.alone_s)} s (${lastP.alone_vs_uniform === null ? '-' : `${Math.round(lastP.alone_vs_uniform * 100)}%`})` : '-'} |`);
  L.push(`| row-lock baseline, uniform / hot (transfers/s) | ${cell(head.baseline.uniform_per_s)} / ${cell(head.baseline.hot_per_s)} |`);
  L.push(`| Postgres ceiling (writeBatch alone, transfers/s) | ${cell(head.ceiling.per_s)} |`);
  L.push(`| ideal: PostgreSQL alone, smallest double-entry schema (transfers/s) | ${cell(head.ideal.per_s)} |`);
  L.push(`| e2e quiet: sequential cross-partition transfers at ${cell(head.e2e_quiet.rate_per_s)}/s, 202 -> COMPLETED p50 / p99 | ${latency(head.e2e_quiet, 'p50_ms')} / ${latency(head.e2e_quiet, 'p99_ms')} ms${censoredNote(head.e2e_quiet)} |`);
  const cpuSplit = head.cpu_ms_per_transfer.by_process ? Object.entries(head.cpu_ms_per_transfer.by_process).map(([g, v]) => `${g} ${v}`).join(', ') : '';
  L.push(`| CPU ms per transfer at ${cell(head.cpu_ms_per_transfer.offered_per_s)}/s offered (half the capacity) | ${cell(head.cpu_ms_per_transfer.total)}${cpuSplit ? ` (${cpuSplit})` : ''} |`);
  L.push(`| single-request capacity, ours / baseline (ack p99 <= 100 ms, nothing dropped) | ${cell(head.ingest_capacity_per_s.ours)} / ${cell(head.ingest_capacity_per_s.baseline)} per s |`);
  L.push(`| batch ingest: items/s accepted, batch ack p99, backlog applied/s | ${head.batch_ingest.rate_per_s === null ? `not available (${cell(head.batch_ingest.not_available)})` : `${cell(head.batch_ingest.rate_per_s)}/s, ${cell(head.batch_ingest.p99_ms)} ms, ${cell(head.batch_ingest.drained_per_s)}/s`} |`);
  L.push(`| per completed cross-partition transfer: WAL bytes, rows, index entries | ${cell(head.wal_bytes_per_transfer)}, ${cell(head.rows_per_transfer?.rows)}, ${cell(head.rows_per_transfer?.index_entries)} |`);
  L.push(`| messages between processes per transfer at ${cell(head.cpu_ms_per_transfer.offered_per_s)}/s (TCP data segments, all hops) | ${cell(head.exchanges_per_transfer?.total)} |`);
  L.push('');
  L.push('## Targets', '');
  L.push('| target | measured | reached |', '|---|---|---|');
  for (const t of targets) L.push(`| ${t.name} | ${t.measured} | ${t.met === null ? 'not measured' : t.met ? 'yes' : '**no**'}${t.note ? ` (${t.note})` : ''} |`);
  L.push('');
  if (Object.keys(m.skipped).length || Object.keys(m.errors).length || m.notes.length) {
    L.push('## Notes', '');
    for (const [phase, why] of Object.entries(m.skipped)) L.push(`- skipped ${phase}: ${why}`);
    for (const [phase, why] of Object.entries(m.errors)) L.push(`- **${phase} failed**: ${why}`);
    for (const note of m.notes) L.push(`- ${note}`);
    L.push('');
  }
  if (m.ingest.size) {
    L.push('## 1. Ingest sweep (k6 constant-arrival-rate, POST /v1/transfers)', '');
    L.push(
      '| offered/s | acked/s | p50 ms | p95 ms | p99 ms | errors | dropped | COMPLETED/s during step | settle s | CPU (cores) | CPU ms per acked transfer |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
    );
    for (const [rate, steps] of [...m.ingest.entries()].sort((a, b) => a[0] - b[0])) {
      const s = medianStep(steps);
      const last = steps[steps.length - 1];
      L.push(
        `| ${rate} | ${cell(s.acked_per_s)} | ${cell(s.p50_ms)} | ${cell(s.p95_ms)} | ${cell(s.p99_ms)} | ${cell(s.errors)} | ${cell(s.dropped)} | ${cell(s.completed_per_s)} | ${last?.settle_problem ? `**${last.settle_problem}**` : cell(s.settle_s)} | ${cpuLine(last?.cpu ?? null)} | ${cpuPerItem(last?.cpu ?? null, last?.acked_per_s ?? null)} |`,
      );
    }
    const atTarget = m.ingest.get(plan.ingestTargetRate);
    const lastAtTarget = atTarget?.[atTarget.length - 1];
    if (lastAtTarget) L.push('', `Postgres during the ${plan.ingestTargetRate}/s step (bench database only):`, '', ...pgTable(lastAtTarget.pg));
    L.push('');
  }
  if (m.e2e.length) {
    L.push(`## 2. End to end at ${plan.e2eRate}/s`, '');
    L.push('| run | acked/s | ack p99 ms | e2e p50/p95/p99 ms (client, sampled) | n (not COMPLETED within the wait) | e2e p50/p95/p99 ms (Postgres clocks, all) | n | money moved | CPU |', '|---|---:|---:|---|---:|---|---:|---|---|');
    m.e2e.forEach((e, i) =>
      L.push(
        `| ${i + 1} | ${e.acked_per_s} | ${cell(e.p99_ms)} | ${e.e2e ? `${latency(e.e2e, 'p50_ms')} / ${latency(e.e2e, 'p95_ms')} / ${latency(e.e2e, 'p99_ms')}` : '-'} | ${e.e2e ? `${e.e2e.n} (${e.e2e.censored})` : '-'} | ${cell(e.e2e_db?.p50_ms)} / ${cell(e.e2e_db?.p95_ms)} / ${cell(e.e2e_db?.p99_ms)} | ${cell(e.e2e_db?.n)} | ${e.money_moved ? `${round(e.money_moved.rate * 100, 1)}% of ${e.money_moved.n}` : '-'} | ${cpuLine(e.cpu)} |`,
      ),
    );
    L.push('', 'Client-observed = from the 202 to a long poll returning COMPLETED (includes the Redis wake-up); a sample not COMPLETED when its poll ended is counted at what it waited, and a percentile marked >= reaches one: a lower bound. Postgres clocks = completed_at (the worker batch\'s clock, taken before its commit) minus created_at (the API\'s idempotency claim, taken before the command is produced to Kafka and the 202 sent): it adds the ack path and leaves out the commit and the long poll\'s wake-up, so it is not a bound of the client figure either way.', '');
  }
  if (m.quiet.length) {
    L.push(`## Quiet latency: one cross-partition transfer at a time, ${plan.quietRatePerS}/s`, '');
    L.push('| run | n (not COMPLETED within 5 s) | 202 -> COMPLETED p50 / p95 / p99 / max ms (client) | Postgres clocks p50 / p99 ms | ack p50 / p99 ms | failures |', '|---|---:|---|---|---|---:|');
    m.quiet.forEach((q, i) =>
      L.push(`| ${i + 1} | ${q.n} (${q.censored}) | ${latency(q, 'p50_ms')} / ${latency(q, 'p95_ms')} / ${latency(q, 'p99_ms')} / ${q.censored > 0 ? '>=' : ''}${cell(q.max_ms)} | ${cell(q.db_p50_ms)} / ${cell(q.db_p99_ms)} | ${cell(q.ack_p50_ms)} / ${cell(q.ack_p99_ms)} | ${q.failures} |`),
    );
    L.push('', 'Postgres clocks = completed_at (the credit leg\'s batch clock, before its commit) minus created_at (the API\'s idempotency claim, before the command is produced and the 202 sent): the ack path and the two worker hops; the client figure starts at the 202 instead and adds the credit leg\'s commit and the API\'s long-poll wake-up and read.', '');
  }
  for (const [kind, runs] of [['ours', m.capacity.ours], ['row-lock baseline', m.capacity.baseline]] as const) {
    if (!runs.length) continue;
    L.push(`## Single-request capacity, ${kind}`, '');
    runs.forEach((c, i) =>
      L.push(`Run ${i + 1}: **${cell(c.per_s)}/s**. Warm-up (not judged): ${capacityStep(c.warmup)}. Steps (${c.step_s} s each; + passed: ack p99 <= ${c.p99_limit_ms} ms, 0 errors, 0 dropped): ${c.steps.map(capacityStep).join('; ')}`, ''),
    );
  }
  if (m.cpu.length) {
    L.push('## CPU and writes per transfer (half the single-request capacity, cross-partition pairs)', '');
    L.push('| run | offered/s | acked/s | CPU ms per acked transfer | by process | k6 / other (not counted) | WAL bytes | rows | index entries |', '|---|---:|---:|---:|---|---|---:|---:|---:|');
    m.cpu.forEach((c, i) =>
      L.push(
        `| ${i + 1} | ${c.offered_per_s} | ${c.acked_per_s} | ${cell(c.total_ms)} | ${Object.entries(c.by_process).map(([g, v]) => `${g} ${v}`).join(', ')} | ${c.outside_ms.k6} / ${c.outside_ms.other} | ${cell(c.writes?.wal_bytes_per_transfer)} | ${cell(c.writes?.rows_per_transfer)} | ${cell(c.writes?.index_entries_per_transfer)} |`,
      ),
    );
    const w = m.cpu[m.cpu.length - 1]!.writes;
    if (w) {
      L.push('', `Per completed transfer, by table (last run, ${w.transfers} transfers):`, '', '| table | inserted | updated | of which HOT | deleted | index entries |', '|---|---:|---:|---:|---:|---:|');
      for (const [table, t] of Object.entries(w.by_table).sort((a, b) => b[1].inserted + b[1].updated - (a[1].inserted + a[1].updated))) {
        L.push(`| ${table} | ${t.inserted} | ${t.updated} | ${t.hot_updated} | ${t.deleted} | ${t.index_entries} |`);
      }
      if (w.wal_by_relation) {
        L.push('', `WAL bytes per completed transfer by relation (pg_walinspect): ${Object.entries(w.wal_by_relation).map(([rel, b]) => `${rel} ${b}`).join(', ')}`);
      }
      if (w.wal_by_record) {
        L.push('', `The same by relation and record type: ${Object.entries(w.wal_by_record).map(([key, b]) => `${key} ${b}`).join(', ')}`);
      }
    }
    const x = m.cpu[m.cpu.length - 1]!.exchanges;
    if (x) {
      L.push('', `Messages between processes per transfer (last run, ${x.window_s} s inside the load, ~${x.transfers} transfers; TCP data segments by hop, writer -> reader): ${x.total} in all: ${Object.entries(x.by_hop).map(([hop, n]) => `${hop} ${n}`).join(', ')}`);
    }
    L.push('', `Postgres during the load (bench database only):`, '', ...pgTable(m.cpu[m.cpu.length - 1]!.step.pg), '');
  }
  if (m.batch.length) {
    L.push('## Batch ingest (POST /v1/batch)', '');
    L.push(
      '| run | items/batch | offered items/s | accepted items/s (over s; acked late) | ack p50 / p99 ms | errors | dropped | applied/s during | backlog at the end: not applied / PROCESSING | backlog COMPLETED/s after (over s) | sampled e2e p50 / p99 ms (n, not COMPLETED within the wait) | CPU |',
      '|---|---:|---:|---:|---|---:|---:|---:|---|---:|---|---|',
    );
    m.batch.forEach((b, i) =>
      L.push(
        `| ${i + 1} | ${b.items_per_batch} | ${b.offered_items_per_s} | ${b.rate_per_s} (${cell(b.ack_window_s)}; ${cell(b.acked_late)}) | ${cell(b.p50_ms)} / ${cell(b.p99_ms)} | ${b.errors} | ${b.dropped} | ${cell(b.completed_during_per_s)} | ${b.backlog_at_end ? `${b.backlog_at_end.not_applied} / ${b.backlog_at_end.processing}` : '-'} | ${cell(b.drained_per_s)} (${cell(b.drain_s)}) | ${b.e2e ? `${latency(b.e2e, 'p50_ms')} / ${latency(b.e2e, 'p99_ms')} (${b.e2e.n}, ${b.e2e.censored})` : '-'} | ${cpuLine(b.cpu)} |`,
      ),
    );
    L.push(
      '',
      'The load\'s window runs from its start for its duration: accepted items/s are the items acked within it per second of it (batches in flight at its end may be answered in k6\'s graceful stop: their items are acked late, counted apart and not in the rate), applied/s during the items COMPLETED by its end per second of it, and the backlog at the end is as it stood then by Postgres clocks (a row from its transaction\'s start, COMPLETED from the worker\'s batch clock; both before the commit, so a worker batch in flight then counts as done), the late items included. Backlog COMPLETED/s after: transfers of the backlog COMPLETED per second from the window\'s end until the first poll that found every accepted item terminal (polled every 100 ms); a PROCESSING transfer needs only its credit leg, so the figure depends on the backlog\'s make-up; "-" when the backlog took under 1 s, or was already terminal at the first poll (k6 exits after its graceful stop and its sampled long polls, so that end is not known).',
    );
    L.push('');
  }
  for (const mix of ['uniform', 'hot'] as const) {
    const runs = m.drain[mix];
    if (!runs.length) continue;
    L.push(`## 3. Worker drain, ${mix} (${runs[0]!.commands.toLocaleString('en-US')} commands${plan.drainCommands < 1_000_000 ? ', fewer than the 1,000,000 of a full run' : ''})`, '');
    L.push(
      '| run | applied/s | drain s | start-up s | all legs settled /s | finished | outcomes | CPU | CPU ms per command | until settled: CPU | CPU ms per settled transfer |',
      '|---|---:|---:|---:|---:|---|---|---|---|---|---|',
    );
    runs.forEach((d, i) =>
      L.push(
        `| ${i + 1} | ${cell(d.per_s)} | ${cell(d.drain_s)} | ${cell(d.startup_s)} | ${cell(d.settled_per_s)} | ${d.stalled ? `**stalled** at ${d.applied}` : d.timed_out ? `**timed out** at ${d.applied}` : 'yes'} | ${JSON.stringify(d.outcome)} | ${cpuLine(d.cpu)} | ${cpuPerItem(d.cpu, d.per_s)} | ${cpuLine(d.settled_cpu)} | ${cpuPerItem(d.settled_cpu, d.settled_per_s)} |`,
      ),
    );
    L.push(
      '',
      'CPU ms per command: over the drain window (first commit until every offset covers the backlog: the debits, and the credit legs applied meanwhile), per backlog command. CPU ms per settled transfer: over the settled window (until every transfer is terminal, credit legs included), per transfer: comparable with the ceiling\'s CPU ms per transfer (section 5).',
    );
    const last = runs[runs.length - 1]!;
    if (last.stalled || last.timed_out) L.push('', `The workers stopped applying before the backlog was done; their logs: ${last.worker_logs.map((p) => `\`${p}\``).join(', ')}`);
    L.push('', `Per partition (last run): ${last.per_partition.map((p) => `p${p.partition}: ${p.commands} in ${cell(p.done_s)} s`).join('; ')}`, '');
    const lp = last.last_partition;
    if (lp) L.push(`Done last: p${lp.partition} (${lp.commands} commands), ${cell(lp.shared_per_s)}/s while other partitions still had backlog, ${cell(lp.alone_per_s)}/s once the only one left (${cell(lp.alone_s)} s).`, '');
    L.push(`Postgres during the last run (bench database only):`, '', ...pgTable(last.pg), '');
  }
  if (m.baselineSweep.size || m.baselineSaturation.uniform.length) {
    L.push('## 4. Row-lock baseline (comparator only: loadtest/baseline/server.ts)', '');
    if (m.baselineSweep.size) {
      L.push('| offered/s | committed/s | p50 ms | p95 ms | p99 ms | errors | dropped | CPU |', '|---:|---:|---:|---:|---:|---:|---:|---|');
      for (const [rate, steps] of [...m.baselineSweep.entries()].sort((a, b) => a[0] - b[0])) {
        const s = medianStep(steps);
        L.push(`| ${rate} | ${cell(s.acked_per_s)} | ${cell(s.p50_ms)} | ${cell(s.p95_ms)} | ${cell(s.p99_ms)} | ${cell(s.errors)} | ${cell(s.dropped)} | ${cpuLine(steps[steps.length - 1]?.cpu ?? null)} |`);
      }
      L.push('');
    }
    for (const mix of ['uniform', 'hot'] as const) {
      const runs = m.baselineSaturation[mix];
      if (!runs.length) continue;
      const lastRun = runs[runs.length - 1]!;
      L.push(
        `Saturation, ${mix} (${plan.baselineVus} closed-loop clients): ${runs.map((s) => `${s.acked_per_s}/s (p99 ${s.p99_ms} ms, ${s.errors} errors)`).join(', ')}; CPU ${cpuLine(lastRun.cpu)}; CPU ms per transfer: ${cpuPerItem(lastRun.cpu, lastRun.acked_per_s)}`,
      );
      L.push('');
      L.push(...pgTable(runs[runs.length - 1]!.pg), '');
    }
  }
  if (m.ceiling.length) {
    L.push('## 5. Ceiling: Postgres alone applying writeBatch', '');
    L.push('| run | transfers/s | batches | commands/batch | commit p50 ms | commit p99 ms | CPU |', '|---|---:|---:|---:|---:|---:|---|');
    m.ceiling.forEach((c, i) =>
      L.push(`| ${i + 1} | ${c.per_s} | ${c.batches} | ${c.batch_commands_avg} | ${cell(c.commit_ms.p50)} | ${cell(c.commit_ms.p99)} | ${cpuLine(c.cpu)}; per transfer (ms): ${cpuPerItem(c.cpu, c.per_s)} |`),
    );
    L.push('', ...pgTable(m.ceiling[m.ceiling.length - 1]!.pg), '');
  }
  if (m.ideal.length) {
    L.push('## 6. Ideal: PostgreSQL alone, smallest double-entry schema', '');
    L.push('| run | transfers/s | writers | batch | batches | commit p50 / p99 ms | WAL bytes per transfer | CPU |', '|---|---:|---:|---:|---:|---|---:|---|');
    m.ideal.forEach((r, i) =>
      L.push(`| ${i + 1} | ${r.per_s} | ${r.writers} | ${r.batch_transfers} | ${r.batches} | ${cell(r.commit_ms.p50)} / ${cell(r.commit_ms.p99)} | ${cell(r.wal_bytes_per_transfer)} | ${cpuLine(r.cpu)} |`),
    );
    L.push('');
  }
  if (m.scenarios.length) {
    L.push('## k6 scenarios (smoke run against the bench API)', '');
    L.push('| scenario | thresholds | acked/s | p95 ms | p99 ms | errors | dropped | money moved | crossed |', '|---|---|---:|---:|---:|---:|---:|---|---|');
    for (const s of m.scenarios) {
      L.push(`| ${s.scenario} | ${s.passed ? 'passed' : '**crossed**'} | ${s.acked_per_s} | ${cell(s.p95_ms)} | ${cell(s.p99_ms)} | ${s.errors} | ${s.dropped} | ${s.money_moved ? `${round(s.money_moved.rate * 100, 1)}% of ${s.money_moved.n}` : '-'} | ${s.thresholds_crossed.join('; ') || '-'} |`);
    }
    const ramp = m.scenarios.find((s) => s.scenario === 'ramp');
    if (ramp?.computed) L.push('', `ramp: highest sustained rate ${cell(ramp.computed.highest_sustained_per_s)}/s`);
    L.push('');
  }
  if (m.profiles.length) {
    L.push('## CPU profiles (node --cpu-prof)', '');
    for (const p of m.profiles) {
      L.push(`### ${p.file} (${p.duration_s} s, busy ${p.busy_pct}%)`, '');
      L.push(`By area: ${p.by_area.map((a) => `${a.area} ${a.self_pct}%`).join(', ')}`, '');
      L.push('| self | function | where |', '|---:|---|---|');
      for (const f of p.top_functions.slice(0, 12)) L.push(`| ${f.self_pct}% | ${f.name} | ${f.where} |`);
      if (p.top_inclusive_ours.length) {
        L.push('', `Our code by inclusive time (synchronous stacks only): ${p.top_inclusive_ours.slice(0, 10).map((f) => `${f.name} ${f.total_pct}%`).join(', ')}`);
      }
      L.push('');
    }
  }
  if (m.acceptedRecordsLeft) {
    const a = m.acceptedRecordsLeft;
    L.push(
      '## ACCEPTED records left in Redis',
      '',
      `Once the API phases' commands were all applied, Redis held ${a.records.toLocaleString('en-US')} ACCEPTED records for ${a.resources.toLocaleString('en-US')} transfers and holds (${(a.per_resource * 100).toFixed(3)}%): records no applied mark replaced, which expire after API_ACCEPTED_TTL_S (the marks themselves are not counted).`,
      '',
    );
  }
  if (m.reconcile) {
    L.push('## Reconcile cost', '', `One full reconcile() of the bench ledger (${m.reconcile.entries.toLocaleString('en-US')} entries) took ${m.reconcile.seconds} s; violations ${JSON.stringify(m.reconcile.violations)}. The worker assigned partition 0 runs it every WORKER_RECONCILE_INTERVAL_MS (300 s by default, one run at a time, one worker at a time); the bench turns it off during measurements.`, '');
  }
  L.push('## Method', '');
  for (const [k, v] of Object.entries((r.details as { definitions: Record<string, string> }).definitions)) L.push(`- **${k}**: ${v}`);
  L.push(`- Raw k6 summaries, logs and profiles: \`${input.runDir}\``);
  L.push('');
  return `${L.join('\n')}\n`;
}
