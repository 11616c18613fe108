/**
 * `npm run bench` (through loadtest/bench.sh, which brings the dev stack up and sets the
 * service URLs): one run, one machine, every figure loadtest/README.md reports.
 *
 *   setup     fresh databases ledgerline_bench (ours) and ledgerline_bench_base (baseline),
 *             migrated with the project's migrations; topics under bench<id>m; Redis keys
 *             under bench<id>:; our own API (port 18080) and 2 workers; the fixture accounts
 *             opened and funded through the API.
 *   quiet     e2e_quiet: sequential cross-partition transfers at 20/s, 202 -> COMPLETED
 *   e2e       202 -> COMPLETED at 2,000/s
 *   ingest    acked/s and ack latency at each offered rate of the sweep
 *   capacity  single-request capacity by a short ramp (ours here, the baseline's with it)
 *   cpu       CPU per transfer at half that capacity; WAL, rows and index entries per transfer
 *   batch     POST /v1/batch ingest, then its backlog applied (once the route exists)
 *   scenarios the five k6 scenarios once (full runs, or --only scenarios)
 *   baseline  the row-lock comparator: same accounts (same requests, same ids), same k6;
 *             before the drains, so its capacity ramp meets the state ours met
 *   drain     backlog of N commands in Kafka, then the workers: uniform, then hot
 *   ceiling   writeBatch alone
 *   ideal     PostgreSQL alone on the smallest double-entry schema (the physical limit)
 *
 * Phases run one after another, never overlapping: a worker of one topic and a drain worker
 * of another would both write the same partition's transit account (the single-writer rule
 * holds per database partition, not per topic). A failing phase is recorded and the others
 * still run; the exit code is non-zero if any failed.
 */
import { measureAcceptedRecordsLeft } from './accepted-records';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { KafkaAdmin, createKafka, topicNames } from '@ledgerline/kafka';
import { loadRouting, reconcile } from '@ledgerline/postgres';
import { measureCeiling } from './ceiling';
import { type BenchContext, WORKER_SCRIPT, WORKER_SCRIPT_OVERRIDDEN, apiAvailable, startApi, startBaseline, startWorkers, workerOpsPort } from './context';
import { measureDrain } from './drain';
import { TokenCache, createDirect, createViaHttp, fixtureSpec, k6Fixture } from './fixture';
import { batchUnavailable, measureBatchIngest } from './batch';
import { measureIdeal } from './ideal';
import {
  apiTarget,
  baselineTarget,
  measureCapacity,
  measureCpuPerTransfer,
  measureE2e,
  measureSaturation,
  measureSweepStep,
  runScenarios,
} from './phases';
import { measureQuiet } from './quiet';
import { type Phase, parsePlan } from './plan';
import { type Managed, stopAll, waitHttpOk } from './processes';
import { summariseProfile } from './profile';
import { type Measurements, benchExitCode, emptyMeasurements, writeReport } from './report';
import {
  createTopics,
  deleteRedisPrefix,
  deleteTopicsAndGroups,
  dropDatabase,
  migrateDatabase,
  recreateDatabase,
  servicesFromEnv,
  waitSettled,
} from './services';
import { log, requireEnv } from './util';

const BENCH_DB = 'ledgerline_bench';
const BASE_DB = 'ledgerline_bench_base';
const IDEAL_DB = 'ledgerline_bench_ideal';
const READY_TIMEOUT_MS = 90_000;

