/**
 * Worker drain: how fast the partition workers apply a backlog already sitting in Kafka.
 *
 * 1. A fresh topic prefix; N TRANSFER commands produced while no worker runs, encoded with
 *    `encodeCommand` exactly as the API publishes them, each to the partition the routing
 *    table gives its source account (big batches, acks=all).
 * 2. The workers (2 processes, as `npm start` runs them) start; the driver polls
 *    partition_state until every partition's stored next_offset covers what was produced.
 *    The rate is counted from the first commit seen (process start-up, tsx compilation and
 *    the consumer-group join are reported apart, as `startup_s`) to the last partition done.
 * 3. Cross-partition transfers then still have their credit legs to apply (they were
 *    appended to the destination partitions by the outbox relay); `settled_per_s` counts
 *    until every transfer is terminal.
 */
import { BulkProducer, KafkaAdmin, type OutgoingMessage, topicNames } from '@ledgerline/kafka';
import { encodeCommand } from '@ledgerline/schemas';
import { type BenchContext, cpuMeter, pgMeter, startWorkers } from './context';
import type { CpuMeter, CpuReport, CpuSnapshot } from './cpu';
import { type LastPartition, LastPartitionTracker } from './last-partition';
import type { PgReport } from './pgstats';
import type { Managed } from './processes';
import { STALL_MS, type Settled, createTopics, partitionOffsets, waitSettled } from './services';
import { log, round, sleep } from './util';
import { type Mix, PairPicker, nextTransfer, seededRandom } from './workload';

const PRODUCE_CHUNK = 4_000;
/**
 * Kafka refuses a record batch above the broker's message.max.bytes (1 MiB by default), and
 * a produce request carries one batch per partition. The hot mix sends ~46% of a chunk to
 * the merchant's partition: ~1,850 commands of ~500 bytes, close enough to the limit that a
 * quick run's fixture tipped it over. So a chunk also ends at this many for one partition.
 */
const PRODUCE_PARTITION_MESSAGES_MAX = 1_000;
const PRODUCE_IN_FLIGHT_MAX = 4;
const POLL_MS = 200;

export interface DrainResult {
  mix: Mix;
  commands: number;
  topic: string;
  produce_per_s: number | null;
  /** From the workers' spawn to their first commit (start-up, group join, claims). */
  startup_s: number | null;
  drain_s: number | null;
  per_s: number | null;
  settled_s: number | null;
  settled_per_s: number | null;
  timed_out: boolean;
  /** The workers stopped applying with the backlog not done (see the worker logs). */
  stalled: boolean;
  /** Commands of the backlog applied (= commands unless timed out or stalled). */
  applied: number;
  per_partition: { partition: number; commands: number; done_s: number | null }[];
  /** The partition done last: its rate while others ran and once alone (last-partition.ts). */
  last_partition: LastPartition | null;
  outcome: Record<string, number>;
  worker_logs: string[];
  /** CPU from the first commit until the last partition's offset covers the backlog (drain_s). */
  cpu: CpuReport | null;
  /**
   * CPU from the first commit until every transfer of the backlog is terminal (settled_s):
   * the window settled_per_s is counted over, credit legs included, so the drain's CPU per
   * settled transfer compares with the ceiling's per transfer. Null when it did not settle.
   */
  settled_cpu: CpuReport | null;
  pg: PgReport | null;
}

