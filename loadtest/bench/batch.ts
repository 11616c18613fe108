/**
 * Batch ingest (`batch_ingest`): k6 posts `POST /v1/batch` requests of `batchItems` transfers
 * at `batchItemsPerS` items per second for `batchDurationS`, then the workers apply the
 * backlog. Reported: items accepted per second, batch ack p99, and how fast the backlog was
 * applied once the load stopped (`drained_per_s`).
 *
 * Needs the batch route (docs/api.md, Batch submission) and its k6 scenario `loadtest/k6/batch.js`; until both are
 * there the phase reports itself as not available instead of measuring something else.
 * The scenario's interface as the bench uses it: env RATE (batches per second), ITEMS (items
 * per batch), DURATION, RUN_TAG (each item's description); its `ack_ms` is one sample per
 * batch answered 202, `transfers_acked` counts accepted items and `transfer_failed` items
 * refused (or all of a batch that was not answered 202), `batch_refused` the 429s it retried.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type KafkaAdmin, topicNames } from '@ledgerline/kafka';
import { type BenchContext, cpuMeter } from './context';
import type { CpuReport } from './cpu';
import { runK6 } from './k6run';
import type { Managed } from './processes';
import { waitSettled } from './services';
import { log, round, sleep } from './util';

export const BATCH_SCRIPT = 'loadtest/k6/batch.js';
/** A backlog applied faster than this is reported without a rate (drained_per_s null). */
const DRAIN_TIMED_S_MIN = 1;
const DRAIN_POLL_MS = 100;

/** When (driver clock) at least `accepted` transfers of `tag` were terminal; null on timeout. */
async function waitTerminal(ctx: BenchContext, tag: string, accepted: number, timeoutMs: number): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await ctx.pool.query("SELECT count(*)::int AS n FROM transfers WHERE description = $1 AND status IN ('COMPLETED', 'REJECTED')", [tag]);
    if (Number(r.rows[0].n) >= accepted) return Date.now();
    await sleep(DRAIN_POLL_MS);
  }
  return null;
}
export const BATCH_ROUTE = '/v1/batch';

export interface BatchIngestResult {
  items_per_batch: number;
  offered_items_per_s: number;
  /** Items accepted (202 within a 202 batch) per second of load. */
  rate_per_s: number;
  /** From a batch's first attempt to its 202, refusals and Retry-After waits included. */
  p50_ms: number | null;
  p99_ms: number | null;
  /** The accepted attempt alone. */
  attempt_p99_ms: number | null;
  batches: number;
  /** 429 answers (the API busy) that k6 retried after Retry-After with the same key. */
  refusals: number;
  errors: number;
  dropped: number;
  /**
   * Transfers COMPLETED per second after the load stopped: from the load's end until every
   * accepted item is terminal (polled every DRAIN_POLL_MS). Null when that took under
   * DRAIN_TIMED_S_MIN (too short to be a rate) or never happened.
   */
  drained_per_s: number | null;
  /**
   * The backlog when the load stopped: accepted items with no row yet (both legs to apply, or
   * the whole transfer) and PROCESSING ones (debit leg applied, the credit leg to apply).
   * drained_per_s counts both alike: a backlog of PROCESSING transfers drains at up to twice
   * the rate of one not yet applied.
   */
  backlog_at_end: { not_applied: number; processing: number } | null;
  /** Items COMPLETED per second while the load ran. */
  completed_during_per_s: number | null;
  cpu: CpuReport | null;
}

/** Why the phase cannot run yet, or null when it can. */
export async function batchUnavailable(ctx: BenchContext): Promise<string | null> {
  if (!existsSync(join(ctx.repoRoot, BATCH_SCRIPT))) return `${BATCH_SCRIPT} does not exist (the batch scenario)`;
  try {
    const res = await fetch(`http://127.0.0.1:${ctx.plan.apiPort}/openapi.json`, { signal: AbortSignal.timeout(5_000) });
    const spec = (await res.json()) as { paths?: Record<string, unknown> };
    if (!spec.paths || !(BATCH_ROUTE in spec.paths)) return `the ingest API has no ${BATCH_ROUTE} route (docs/api.md, Batch submission)`;
  } catch (error) {
    return `could not read the API's /openapi.json: ${(error as Error).message}`;
  }
  return null;
}