async function main(): Promise<number> {
  const plan = parsePlan(process.argv.slice(2));
  const repoRoot = resolve(__dirname, '..', '..');
  const services = servicesFromEnv();
  const k6Bin = requireEnv('K6_BIN');
  const runId = `bench${Date.now().toString(36)}`;
  const cacheRoot = process.env.LEDGERLINE_CACHE ?? join(homedir(), '.cache', 'ledgerline');
  const runDir = join(cacheRoot, 'bench-runs', runId);
  const startedAt = new Date();
  const m = emptyMeasurements();
  log(`${plan.mode} run ${runId}: phases ${plan.phases.join(', ')}; repeat ${plan.repeat}; logs and raw data in ${runDir}`);
  const k6Version = execFileSync(k6Bin, ['version'], { encoding: 'utf8' }).trim().split('\n')[0] ?? 'unknown';

  await recreateDatabase(services, BENCH_DB);
  await recreateDatabase(services, BASE_DB);
  if (plan.phases.includes('ideal')) await recreateDatabase(services, IDEAL_DB);
  const pool = await migrateDatabase(services, BENCH_DB, plan.partitions);
  const basePool = await migrateDatabase(services, BASE_DB, plan.partitions);
  const kafka = createKafka({ brokers: services.kafkaBrokers, clientId: runId });
  const mainPrefix = `${runId}m`;
  await createTopics(kafka, mainPrefix, plan.partitions);
  const fixture = fixtureSpec(runId, plan.accounts, plan.users, plan.fundAmount);
  const ctx: BenchContext = {
    plan,
    services,
    repoRoot,
    runId,
    runDir,
    benchDb: BENCH_DB,
    baseDb: BASE_DB,
    idealDb: IDEAL_DB,
    pool,
    basePool,
    kafka,
    routing: await loadRouting(pool),
    fixture,
    fixturePath: join(runDir, 'fixture.json'),
    jwtSecret: process.env.JWT_SECRET ?? 'dev-secret-change-me',
    k6Bin,
    redisPrefix: `${runId}:`,
    mainPrefix,
    prefixes: [mainPrefix],
    stackDir: process.env.LL_STACK_DIR ?? '/var/tmp/ledgerline/dev',
  };
  execFileSync('mkdir', ['-p', runDir]);
  writeFileSync(ctx.fixturePath, JSON.stringify(k6Fixture(fixture, (id) => ctx.routing.partitionOf(id))));
  const tokens = new TokenCache(ctx.jwtSecret);
  m.notes.push(
    plan.workersNice === 0
      ? 'the workers ran at the API\'s CPU priority (WORKERS_NICE=0), not at npm start\'s nice value'
      : `the workers ran at nice ${plan.workersNice} (WORKERS_NICE), as npm start runs them: behind the API, k6 and this driver (their session) when the box is full`,
  );
  if (WORKER_SCRIPT_OVERRIDDEN) {
    m.notes.push(`EXPERIMENT: workers ran ${WORKER_SCRIPT} (BENCH_WORKER_SCRIPT), not apps/partition-worker: these figures are not the product's`);
  }
  const has = (p: Phase) => plan.phases.includes(p);
  const hasApi = apiAvailable(repoRoot);
  const apiPhases = plan.phases.filter((p) => ['quiet', 'e2e', 'ingest', 'capacity', 'cpu', 'batch', 'scenarios'].includes(p));
  if (!hasApi) for (const p of apiPhases) m.skipped[p] = `the ingest API (apps/ingest-api/src/main.ts) does not exist yet`;

  const phase = async (name: string, work: () => Promise<void>) => {
    if (interrupted) {
      m.skipped[name] = 'interrupted';
      return;
    }
    try {
      await work();
    } catch (error) {
      m.errors[name] = (error as Error).message;
      log(`${name} FAILED: ${(error as Error).stack ?? error}`);
    }
  };

  try {
    // ---- ours: accounts, then the API phases ------------------------------------------------
    await phase('setup', async () => {
      const workers = startWorkers(ctx, mainPrefix, 'main', plan.profile);
      const admin = new KafkaAdmin(kafka);
      let api: Managed | null = null;
      try {
        await Promise.all(workers.map((w, i) => waitHttpOk(`http://127.0.0.1:${workerOpsPort(ctx, i)}/readyz`, READY_TIMEOUT_MS, w)));
        if (hasApi) {
          api = startApi(ctx, mainPrefix, 'main', plan.profile);
          await waitHttpOk(`http://127.0.0.1:${plan.apiPort}/readyz`, READY_TIMEOUT_MS, api);
          await createViaHttp(`http://127.0.0.1:${plan.apiPort}`, tokens, fixture, 'ingest API');
        } else {
          const n = await createDirect(pool, kafka, topicNames(mainPrefix).commands, ctx.routing, fixture);
          log(`no ingest API: ${fixture.accounts.length + 1} accounts inserted directly, ${n} DEPOSIT commands published; waiting for the workers`);
          const settled = await waitSettled(pool, admin, topicNames(mainPrefix).commands, READY_TIMEOUT_MS);
          if (settled.ms === null) throw new Error(`deposits were not applied (${settled.reason})`);
        }
        if (api) await apiPhases_(ctx, m, api, workers, admin, tokens);
      } finally {
        await admin.close();
        await Promise.all([api?.stop(), ...workers.map((w) => w.stop())]);
      }
    });

    // ---- baseline ---------------------------------------------------------------------------
    // Right after our API phases and before the drains, so that its capacity ramp meets the
    // state ours met, not the checkpoint and vacuum of two 1,000,000-command drains.
    if (has('baseline') || has('capacity')) {
      await phase('baseline', async () => {
        const server = startBaseline(ctx);
        try {
          await waitHttpOk(`http://127.0.0.1:${plan.baselinePort}/healthz`, READY_TIMEOUT_MS, server);
          await createViaHttp(`http://127.0.0.1:${plan.baselinePort}`, tokens, fixture, 'baseline');
          const target = baselineTarget(ctx, server);
          if (has('capacity')) {
            for (let rep = 1; rep <= plan.repeat; rep++) m.capacity.baseline.push(await measureCapacity(ctx, target, rep));
          }
          if (!has('baseline')) return;
          for (const rate of plan.sweepRates) {
            for (let rep = 1; rep <= plan.repeat; rep++) {
              const list = m.baselineSweep.get(rate) ?? [];
              list.push(await measureSweepStep(ctx, target, rate, rep));
              m.baselineSweep.set(rate, list);
            }
          }
          for (let rep = 1; rep <= plan.repeat; rep++) {
            m.baselineSaturation.uniform.push(await measureSaturation(ctx, target, 'uniform', rep));
            m.baselineSaturation.hot.push(await measureSaturation(ctx, target, 'hot', rep));
          }
        } finally {
          await server.stop();
        }
      });
    }

    // ---- drain ----------------------------------------------------------------------------
    if (has('drain') && !m.errors.setup) {
      if (plan.drainCommands < 1_000_000) m.notes.push(`drain backlogs hold ${plan.drainCommands.toLocaleString('en-US')} commands, fewer than the 1,000,000 of a full run`);
      for (let rep = 1; rep <= plan.repeat; rep++) {
        await phase(`drain uniform #${rep}`, async () => void m.drain.uniform.push(await measureDrain(ctx, 'uniform', plan.drainCommands, rep)));
        await phase(`drain hot #${rep}`, async () => void m.drain.hot.push(await measureDrain(ctx, 'hot', plan.drainCommands, rep)));
      }
    } else if (has('drain')) m.skipped.drain = 'setup failed';

    // ---- ceiling ----------------------------------------------------------------------------
    if (has('ceiling') && !m.errors.setup) {
      for (let rep = 1; rep <= plan.repeat; rep++) {
        await phase(`ceiling #${rep}`, async () => void m.ceiling.push(await measureCeiling(ctx, 'uniform', rep)));
      }
    } else if (has('ceiling')) m.skipped.ceiling = 'setup failed';

    // ---- ideal ------------------------------------------------------------------------------
    if (has('ideal')) {
      for (let rep = 1; rep <= plan.repeat; rep++) {
        await phase(`ideal #${rep}`, async () => void m.ideal.push(await measureIdeal(ctx, rep)));
      }
    }

    if (plan.reconcile) {
      await phase('reconcile', async () => {
        const entries = Number((await pool.query('SELECT count(*)::int AS n FROM entries')).rows[0].n);
        const t0 = Date.now();
        const report = await reconcile(pool, { outboxAgeMaxMs: 3_600_000 });
        m.reconcile = {
          seconds: Math.round((Date.now() - t0) / 100) / 10,
          entries,
          violations: Object.fromEntries(report.checks.map((c) => [c.name, c.violations])),
        };
        log(`reconcile: ${m.reconcile.seconds} s over ${entries} entries; violations ${JSON.stringify(m.reconcile.violations)}`);
        // Not an error of the phase (the figures stand): the exit code says it (benchExitCode).
        if (Object.values(m.reconcile.violations).some((n) => n > 0)) log('reconcile FOUND VIOLATIONS: the bench exits 1');
      });
    }

    const profileDir = join(runDir, 'profiles');
    if (plan.profile && existsSync(profileDir)) {
      for (const proc of readdirSync(profileDir).sort()) {
        const files = readdirSync(join(profileDir, proc)).filter((f) => f.endsWith('.cpuprofile'));
        // The busiest profile of each process is its main thread (the other is tsx's loader).
        const summaries = files.flatMap((file) => {
          try {
            return [summariseProfile(join(profileDir, proc, file))];
          } catch (error) {
            m.notes.push(`profile ${proc}/${file} unreadable: ${(error as Error).message}`);
            return [];
          }
        });
        const main = summaries.sort((a, b) => b.busy_pct * b.duration_s - a.busy_pct * a.duration_s)[0];
        if (main) m.profiles.push({ ...main, file: `${proc}/${main.file.split('/').pop()}` });
      }
    }
  } finally {
    await stopAll();
    const outDir = join(repoRoot, 'loadtest', 'results');
    const result = writeReport({ plan, m, startedAt, finishedAt: new Date(), runId, runDir, repoRoot, outDir, k6Version });
    for (const file of ['latest.json', 'latest.md', 'latest.svg']) copyFileSync(join(outDir, file), join(runDir, file));
    log(`wrote ${join(outDir, 'latest.json')}, latest.md and latest.svg (copies in the run directory)`);
    log(`headline: ${JSON.stringify({ ingest: result.ingest, e2e: result.e2e, drain: result.drain, baseline: result.baseline, ceiling: result.ceiling })}`);
    await pool.end();
    await basePool.end();
    if (!plan.keep) await cleanup(ctx);
    else log(`--keep: left databases ${BENCH_DB}, ${BASE_DB}, topics ${ctx.prefixes.join(', ')}.*, Redis keys ${ctx.redisPrefix}*`);
  }
  return benchExitCode(m);
}