export async function measureDrain(ctx: BenchContext, mix: Mix, commands: number, rep: number): Promise<DrainResult> {
  const prefix = `${ctx.runId}d${mix === 'uniform' ? 'u' : 'h'}${rep}`;
  const topic = topicNames(prefix).commands;
  const tag = `${ctx.runId}-drain-${mix}-${rep}`;
  await createTopics(ctx.kafka, prefix, ctx.plan.partitions);
  ctx.prefixes.push(prefix);

  const admin = new KafkaAdmin(ctx.kafka);
  let workers: Managed[] = [];
  try {
    const produceStarted = Date.now();
    await produceBacklog(ctx, topic, tag, mix, commands, rep);
    const produceS = (Date.now() - produceStarted) / 1000;
    const targets = await admin.highWatermarks(topic);
    const produced = [...targets.values()].reduce((a, b) => a + b, 0n);
    if (produced !== BigInt(commands)) throw new Error(`drain ${mix}: topic holds ${produced} messages, produced ${commands}`);
    log(`drain ${mix}: ${commands} commands in ${topic} (${Math.round(commands / produceS)}/s produced); starting ${ctx.plan.workers} workers`);

    const spawnedAt = Date.now();
    workers = startWorkers(ctx, prefix, `drain-${mix}${rep}`, ctx.plan.profile);
    const cpu = cpuMeter(ctx, { workers });
    const settledCpu = cpuMeter(ctx, { workers });
    const pg = pgMeter(ctx, ctx.benchDb);
    const progress = await followProgress(ctx, topic, targets, workers, spawnedAt, () => {
      cpu.begin();
      settledCpu.begin();
      void pg.begin();
    });
    const cpuReport = cpu.end();
    const pgReport = await pg.end();
    let settledS: number | null = null;
    let settledCpuReport: CpuReport | null = null;
    if (!progress.timedOut && !progress.stalled && progress.firstAt !== null) {
      // A CPU snapshot at each caught-up poll: the window ends at the first of them, as the clock.
      const settled = await waitSettled(ctx.pool, admin, topic, ctx.plan.settleTimeoutS * 1000, () => settledCpu.snapshot());
      const span = settledWindow(progress.firstAt, settled, settledCpu);
      settledS = span.seconds;
      settledCpuReport = span.cpu;
    }
    await Promise.all(workers.map((w) => w.stop()));
    const outcome = await outcomes(ctx, tag);
    const drainS = progress.doneAt !== null && progress.firstAt !== null ? (progress.doneAt - progress.firstAt) / 1000 : null;
    const result: DrainResult = {
      mix,
      commands,
      topic,
      produce_per_s: round(commands / produceS, 0),
      startup_s: progress.firstAt === null ? null : round((progress.firstAt - spawnedAt) / 1000, 1),
      drain_s: round(drainS, 2),
      per_s: drainS ? round((commands - progress.coveredAtFirst) / drainS, 0) : null,
      settled_s: round(settledS, 2),
      settled_per_s: settledS ? round((commands - progress.coveredAtFirst) / settledS, 0) : null,
      timed_out: progress.timedOut,
      stalled: progress.stalled,
      applied: progress.covered,
      per_partition: [...targets.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([partition, end]) => ({
          partition,
          commands: Number(end),
          done_s: progress.doneByPartition.has(partition) && progress.firstAt !== null ? round((progress.doneByPartition.get(partition)! - progress.firstAt) / 1000, 2) : null,
        })),
      last_partition: progress.doneAt === null ? null : progress.last.summary(progress.doneAt),
      outcome,
      worker_logs: workers.map((w) => w.logPath),
      cpu: cpuReport,
      settled_cpu: settledCpuReport,
      pg: pgReport,
    };
    log(
      `drain ${mix}: ${result.per_s ?? '-'} commands/s applied (${result.drain_s ?? '-'} s after the first commit, start-up ${result.startup_s ?? '-'} s); ` +
        `all legs settled: ${result.settled_per_s ?? '-'} transfers/s; outcomes ${JSON.stringify(outcome)}`,
    );
    return result;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await admin.close();
  }
}

/**
 * The settled window: from the first commit until the first poll that saw every transfer
 * terminal (Settled.at), not the one that confirmed it, in seconds and in CPU (the meter begun
 * at the first commit, ended at the snapshot taken at that same poll: until an outside review
 * the CPU ran on to the confirming poll, 0.25-0.5 s past the clock). Null both when it did not settle.
 */
export function settledWindow(firstAt: number, settled: Settled<CpuSnapshot>, cpu: CpuMeter): { seconds: number | null; cpu: CpuReport | null } {
  if (settled.at === null || settled.mark === null) return { seconds: null, cpu: null };
  return { seconds: (settled.at - firstAt) / 1000, cpu: cpu.end(settled.mark) };
}