export async function measureBatchIngest(ctx: BenchContext, procs: { api: Managed; workers: Managed[] }, admin: KafkaAdmin, rep: number): Promise<BatchIngestResult> {
  const { batchItems: items, batchItemsPerS, batchDurationS: durationS } = ctx.plan;
  const batchesPerS = Math.max(1, Math.round(batchItemsPerS / items));
  const tag = `${ctx.runId}-batch-${rep}`;
  const topic = topicNames(ctx.mainPrefix).commands;
  let meter = cpuMeter(ctx, { api: [procs.api], workers: procs.workers }, {}, 'k6');
  const run = await runK6({
    k6Bin: ctx.k6Bin,
    runDir: ctx.runDir,
    script: join(ctx.repoRoot, BATCH_SCRIPT),
    name: `batch-${items}x${batchesPerS}-r${rep}`,
    loadSeconds: durationS,
    env: {
      BASE_URL: `http://127.0.0.1:${ctx.plan.apiPort}`,
      JWT_SECRET: ctx.jwtSecret,
      FIXTURE: ctx.fixturePath,
      CURRENCY: ctx.fixture.currency,
      RUN_TAG: tag,
      DURATION: `${durationS}s`,
      RATE: String(batchesPerS),
      ITEMS: String(items),
      // Follow a few items of one batch in 50 to COMPLETED (status only): a check, not a load.
      BATCH_SAMPLE_EVERY: '50',
      VERIFY: 'status',
      P95_MS: '250',
      P99_MS: '250',
      ERROR_RATE_MAX: '0',
      DROPPED_MAX: '0',
    },
    onSpawn: () => {
      meter = cpuMeter(ctx, { api: [procs.api], workers: procs.workers }, {}, 'k6');
      meter.begin();
    },
  });
  const cpu = meter.end();
  const count = async () => Number((await ctx.pool.query("SELECT count(*)::int AS n FROM transfers WHERE description = $1 AND status = 'COMPLETED'", [tag])).rows[0].n);
  const atEnd = await ctx.pool.query(
    `SELECT count(*) FILTER (WHERE status = 'COMPLETED')::int AS completed, count(*) FILTER (WHERE status = 'PROCESSING')::int AS processing,
            count(*)::int AS rows
       FROM transfers WHERE description = $1`,
    [tag],
  );
  const endedAt = Date.now();
  const appliedAtEnd = Number(atEnd.rows[0].completed);
  // Until every accepted item is terminal, on the driver's clock, DRAIN_POLL_MS apart: neither
  // waitSettled's two quiet polls 250 ms apart nor completed_at (the worker's batch clock,
  // taken before the batch is written: it can precede the load's end) time a drain of seconds.
  const doneAt = await waitTerminal(ctx, tag, run.figures.acked, ctx.plan.settleTimeoutS * 1000);
  const settled = await waitSettled(ctx.pool, admin, topic, ctx.plan.settleTimeoutS * 1000);
  const appliedAfter = await count();
  const f = run.figures;
  const batches = run.summary.metrics.ack_ms?.values.count;
  if (batches === undefined) throw new Error(`${BATCH_SCRIPT} answered no batch with 202; see ${run.logPath}`);
  const drainS = doneAt === null ? null : (doneAt - endedAt) / 1000;
  const result: BatchIngestResult = {
    items_per_batch: items,
    offered_items_per_s: batchesPerS * items,
    rate_per_s: Math.round(f.acked / durationS),
    p50_ms: round(f.p50_ms, 1),
    p99_ms: round(f.p99_ms, 1),
    attempt_p99_ms: round(run.summary.metrics.batch_attempt_ms?.values['p(99)'] ?? null, 1),
    batches,
    refusals: run.summary.metrics.batch_refused?.values.count ?? 0,
    errors: f.errors,
    dropped: f.dropped,
    drained_per_s: drainS !== null && drainS >= DRAIN_TIMED_S_MIN && appliedAfter > appliedAtEnd ? Math.round((appliedAfter - appliedAtEnd) / drainS) : null,
    backlog_at_end: { not_applied: Math.max(0, f.acked - Number(atEnd.rows[0].rows)), processing: Number(atEnd.rows[0].processing) },
    completed_during_per_s: Math.round(appliedAtEnd / durationS),
    cpu,
  };
  log(
    `batch ingest: ${result.rate_per_s} items/s accepted (${items} per batch, ${batchesPerS} batches/s offered), ack p50/p99 ${result.p50_ms}/${result.p99_ms} ms from the first attempt (accepted attempt p99 ${result.attempt_p99_ms ?? '-'} ms), ${result.refusals} refusals retried after Retry-After, ${result.errors} failed, ${result.dropped} batches dropped by k6; ` +
      `backlog of ${appliedAfter - appliedAtEnd} (${result.backlog_at_end?.not_applied} not applied, ${result.backlog_at_end?.processing} PROCESSING) applied at ${result.drained_per_s ?? '-'}/s after the load, ` +
      `the last ${drainS === null ? '-' : round(drainS, 2)} s after it (${settled.ms === null ? `not settled: ${settled.reason}` : `settled in ${settled.ms} ms`})`,
  );
  return result;
}