async function apiPhases_(ctx: BenchContext, m: Measurements, api: Managed, workers: Managed[], admin: KafkaAdmin, tokens: TokenCache): Promise<void> {
  const { plan } = ctx;
  const target = apiTarget(ctx, api, workers, admin);
  const has = (p: Phase) => plan.phases.includes(p);
  const guard = async (name: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      m.errors[name] = (error as Error).message;
      log(`${name} FAILED: ${(error as Error).stack ?? error}`);
    }
    if (!api.alive) throw new Error(`the ingest API exited (code ${api.exitCode}); see ${api.logPath}`);
    const dead = workers.find((w) => !w.alive);
    if (dead) throw new Error(`${dead.name} exited (code ${dead.exitCode}); see ${dead.logPath}`);
  };
  // First, while the system is still quiet.
  if (has('quiet')) {
    for (let rep = 1; rep <= plan.repeat; rep++) await guard(`quiet #${rep}`, async () => void m.quiet.push(await measureQuiet(ctx, tokens, rep)));
  }
  if (has('e2e')) {
    for (let rep = 1; rep <= plan.repeat; rep++) await guard(`e2e #${rep}`, async () => void m.e2e.push(await measureE2e(ctx, target, rep)));
  }
  if (has('ingest')) {
    if (plan.ingestDurationS < 60) m.notes.push(`quick mode: each ingest rate is held ${plan.ingestDurationS} s, not the 60 s of the target`);
    for (const rate of plan.sweepRates) {
      for (let rep = 1; rep <= plan.repeat; rep++) {
        await guard(`ingest ${rate}/s #${rep}`, async () => {
          const list = m.ingest.get(rate) ?? [];
          list.push(await measureSweepStep(ctx, target, rate, rep));
          m.ingest.set(rate, list);
        });
      }
    }
  }
  if (has('capacity')) {
    for (let rep = 1; rep <= plan.repeat; rep++) await guard(`capacity #${rep}`, async () => void m.capacity.ours.push(await measureCapacity(ctx, target, rep)));
  }
  if (has('cpu')) {
    const capacities = m.capacity.ours.map((c) => c.per_s).filter((v): v is number => v !== null).sort((a, b) => a - b);
    const capacity = capacities[Math.floor(capacities.length / 2)];
    const rate = plan.cpuRatePerS ?? (capacity ? Math.max(10, Math.round(capacity / 2 / 10) * 10) : plan.cpuFallbackRatePerS);
    if (plan.cpuRatePerS !== null) m.notes.push(`cpu_ms_per_transfer ran at ${rate}/s, fixed by --cpu-rate (not half the capacity)`);
    else if (!capacity) m.notes.push(`cpu_ms_per_transfer ran at ${rate}/s: the capacity phase gave no figure to halve`);
    for (let rep = 1; rep <= plan.repeat; rep++) await guard(`cpu #${rep}`, async () => void m.cpu.push(await measureCpuPerTransfer(ctx, target, rate, rep)));
  }
  if (has('batch')) {
    const why = await batchUnavailable(ctx);
    if (why) {
      m.skipped.batch = why;
      log(`batch ingest: not available (${why})`);
    } else {
      for (let rep = 1; rep <= plan.repeat; rep++) await guard(`batch #${rep}`, async () => void m.batch.push(await measureBatchIngest(ctx, { api, workers }, admin, rep)));
    }
  }
  if (has('scenarios')) await guard('scenarios', async () => void m.scenarios.push(...(await runScenarios(ctx, target))));
  // Once all of the above is applied: what the workers left of the API's ACCEPTED records.
  await guard('accepted records', async () => {
    m.acceptedRecordsLeft = await measureAcceptedRecordsLeft(ctx, admin);
    log(`accepted records left: ${JSON.stringify(m.acceptedRecordsLeft)}`);
  });
}

