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
import type { Pool } from 'pg';
import { type KafkaAdmin, topicNames } from '@ledgerline/kafka';
import { type BenchContext, cpuMeter } from './context';
import type { CpuReport } from './cpu';
import { type CensoredPercentiles, type K6Figures, runK6 } from './k6run';
import type { Managed } from './processes';
import { waitSettled } from './services';
import { log, round, sleep } from './util';

export const BATCH_SCRIPT = 'loadtest/k6/batch.js';
/** A backlog applied faster than this is reported without a rate (drained_per_s null). */
const DRAIN_TIMED_S_MIN = 1;
const DRAIN_POLL_MS = 100;

/**
 * When (driver clock) at least `accepted` transfers of `tag` were terminal, and whether the
 * first poll already found them so (then it happened at some unknown time before); null on timeout.
 */
async function waitTerminal(ctx: BenchContext, tag: string, accepted: number, timeoutMs: number): Promise<{ at: number; atFirstPoll: boolean } | null> {
  const deadline = Date.now() + timeoutMs;
  for (let poll = 0; Date.now() < deadline; poll++) {
    const r = await ctx.pool.query("SELECT count(*)::int AS n FROM transfers WHERE description = $1 AND status IN ('COMPLETED', 'REJECTED')", [tag]);
    if (Number(r.rows[0].n) >= accepted) return { at: Date.now(), atFirstPoll: poll === 0 };
    await sleep(DRAIN_POLL_MS);
  }
  return null;
}

/** The batch's transfers as they stood at `at`, from Postgres clocks (see batchRates). */
export interface BacklogAt {
  completed: number;
  /** Rows written (the debit leg, or the whole transfer, applied). */
  rows: number;
  processing: number;
}

export interface BatchRatesInput {
  /** Every item acked, the graceful stop's included. */
  acked: number;
  /** Items acked within the load's window (K6Figures.acked_in_window); null without the window. */
  ackedInWindow: number | null;
  window: K6Figures['window'];
  /** At the load's end (window.end_ms); null when that is not known. */
  atEnd: BacklogAt | null;
  terminal: { at: number; atFirstPoll: boolean } | null;
  /** COMPLETED once every accepted item was terminal. */
  completedAfter: number;
}

/**
 * The phase's rates, each over the time its label names. The load's window runs from its
 * start for DURATION: items accepted within it and items COMPLETED by its end, per second of
 * it, and the backlog left at its end applied per second from then until the first poll that
 * found every item terminal. Batches in flight when DURATION ends may still be answered in k6's
 * graceful stop: their items are acked late, not counted in the rate (reported apart), and
 * are part of the backlog at the end. Until an outside review, the accepted items were divided
 * by DURATION alone (193,500 items reported as 6,450/s, acked over 39 s), and then by the time
 * from the start to the last ack, which a straggler stretched and acks that stopped early
 * shrank: 15,000/s for 20 s and nothing after would have read 15,000/s "for 30 s".
 */
export function batchRates(input: BatchRatesInput): Pick<BatchIngestResult, 'rate_per_s' | 'completed_during_per_s' | 'backlog_at_end' | 'drained_per_s' | 'drain_s'> {
  const { acked, ackedInWindow, window, atEnd, terminal, completedAfter } = input;
  const loadEnd = window?.end_ms ?? null;
  const drainS = terminal === null || loadEnd === null ? null : (terminal.at - loadEnd) / 1000;
  // A drain already over at the first poll ended at an unknown time before it: not a rate.
  const timed = drainS !== null && terminal !== null && !terminal.atFirstPoll && drainS >= DRAIN_TIMED_S_MIN;
  return {
    rate_per_s: window === null ? 0 : Math.round((ackedInWindow ?? acked) / window.seconds),
    completed_during_per_s: atEnd === null || window === null || loadEnd === null ? null : Math.round(atEnd.completed / window.seconds),
    backlog_at_end: atEnd === null ? null : { not_applied: Math.max(0, acked - atEnd.rows), processing: atEnd.processing },
    drained_per_s: timed && atEnd !== null && completedAfter > atEnd.completed ? Math.round((completedAfter - atEnd.completed) / drainS) : null,
    drain_s: round(drainS, 2),
  };
}

/**
 * The batch's transfers at `at` by Postgres clocks: a row counts from `applied_at` (its
 * transaction's start), COMPLETED from `completed_at` (the worker's batch clock). Both are
 * taken before the commit, so a worker batch in flight at `at` counts as done by then: an
 * overstatement of one batch's write, at most. Read after the fact because a count of the
 * batch's rows scans the whole transfers table (no index on description): polled during the
 * load it would take a share of the cores the load is measuring.
 */
export async function backlogAt(pool: Pool, tag: string, at: number): Promise<BacklogAt> {
  const r = await pool.query(
    `SELECT count(*) FILTER (WHERE status = 'COMPLETED' AND completed_at <= $2)::int AS completed,
            count(*) FILTER (WHERE applied_at <= $2)::int AS rows,
            count(*) FILTER (WHERE applied_at <= $2 AND (completed_at IS NULL OR completed_at > $2))::int AS processing
       FROM transfers WHERE description = $1`,
    [tag, new Date(at)],
  );
  return { completed: Number(r.rows[0].completed), rows: Number(r.rows[0].rows), processing: Number(r.rows[0].processing) };
}
export const BATCH_ROUTE = '/v1/batch';

