/**
 * Ceiling: PostgreSQL alone applying the worker's own batched statements, with Kafka, the
 * consumer, decoding and the account/dedupe reads taken away.
 *
 * One async loop per partition does what a warm PartitionApplier does per chunk: take up to
 * `batchCommands` commands, `applyBatch` them against the partition's in-memory account
 * states, and `writeBatch` the effects in ONE transaction through PgBouncer (fence, entries,
 * balances, transfers, legs, and outbox rows as the worker stores them, `outboxRowsOf`: the
 * very statements the worker sends). Credit legs of cross-partition transfers go straight to
 * the destination partition's queue instead of through the outbox relay and Kafka, so a
 * transfer costs its two legs, as in production.
 *
 * Counted: transfers COMPLETED per second (same-partition completions plus credit legs
 * applied) between the warm-up and the end. Not included: the worker's per-batch dedupe
 * read (loadAppliedKeys), its account loads after a cache miss, and marking outbox rows
 * published; so this is an upper bound for the worker, not a prediction.
 */
import { performance } from 'node:perf_hooks';
import { type AccountState, type Command, applyBatch, externalAccountId, transitAccountId } from '@ledgerline/domain';
import { type PartitionClaim, claimPartition, createPool, loadAccountStates, withDatabase, writeBatch } from '@ledgerline/postgres';
import { LOCAL_DEFAULTS } from '@ledgerline/config';
import { CommandSeal } from '@ledgerline/schemas';
import { outboxRowsOf } from '../../apps/partition-worker/src/outbox-messages';
import type { BenchContext } from './context';
import type { PgReport } from './pgstats';
import { cpuMeter, pgMeter } from './context';
import type { CpuReport } from './cpu';
import { log, percentileSorted, round, sleep } from './util';
import { type Mix, PairPicker, nextTransfer, seededRandom } from './workload';

/** The ceiling's batches hold no operator command, so this seal never seals anything. */
const NO_OPERATOR_COMMANDS = new CommandSeal(LOCAL_DEFAULTS.commandKey);

const LOAD_CHUNK = 5_000;
const GENERATE_CHUNK = 1_000;
/** Rounds of leg-only batches after the measurement, to leave no transfer half-way. */
const FINISH_ROUNDS_MAX = 50;

export interface CeilingResult {
  mix: Mix;
  per_s: number;
  duration_s: number;
  batches: number;
  batch_commands_avg: number;
  commit_ms: { p50: number | null; p99: number | null };
  left_processing: number;
  cpu: CpuReport | null;
  pg: PgReport | null;
}

interface PartitionLane {
  partition: number;
  claim: PartitionClaim;
  states: Map<string, AccountState>;
  queue: Command[];
}