async function cleanup(ctx: BenchContext): Promise<void> {
  const steps: [string, () => Promise<unknown>][] = [
    ['topics', () => deleteTopicsAndGroups(ctx.kafka, ctx.prefixes)],
    ['redis keys', () => deleteRedisPrefix(ctx.services.redisUrl, ctx.redisPrefix)],
    [`database ${ctx.benchDb}`, () => dropDatabase(ctx.services, ctx.benchDb)],
    [`database ${ctx.baseDb}`, () => dropDatabase(ctx.services, ctx.baseDb)],
    [`database ${ctx.idealDb}`, () => dropDatabase(ctx.services, ctx.idealDb)],
  ];
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (error) {
      log(`cleanup of ${what} failed: ${(error as Error).message}`);
    }
  }
  log(`cleaned up: ${ctx.benchDb}, ${ctx.baseDb}, topics ${ctx.prefixes.map((p) => `${p}.*`).join(' ')}, Redis ${ctx.redisPrefix}*`);
}

// First Ctrl-C: stop the child processes; the phase in progress fails, the rest are skipped,
// and the report and the cleanup still run. Second Ctrl-C: exit at once.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${signal}: stopping the bench's processes, then cleaning up (again to exit at once)`);
    void stopAll();
  });
}

main()
  .then((code) => process.exit(code))
  .catch((error) => {
    log(`bench failed: ${(error as Error).stack ?? error}`);
    void stopAll().finally(() => process.exit(1));
  });