export interface BatchIngestResult {
  items_per_batch: number;
  offered_items_per_s: number;
  /** Items accepted (202 within a 202 batch) within the load's window, per second of it (batchRates). */
  rate_per_s: number;
  /** From a batch's first attempt to its 202, refusals and Retry-After waits included. */
  p50_ms: number | null;
  p99_ms: number | null;
  /** Seconds of the load's window rate_per_s is counted over: the batches' DURATION. */
  ack_window_s: number | null;
  /** Items acked after the window, in k6's graceful stop: not in rate_per_s. */
  acked_late: number | null;
  /** The accepted attempt alone. */
  attempt_p99_ms: number | null;
  batches: number;
  /** 429 answers (the API busy) that k6 retried after Retry-After with the same key. */
  refusals: number;
  errors: number;
  dropped: number;
  /**
   * Transfers COMPLETED per second after the load stopped: from the load's end (its window's)
   * until the first poll (every DRAIN_POLL_MS) that found every accepted item terminal, the
   * late ones included. Null when that took under DRAIN_TIMED_S_MIN (too short to be a rate),
   * never happened, or was over by the first poll (k6 exits after its graceful stop and its
   * sampled long polls: the end is then not known).
   */
  drained_per_s: number | null;
  /** Seconds from the load's end to that poll. */
  drain_s: number | null;
  /**
   * The backlog when the load stopped (its window's end, by Postgres clocks: backlogAt): items
   * accepted, the late ones included (in flight then), with no row yet (both legs to apply, or
   * the whole transfer) and PROCESSING ones
   * (debit leg applied, the credit leg to apply). drained_per_s counts both alike: a backlog
   * of PROCESSING transfers drains at up to twice the rate of one not yet applied.
   */
  backlog_at_end: { not_applied: number; processing: number } | null;
  /** Items COMPLETED per second while the load ran: by its window's end, over the same window as rate_per_s. */
  completed_during_per_s: number | null;
  /** The sampled items, 202 -> COMPLETED, censored at the long poll's wait (k6run.ts). */
  e2e: CensoredPercentiles | null;
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
  const f = run.figures;
  const batches = run.summary.metrics.ack_ms?.values.count;
  if (batches === undefined) throw new Error(`${BATCH_SCRIPT} answered no batch with 202; see ${run.logPath}`);
  const loadEnd = f.window?.end_ms ?? null;
  const atEnd = loadEnd === null ? null : await backlogAt(ctx.pool, tag, loadEnd);
  // Until every accepted item is terminal, on the driver's clock, DRAIN_POLL_MS apart: neither
  // waitSettled's two quiet polls 250 ms apart nor completed_at (the worker's batch clock,
  // taken before the batch is written: it can precede the load's end) time a drain of seconds.
  const terminal = await waitTerminal(ctx, tag, f.acked, ctx.plan.settleTimeoutS * 1000);
  const settled = await waitSettled(ctx.pool, admin, topic, ctx.plan.settleTimeoutS * 1000);
  const completedAfter = Number((await ctx.pool.query("SELECT count(*)::int AS n FROM transfers WHERE description = $1 AND status = 'COMPLETED'", [tag])).rows[0].n);
  const rates = batchRates({ acked: f.acked, ackedInWindow: f.acked_in_window, window: f.window, atEnd, terminal, completedAfter });
  const result: BatchIngestResult = {
    items_per_batch: items,
    offered_items_per_s: batchesPerS * items,
    rate_per_s: rates.rate_per_s,
    ack_window_s: round(f.window?.seconds, 1),
    acked_late: f.acked_late,
    p50_ms: round(f.p50_ms, 1),
    p99_ms: round(f.p99_ms, 1),
    attempt_p99_ms: round(run.summary.metrics.batch_attempt_ms?.values['p(99)'] ?? null, 1),
    batches,
    refusals: run.summary.metrics.batch_refused?.values.count ?? 0,
    errors: f.errors,
    dropped: f.dropped,
    drained_per_s: rates.drained_per_s,
    drain_s: rates.drain_s,
    backlog_at_end: rates.backlog_at_end,
    completed_during_per_s: rates.completed_during_per_s,
    e2e: f.e2e,
    cpu,
  };
  log(
    `batch ingest: ${result.rate_per_s} items/s accepted within the ${result.ack_window_s ?? '-'} s of load (${result.acked_late ?? '-'} more acked late, in k6's graceful stop; ${items} per batch, ${batchesPerS} batches/s offered), ack p50/p99 ${result.p50_ms}/${result.p99_ms} ms from the first attempt (accepted attempt p99 ${result.attempt_p99_ms ?? '-'} ms), ${result.refusals} refusals retried after Retry-After, ${result.errors} failed, ${result.dropped} batches dropped by k6; ` +
      `backlog of ${atEnd === null ? '-' : completedAfter - atEnd.completed} at the load's end (${result.backlog_at_end?.not_applied ?? '-'} not applied, ${result.backlog_at_end?.processing ?? '-'} PROCESSING) applied at ${result.drained_per_s ?? '-'}/s after it, ` +
      `the last ${result.drain_s ?? '-'} s after it${terminal?.atFirstPoll ? ' or sooner (already terminal at the first poll)' : ''} (${settled.ms === null ? `not settled: ${settled.reason}` : `settled in ${settled.ms} ms`})`,
  );
  return result;
}