export async function measureCeiling(ctx: BenchContext, mix: Mix, rep: number): Promise<CeilingResult> {
  const { partitions, ceilingBatchCommands: batchMax, ceilingDurationS, ceilingWarmupS } = ctx.plan;
  const pool = createPool({
    connectionString: withDatabase(ctx.services.databaseUrl, ctx.benchDb),
    connectionsMax: partitions + 2,
    connectTimeoutMs: 10_000,
    applicationName: 'bench-ceiling',
  });
  const topic = `${ctx.runId}.ceiling-${mix}-${rep}`;
  const tag = `${ctx.runId}-ceiling-${mix}-${rep}`;
  const routing = ctx.routing;
  const partitionOf = (id: string) => routing.partitionOf(id);
  try {
    const lanes = await loadLanes(ctx, pool, topic, partitions);
    const random = seededRandom(3_000 + rep);
    const picker = new PairPicker(ctx.fixture.accounts, ctx.fixture.merchant, mix, random);
    let serial = 0;
    const generate = () => {
      for (let i = 0; i < GENERATE_CHUNK; i++) {
        const run = { currency: ctx.fixture.currency, tag, acceptedAt: new Date().toISOString() };
        const command = nextTransfer(picker, random, run, `${tag}-${serial++}`);
        lanes[partitionOf(command.fromAccountId)]!.queue.push(command);
      }
    };

    const started = performance.now();
    const measureFrom = started + ceilingWarmupS * 1000;
    const measureTo = measureFrom + ceilingDurationS * 1000;
    let completed = 0;
    let batches = 0;
    let commandsApplied = 0;
    const commitMs: number[] = [];
    let generating = true;
    const cpu = cpuMeter(ctx, {}, { 'bench-driver (applyBatch + pg client)': [process.pid] });
    const pg = pgMeter(ctx, ctx.benchDb);
    let metersStarted = false;

    // Bounded queues: a slow (hot) partition must not let the generator run away with memory.
    const queueMax = batchMax * 10;
    const canGenerate = () => generating && lanes.every((l) => l.queue.length < queueMax);
    const runLane = async (lane: PartitionLane, finishing: () => boolean) => {
      for (;;) {
        while (lane.queue.length < batchMax && canGenerate()) generate();
        if (lane.queue.length === 0) {
          if (finishing()) return;
          await sleep(1);
          continue;
        }
        const commands = lane.queue.splice(0, batchMax);
        const now = new Date().toISOString();
        const effects = applyBatch({ partition: lane.partition, now, accounts: lane.states, partitionOf, alreadyApplied: new Set() }, commands);
        const outbox = outboxRowsOf(effects, [], NO_OPERATOR_COMMANDS);
        const fromOffset = lane.claim.nextOffset;
        const toOffset = fromOffset + BigInt(commands.length);
        const t0 = performance.now();
        await writeBatch(pool, { claim: lane.claim, fromOffset, toOffset, effects, before: lane.states, outbox });
        const t1 = performance.now();
        lane.claim.nextOffset = toOffset;
        for (const account of effects.accounts) lane.states.set(account.id, account);
        for (const item of effects.outbox) if (item.kind === 'COMMAND') lanes[item.partition]!.queue.push(item.command);
        if (t1 >= measureFrom && t1 < measureTo) {
          if (!metersStarted) {
            metersStarted = true;
            cpu.begin();
            void pg.begin();
          }
          batches++;
          commandsApplied += commands.length;
          commitMs.push(t1 - t0);
          for (const outcome of effects.outcomes) if (outcome.result === 'COMPLETED' || outcome.result === 'LEG_APPLIED') completed++;
        }
      }
    };

    let stopLoad = false;
    const timer = setTimeout(() => {
      stopLoad = true;
      generating = false;
    }, measureTo - started);
    log(`ceiling ${mix}: ${partitions} partition loops, batches of ${batchMax}, ${ceilingWarmupS} s warm-up + ${ceilingDurationS} s`);
    await Promise.all(lanes.map((lane) => runLane(lane, () => stopLoad)));
    clearTimeout(timer);
    const cpuReport = cpu.end();
    const pgReport = await pg.end();
    // Finish every saga (leg-only batches) so the bench ledger is left consistent.
    for (let round = 0; round < FINISH_ROUNDS_MAX && lanes.some((l) => l.queue.length > 0); round++) {
      await Promise.all(lanes.map((lane) => runLane(lane, () => true)));
    }
    // The ceiling relays nothing (legs went straight to the queues): its outbox rows are done.
    await pool.query('UPDATE outbox SET published_at = now() WHERE published_at IS NULL');
    const left = await pool.query("SELECT count(*)::int AS n FROM transfers WHERE status = 'PROCESSING' AND description = $1", [tag]);
    commitMs.sort((a, b) => a - b);
    const result: CeilingResult = {
      mix,
      per_s: Math.round(completed / ceilingDurationS),
      duration_s: ceilingDurationS,
      batches,
      batch_commands_avg: batches ? Math.round(commandsApplied / batches) : 0,
      commit_ms: { p50: round(percentileSorted(commitMs, 50), 1), p99: round(percentileSorted(commitMs, 99), 1) },
      left_processing: Number(left.rows[0].n),
      cpu: cpuReport,
      pg: pgReport,
    };
    log(`ceiling ${mix}: ${result.per_s} transfers/s completed (${batches} batches of ~${result.batch_commands_avg}, commit p50 ${result.commit_ms.p50} ms)`);
    return result;
  } finally {
    await pool.end();
  }
}

async function loadLanes(ctx: BenchContext, pool: ReturnType<typeof createPool>, topic: string, partitions: number): Promise<PartitionLane[]> {
  const ids = [...ctx.fixture.accounts.map((a) => a.id), ctx.fixture.merchant.id];
  for (let p = 0; p < partitions; p++) {
    ids.push(transitAccountId(p, ctx.fixture.currency), externalAccountId(p, ctx.fixture.currency));
  }
  const states = new Map<string, AccountState>();
  for (let i = 0; i < ids.length; i += LOAD_CHUNK) {
    for (const [id, state] of await loadAccountStates(pool, ids.slice(i, i + LOAD_CHUNK))) states.set(id, state);
  }
  const lanes: PartitionLane[] = [];
  for (let p = 0; p < partitions; p++) {
    const claim = await claimPartition(pool, topic, p, 'bench-ceiling');
    const owned = new Map<string, AccountState>();
    for (const [id, state] of states) {
      const isSystem = state.kind !== 'USER';
      if (isSystem ? id === transitAccountId(p, state.currency) || id === externalAccountId(p, state.currency) : ctx.routing.partitionOf(id) === p) {
        owned.set(id, state);
      }
    }
    lanes.push({ partition: p, claim, states: owned, queue: [] });
  }
  return lanes;
}