async function produceBacklog(ctx: BenchContext, topic: string, tag: string, mix: Mix, commands: number, rep: number): Promise<void> {
  const random = seededRandom(mix === 'uniform' ? 1_000 + rep : 2_000 + rep);
  const picker = new PairPicker(ctx.fixture.accounts, ctx.fixture.merchant, mix, random);
  // Not idempotent: several requests in flight make the backlog fast to build, and the order
  // between chunks does not matter (every source account is funded many times over).
  const producer = new BulkProducer({ kafka: ctx.kafka, idempotent: false, requestsInFlightMax: PRODUCE_IN_FLIGHT_MAX });
  try {
    const inFlight = new Set<Promise<unknown>>();
    for (let i = 0; i < commands; ) {
      const run = { currency: ctx.fixture.currency, tag, acceptedAt: new Date().toISOString() };
      const messages: OutgoingMessage[] = [];
      const perPartition = new Map<number, number>();
      let partitionFull = false;
      for (; i < commands && messages.length < PRODUCE_CHUNK && !partitionFull; i++) {
        const command = nextTransfer(picker, random, run, `${tag}-${i}`);
        const from = command.fromAccountId;
        const partition = ctx.routing.partitionOf(from);
        messages.push({ topic, partition, key: from, value: encodeCommand(command) });
        const count = (perPartition.get(partition) ?? 0) + 1;
        perPartition.set(partition, count);
        partitionFull = count >= PRODUCE_PARTITION_MESSAGES_MAX;
      }
      const send = producer.send(messages).finally(() => inFlight.delete(send));
      inFlight.add(send);
      if (inFlight.size >= PRODUCE_IN_FLIGHT_MAX) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    await producer.close();
  }
}

interface Progress {
  firstAt: number | null;
  doneAt: number | null;
  coveredAtFirst: number;
  doneByPartition: Map<number, number>;
  timedOut: boolean;
  /** Nothing applied for STALL_MS (or no first commit within the start-up bound). */
  stalled: boolean;
  /** Commands applied when it stopped (all of them unless timed out or stalled). */
  covered: number;
  last: LastPartitionTracker;
}

/** The workers' start-up (tsx, group join, claims) must end in a first commit by then. */
const STARTUP_MS_MAX = 90_000;

async function followProgress(
  ctx: BenchContext,
  topic: string,
  targets: Map<number, bigint>,
  workers: readonly Managed[],
  spawnedAt: number,
  onFirstCommit: () => void,
): Promise<Progress> {
  const progress: Progress = {
    firstAt: null,
    doneAt: null,
    coveredAtFirst: 0,
    doneByPartition: new Map(),
    timedOut: false,
    stalled: false,
    covered: 0,
    last: new LastPartitionTracker(targets),
  };
  const deadline = spawnedAt + ctx.plan.drainTimeoutS * 1000;
  let lastCovered = -1n;
  let lastProgressAt = spawnedAt;
  while (Date.now() < deadline) {
    const dead = workers.find((w) => !w.alive);
    if (dead) throw new Error(`${dead.name} exited (code ${dead.exitCode}) during the drain; see ${dead.logPath}`);
    const applied = await partitionOffsets(ctx.pool, topic);
    const now = Date.now();
    progress.last.observe(now, applied);
    let covered = 0n;
    let done = true;
    for (const [partition, end] of targets) {
      const at = applied.get(partition) ?? 0n;
      covered += at < end ? at : end;
      if (at >= end) {
        if (!progress.doneByPartition.has(partition)) progress.doneByPartition.set(partition, now);
      } else done = false;
    }
    progress.covered = Number(covered);
    if (progress.firstAt === null && covered > 0n) {
      progress.firstAt = now;
      progress.coveredAtFirst = Number(covered);
      onFirstCommit();
    }
    if (done) {
      progress.doneAt = now;
      return progress;
    }
    if (covered !== lastCovered) {
      lastCovered = covered;
      lastProgressAt = now;
    } else if (now - lastProgressAt > (progress.firstAt === null ? STARTUP_MS_MAX : STALL_MS)) {
      log(`drain: stalled: ${covered} of the backlog applied, nothing more for ${Math.round((now - lastProgressAt) / 1000)} s`);
      progress.stalled = true;
      return progress;
    }
    await sleep(POLL_MS);
  }
  log(`drain: timed out after ${ctx.plan.drainTimeoutS} s`);
  progress.timedOut = true;
  return progress;
}

async function outcomes(ctx: BenchContext, tag: string): Promise<Record<string, number>> {
  const result = await ctx.pool.query('SELECT status, count(*)::int AS n FROM transfers WHERE description = $1 GROUP BY status', [tag]);
  return Object.fromEntries(result.rows.map((r) => [String(r.status), Number(r.n)]));
}
