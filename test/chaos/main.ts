/**
 * The chaos run (test/chaos/README.md): a realistic load through the HTTP API while processes and
 * services crash and restart, then a proof against Postgres that nothing acknowledged was
 * lost, nothing applied twice, per-account order held and every invariant holds.
 *
 *   npm run chaos -- --duration-s 60 [--seed 42] [--rate 80] [--keep]
 *
 * Wiring, in order: the stack (LL_PROFILE, default test; started if it was not running and
 * stopped again at the end), a database, topics and a Redis key prefix of this run's own,
 * the API and two workers as child processes, the accounts, the load, the faults, the drain,
 * quiescence, the proof, the report. The last line printed is the summary line of
 * report.ts; the exit code is 0 only when its last five counts are all 0 (and 2 when the
 * harness itself failed, 3 when an app process died without being told to).
 */
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Pool } from 'pg';
import { BatchingProducer, KafkaAdmin, createKafka, SINGLE_BROKER_DURABILITY, topicNames } from '@ledgerline/kafka';
import { createPool, ensureRouting, loadRouting, migrate, runAdminStatement, withDatabase } from '@ledgerline/postgres';
import { BalanceCache, createRedis, waitUntilReady } from '@ledgerline/redis';
import { BUCKET_COUNT } from '@ledgerline/domain';
import { FAULT_KINDS, FaultRunner, planFaults } from './faults';
import { LedgerBooks } from './ledger-books';
import { HoldLoad } from './hold-load';
import { DEFAULT_SHAPE, LoadGenerator, RunControl, buildWorld, fund } from './load';
import { freePort } from '../support/ports';
import { AppProcesses, type UnexpectedExit } from './processes';
import { prove, waitForQuiet } from './proof';
import { Rng, sleep } from './random';
import { anyViolation, countsOf, faultTimeline, finalLine, findingsReport } from './report';
import { ChaosRebalancer, percentile } from './rebalance';
import { SERVICES, Stack } from './stack';

interface Options {
  durationS: number;
  seed: number;
  /** Requests/s of the concurrent load (the sequential clients come on top, ~4/s each). */
  rate: number;
  /** Keep the database, topics, Redis keys and logs even when the run passes. */
  keep: boolean;
  profile: string;
  /** Grow the commands topic to this many partitions midway (0: never). */
  growPartitionsTo: number;
}

/** Runs up to this long are "smoke" runs: one of each fault, evenly spaced. */
const SMOKE_DURATION_S_MAX = 120;
const PARTITION_COUNT = 8;
const WORKERS_COUNT = 2;
/** Load before the first fault. */
const FAULT_LEAD_MS = 4_000;
/** After the last heal, the load keeps going this long before it stops. */
const LOAD_AFTER_LAST_HEAL_MS = 3_000;
/** After the load stops, requests of unknown outcome keep retrying this long at most. */
const DRAIN_MS_MAX = 30_000;
const QUIET_TIMEOUT_MS = 120_000;
const FUNDING_TIMEOUT_MS = 90_000;

const USAGE = `usage: npm run chaos -- [--duration-s N] [--seed N] [--rate N] [--grow-partitions-to N] [--keep]
  --grow-partitions-to N  midway, grow the partitions to N and spread the buckets onto them
  --duration-s N  how long the load runs, seconds (default 60; <= ${SMOKE_DURATION_S_MAX}: one of each fault, evenly spaced)
  --seed N        seed of every random choice (default: from the clock; printed)
  --rate N        concurrent-load requests per second (default 80; sequential clients add ~4/s each)
  --keep          keep the run's database, topics, Redis keys and logs even when it passes
env: LL_PROFILE=dev|test|ws1..ws4 (default test) picks the local stack (infra/local/stack.sh),
  whose services the run stops, kills and restarts: on a shared machine, give it a profile of its own`;

function parseOptions(argv: readonly string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        'duration-s': { type: 'string' },
        seed: { type: 'string' },
        rate: { type: 'string' },
        'grow-partitions-to': { type: 'string' },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (flag: string, value: string | undefined, fallback: number, min: number, max: number) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${flag} must be an integer in ${min}..${max} (got ${value})`);
    return n;
  };
  return {
    durationS: int('duration-s', values['duration-s'], 60, 10, 86_400),
    seed: int('seed', values.seed, Date.now() % 2_147_483_647, 0, 2_147_483_647),
    rate: int('rate', values.rate, 80, 1, 2_000),
    keep: values.keep,
    profile: process.env.LL_PROFILE ?? 'test',
    growPartitionsTo: int('grow-partitions-to', values['grow-partitions-to'], 0, 2, BUCKET_COUNT),
  };
}

/** Per-principal limits for the chaos run, far above what its load sends (see the env above). */
export const CHAOS_RATE_LIMITS: Record<string, string> = {
  API_RATE_WRITES_PER_S: '1000000',
  API_RATE_WRITES_BURST: '1000000',
  API_RATE_READS_PER_S: '1000000',
  API_RATE_READS_BURST: '1000000',
  API_ACCOUNTS_PER_PRINCIPAL_MAX: '100000000',
};

/** Env the apps read that this run sets itself: never inherit a stray value of them. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (/^(API_|WORKER_|OWNER_|LEDGERLINE_|JWT_|REDIS_|KAFKA_|DATABASE_)/.test(name) || ['PORT', 'HOST', 'FAULT_INJECT'].includes(name)) continue;
    env[name] = value;
  }
  return env;
}

class HarnessError extends Error {}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const root = resolve(__dirname, '..', '..');
  const runStarted = Date.now();
  const clock = () => Date.now() - runStarted;
  const log = (line: string) => process.stdout.write(`[chaos ${(clock() / 1000).toFixed(1).padStart(6)}s] ${line}\n`);
  const smoke = options.durationS <= SMOKE_DURATION_S_MAX;
  const rng = new Rng(options.seed);
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const tag = `${stamp}${rng.fork('tag').int(0, 0xfff).toString(16).padStart(3, '0')}`;
  const names = { database: `chaos_${tag}`, topicPrefix: `chaos${tag}`, redisPrefix: `chaos${tag}:` };
  const runDir = join(tmpdir(), `ledgerline-chaos-${tag}`);
  mkdirSync(runDir, { recursive: true });
  log(`seed ${options.seed}, duration ${options.durationS}s (${smoke ? 'smoke: one of each fault' : 'long: faults over and over'}), rate ${options.rate}/s, profile ${options.profile}`);
  log(`rate limits raised for the run: ${Object.entries(CHAOS_RATE_LIMITS).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  log(`database ${names.database}, topic prefix ${names.topicPrefix}, redis prefix ${names.redisPrefix}, logs ${runDir}`);

  const stack = new Stack(root, options.profile);
  const wasRunning = await stack.allRunning();
  const harnessErrors: string[] = [];
  const crashes: UnexpectedExit[] = [];
  const workerFatalExits: string[] = [];
  let apps: AppProcesses | null = null;
  let pool: Pool | null = null;
  let admin: KafkaAdmin | null = null;
  let closeMover: () => Promise<void> = async () => undefined;
  let closeFlusher: () => void = () => undefined;
  let shuttingDown = false;
  let passed = false;
  const control = new RunControl(clock);

  const cleanup = async () => {
    shuttingDown = true;
    control.stopHard();
    await apps?.stopAll().catch((e: Error) => log(`stopping the apps: ${e.message}`));
    await admin?.close();
    await closeMover().catch(() => undefined);
    closeFlusher();
    await pool?.end().catch(() => undefined);
    // A fault that failed half way may have left a service down: put the stack back as found.
    if (wasRunning) {
      const running = await stack.running().catch(() => new Set<string>());
      for (const service of SERVICES) {
        if (!running.has(service)) {
          log(`${service} is not running after the run: starting it`);
          await stack.start(service).catch((e: Error) => log(`could not start ${service}: ${e.message}`));
        }
      }
    }
    const tidy = passed && !options.keep;
    if (tidy) await tidyUp(stack, names).catch((e: Error) => log(`cleanup: ${e.message}`));
    else log(`kept for the post-mortem: database ${names.database}, topics ${names.topicPrefix}.*, redis ${names.redisPrefix}*, logs and books in ${runDir}`);
    if (!wasRunning) {
      log('stopping the stack this run started');
      await stack.down().catch((e: Error) => log(`stack down: ${e.message}`));
    }
    if (tidy) rmSync(runDir, { recursive: true, force: true });
  };
  const onSignal = (signal: string) => {
    log(`${signal}: stopping the run`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));

  let counts = { accepted: 0, faults: 0, lost: 0, duplicated: 0, orderViolations: 0, invariantViolations: 0, serverErrorsOnBadInput: 0 };
  const timings: string[] = [];
  try {
    // ---- stack, database, topics ------------------------------------------------------------
    if (!wasRunning) {
      log(`the ${options.profile} stack is not (fully) running: stack.sh up (it is stopped again at the end)`);
      await stack.up();
    }
    const services = await stack.env();
    await runAdminStatement(services.databaseDirectUrl, `CREATE DATABASE ${names.database}`);
    pool = createPool({ connectionString: withDatabase(services.databaseDirectUrl, names.database), connectionsMax: 4, connectTimeoutMs: 10_000, applicationName: 'chaos' });
    await migrate(pool);
    await ensureRouting(pool, PARTITION_COUNT);
    const routing = await loadRouting(pool);
    const kafka = createKafka({ brokers: services.kafkaBrokers.split(','), clientId: `chaos-${tag}` });
    const topics = topicNames(names.topicPrefix);
    admin = new KafkaAdmin(kafka);
    await admin.ensureTopics(topics, PARTITION_COUNT, SINGLE_BROKER_DURABILITY);
    await admin.close();
    admin = null;

    // ---- the apps ------------------------------------------------------------------------
    const jwtSecret = `chaos-${tag}-${rng.fork('secret').int(0, 1e9)}`;
    const env = {
      ...baseEnv(),
      // Each app logs in as its own role (the migration above, as the superuser, handed the
      // schema to ledgerline_owner and granted the roles their privileges).
      LEDGERLINE_ENV: 'test',
      API_DATABASE_URL: withDatabase(services.apiDatabaseUrl, names.database),
      WORKER_DATABASE_URL: withDatabase(services.workerDatabaseUrl, names.database),
      // The chaos load is a few principals sending far more than a client would: the
      // per-principal limits are raised explicitly here (the report says so), so that
      // what is measured is the pipeline under faults, not the rate limiter.
      ...CHAOS_RATE_LIMITS,
      REDIS_URL: services.redisUrl,
      REDIS_KEY_PREFIX: names.redisPrefix,
      KAFKA_BROKERS: services.kafkaBrokers,
      KAFKA_TOPIC_PREFIX: names.topicPrefix,
      JWT_SECRET: jwtSecret,
    };
    // One restart loop per process name: a restart that itself crashes (during start-up) is
    // recorded as a crash too, but retried by the loop already running, not by a second one.
    const restarting = new Set<string>();
    const restartAfterCrash = async (exit: UnexpectedExit) => {
      if (restarting.has(exit.name)) return;
      restarting.add(exit.name);
      try {
        for (let attempt = 1; attempt <= 5 && !shuttingDown; attempt++) {
          await sleep(1_000 * attempt);
          if (shuttingDown || !apps) return;
          const alive = exit.role === 'api' ? apps.api() : apps.workers().find((w) => w.name === exit.name);
          if (alive) return; // a fault injector started it meanwhile
          try {
            if (exit.role === 'api') await apps.startApi();
            else await apps.startWorker(exit.name);
            log(`${exit.name} restarted after its crash`);
            return;
          } catch (error) {
            log(`restarting ${exit.name} failed (attempt ${attempt}): ${(error as Error).message.split('\n')[0]}`);
          }
        }
      } finally {
        restarting.delete(exit.name);
      }
    };
    apps = new AppProcesses({
      root,
      runDir,
      env,
      apiPort: await freePort(),
      workerEnv: { WORKER_OUTBOX_SWEEP_INTERVAL_MS: '500', WORKER_OUTBOX_SWEEP_AGE_MS: '1000', WORKER_RECONCILE_INTERVAL_MS: '0' },
      clock,
      onUnexpectedExit: (exit) => {
        crashes.push(exit);
        if (exit.role === 'worker' && exit.code === 70) workerFatalExits.push(`${exit.name} pid ${exit.pid}: ${exit.tail.filter((l) => l.includes('FATAL')).join(' | ')}`);
        log(`UNEXPECTED EXIT: ${exit.name} pid ${exit.pid} code=${exit.code} signal=${exit.signal}; last lines:\n    ${exit.tail.slice(-8).join('\n    ')}`);
        void restartAfterCrash(exit);
      },
    });
    const appsStarted = clock();
    await Promise.all([apps.startApi(), ...Array.from({ length: WORKERS_COUNT }, () => apps!.startWorker(apps!.newWorkerId()))]);
    timings.push(`apps up in ${((clock() - appsStarted) / 1000).toFixed(1)}s`);
    log(`API on ${apps.apiUrl}, workers ${apps.workers().map((w) => `${w.name}(pid ${w.pid})`).join(', ')}`);

    // ---- accounts and funding ----------------------------------------------------------------
    const books = new LedgerBooks();
    const shape = DEFAULT_SHAPE;
    const world = await buildWorld({ apiUrl: apps.apiUrl, jwtSecret, routing, shape, rng: rng.fork('world'), control });
    const funding = await fund(world, books, control, rng.fork('fund'), shape);
    await waitUntil('funding deposits COMPLETED', FUNDING_TIMEOUT_MS, async () => {
      const r = await pool!.query(`SELECT count(*)::int AS n FROM transfers WHERE id = ANY($1::uuid[]) AND status = 'COMPLETED'`, [funding.map((f) => f.transferId)]);
      return r.rows[0].n === funding.length;
    });
    const perPartition = new Map<number, number>();
    for (const a of [...world.random, world.hot, ...world.sequential.map((s) => s.account)]) perPartition.set(a.partition, (perPartition.get(a.partition) ?? 0) + 1);
    log(`world: ${world.random.length} accounts of ${world.owners.length} owners, hot account on p${world.hot.partition}, ${world.sequential.length} sequential clients; accounts per partition ${[...perPartition].sort((a, b) => a[0] - b[0]).map(([p, n]) => `p${p}=${n}`).join(' ')}`);
    timings.push(`setup done at ${(clock() / 1000).toFixed(1)}s`);

    // ---- load and faults -----------------------------------------------------------------------
    const load = new LoadGenerator(world, books, rng.fork('load'), control, options.rate);
    // Holds, captures, voids, expiries and reversals (issue 13) beside the main load: a tenth of its rate.
    const holdLoad = new HoldLoad(world, books, rng.fork('holds'), control, Math.max(1, options.rate / 10));
    const loadStart = clock();
    const durationMs = options.durationS * 1000;
    const plan = planFaults(rng.fork('faults'), { durationMs, smoke, leadMs: FAULT_LEAD_MS }).map((p) => ({ ...p, atMs: p.atMs + loadStart }));
    log(`load started; ${plan.length} faults planned: ${plan.map((p) => `${p.kind}@${((p.atMs - loadStart) / 1000).toFixed(0)}s`).join(', ')}`);
    load.start();
    holdLoad.start();
    const moverProducer = new BatchingProducer({ kafka, lingerMs: 1, batchSizeMax: 100, bufferMessagesMax: 1000, ackTimeoutMs: 15_000 });
    await moverProducer.start();
    closeMover = () => moverProducer.stop();
    const moverAdmin = new KafkaAdmin(kafka);
    const closeProducer = closeMover;
    closeMover = async () => {
      await closeProducer();
      await moverAdmin.close();
    };
    const rebalancer = new ChaosRebalancer({
      pool: pool!,
      admin: moverAdmin,
      producer: moverProducer,
      commandsTopic: topics.commands,
      rng: rng.fork('rebalance'),
      accountIds: [world.hot, ...world.random].map((a) => a.id),
    });
    const flusher = createRedis(services.redisUrl, { commandTimeoutMs: 5_000 });
    closeFlusher = () => flusher.disconnect();
    const runner = new FaultRunner({
      stack,
      apps,
      rng: rng.fork('injectors'),
      clock,
      log,
      moveBucket: () => rebalancer.moveRandomBucket(),
      sql: (text) => harnessStatement(pool!, text),
      flushRedis: () => flushWhenConnected(flusher),
    });
    const grown =
      options.growPartitionsTo > 0
        ? sleep(durationMs / 2)
            .then(() => rebalancer.growPartitions(options.growPartitionsTo))
            .then((detail) => log(`grew partitions: ${detail}`))
            .catch((error: Error) => {
              harnessErrors.push(`growing partitions failed: ${error.message}`);
            })
        : Promise.resolve();
    const faultsDone = runner.run(plan, { untilMs: loadStart + durationMs, allPlanned: smoke }).catch((error: Error) => {
      harnessErrors.push(`fault injection failed: ${error.message}`);
    });
    const progress = setInterval(() => {
      const c = books.counts();
      log(`load: ${c.acknowledged} acknowledged, ${c.refused} refused, ${c['in-flight']} in flight, ${books.bad.length} bad requests`);
    }, 10_000);
    await sleep(loadStart + durationMs - clock());
    if (smoke) {
      // Every fault kind must have happened under load: keep the load going until the last heals.
      await faultsDone;
      const lastHeal = Math.max(0, ...runner.records.map((r) => r.healedAtMs ?? 0));
      await sleep(lastHeal + LOAD_AFTER_LAST_HEAL_MS - clock());
    } else {
      runner.stop();
      log('waiting for the fault in progress to heal');
      await faultsDone;
    }
    // The closing commit crash: worker-commit-crash once more, and the load stops the moment
    // that worker has died. Under load, the accounts its batch changed soon change again, and
    // the refresh of that later change would hide a cached balance the crash left behind (a
    // run with the cache mark's catch-up disabled ended all zero that way). Here most of them
    // change no more: only the next owner's catch-up from the partition's cache mark brings
    // their cached balances level, and the proof's `cache-behind-the-ledger` sees whether it did
    // (unless a client's read of a terminal status repaired them first: a net, README).
    await runner.inject('worker-commit-crash', clock()).catch((error: Error) => {
      harnessErrors.push(`the closing commit crash failed: ${error.message}`);
    });
    load.stopIssuing();
    holdLoad.stopIssuing();
    clearInterval(progress);
    const loadEnded = clock();
    log(`load stopped after ${((loadEnded - loadStart) / 1000).toFixed(1)}s, right after the closing commit crash`);
    await grown;
    if (rebalancer.holdsMs.length) {
      log(`bucket moves: ${rebalancer.holdsMs.length}, hold seen by the moved buckets' clients p50 ${percentile(rebalancer.holdsMs, 50)} ms, p99 ${percentile(rebalancer.holdsMs, 99)} ms`);
    }
    timings.push(`load ran ${((loadEnded - loadStart) / 1000).toFixed(1)}s`);

    // ---- drain, quiescence, proof ----------------------------------------------------------
    await ensureRunning(stack, apps, WORKERS_COUNT, log);
    log(`draining: ${load.pending} requests still retrying (at most ${DRAIN_MS_MAX / 1000}s)`);
    await Promise.all([load.drain(DRAIN_MS_MAX), holdLoad.drain()]);
    const drained = clock();
    const acknowledgedIds = books.acknowledged().map((m) => m.transferId);
    admin = new KafkaAdmin(kafka);
    log(`waiting for quiet (${acknowledgedIds.length} acknowledged; at most ${QUIET_TIMEOUT_MS / 1000}s)`);
    const quiet = await waitForQuiet({ pool, admin, topic: topics.commands, acknowledgedIds, timeoutMs: QUIET_TIMEOUT_MS, log });
    log(quiet.quiet ? `quiet after ${(quiet.waitedMs / 1000).toFixed(1)}s` : `NOT quiet after ${(quiet.waitedMs / 1000).toFixed(1)}s: ${JSON.stringify(quiet.state)}`);
    timings.push(`drain ${((drained - loadEnded) / 1000).toFixed(1)}s, quiesce ${(quiet.waitedMs / 1000).toFixed(1)}s`);

    const proofStarted = clock();
    // The last holds expire at most 15 s after the load stopped; the expiry scan releases them
    // within seconds, so by now none should be HELD 5 s past its time (checkHolds).
    await sleep(Math.max(0, 21_000 - (clock() - loadEnded)));
    const proof = await prove({ pool, books, sequential: world.sequential, workerFatalExits, holdBook: holdLoad.book, cache: new BalanceCache(flusher, names.redisPrefix) });
    timings.push(`proof ${((clock() - proofStarted) / 1000).toFixed(1)}s`);
    books.save(join(runDir, 'books.json'));
    counts = countsOf(proof, runner.records.length);

    // ---- report --------------------------------------------------------------------------------
    const kinds = new Set(runner.records.filter((r) => r.healedAtMs !== null).map((r) => r.kind));
    process.stdout.write('\nfaults:\n');
    for (const line of faultTimeline(runner.records)) process.stdout.write(`${line}\n`);
    process.stdout.write(`  (run clock, as in the logs; load from ${(loadStart / 1000).toFixed(1)}s to ${(loadEnded / 1000).toFixed(1)}s; ${kinds.size} of ${FAULT_KINDS.length} kinds)\n\n`);
    for (const line of findingsReport(proof)) process.stdout.write(`${line}\n`);
    process.stdout.write(`  load: ${JSON.stringify(load.stats)}\n`);
    if (smoke && kinds.size < FAULT_KINDS.length) harnessErrors.push(`only ${kinds.size} of ${FAULT_KINDS.length} fault kinds were injected and healed`);
    if (!quiet.quiet) process.stdout.write(`  the system did not become quiet within ${QUIET_TIMEOUT_MS / 1000}s: ${JSON.stringify(quiet.state)}\n`);
    for (const crash of crashes) process.stdout.write(`  CRASH: ${crash.name} pid ${crash.pid} exited code=${crash.code} signal=${crash.signal} at t=${(crash.atMs / 1000).toFixed(1)}s\n`);
    for (const line of logDigest(runDir)) process.stdout.write(`${line}\n`);
    passed = !anyViolation(counts) && harnessErrors.length === 0 && crashes.length === 0;
  } catch (error) {
    harnessErrors.push((error as Error).stack ?? String(error));
  }

  await cleanup();
  timings.push(`total ${(clock() / 1000).toFixed(1)}s`);
  process.stdout.write(`timings: ${timings.join(', ')}\n`);
  for (const e of harnessErrors) process.stdout.write(`chaos: HARNESS ERROR (the counts below prove nothing): ${e}\n`);
  if (crashes.length > 0) process.stdout.write(`chaos: ${crashes.length} app process(es) exited without being told to (see CRASH above)\n`);
  process.stdout.write(`${finalLine(counts)}\n`);
  if (anyViolation(counts)) return 1;
  if (harnessErrors.length > 0) return 2;
  if (crashes.length > 0) return 3;
  return 0;
}

/**
 * A log line as text: the apps write JSON (pino) after the run's time stamp; its message and
 * error read as one sentence, `msg: error`. Anything else (a stack trace) stays as it is.
 */
function messageOf(line: string): string {
  const start = line.indexOf('{');
  if (start < 0) return line;
  try {
    const entry = JSON.parse(line.slice(start)) as { msg?: unknown; error?: unknown; err?: { message?: unknown } };
    const detail = entry.error ?? entry.err?.message;
    return `${String(entry.msg ?? '')}${detail === undefined ? '' : `: ${String(detail)}`}`;
  } catch {
    return line;
  }
}

/**
 * The apps' own complaints, counted by message: why fetches failed in the workers, why the
 * API answered 500. The first place to look when a count is not 0.
 */
function logDigest(runDir: string): string[] {
  const patterns: [string, RegExp][] = [
    // kafkajs's words for a throw out of the worker's onFetch (kafkajs calls a fetch a batch).
    ['worker fetch failures', /Error when calling eachBatch (.*)$/],
    ['worker stops', /(FATAL: .*|Crash: .*)$/],
    // A kafkajs consumer that stopped for good is replaced by the worker (partition-worker.ts).
    ['worker consumer restarts', /(consumer restarted|consumer restart failed.*)$/],
    ['API 500 answers', /500 on [A-Z]+ \S+: (.*)$/],
  ];
  const counts = patterns.map(() => new Map<string, number>());
  for (const file of readdirSync(runDir).filter((f) => f.endsWith('.log'))) {
    for (const line of readFileSync(join(runDir, file), 'utf8').split('\n')) {
      const text = messageOf(line);
      patterns.forEach(([, pattern], i) => {
        const match = pattern.exec(text);
        if (match) counts[i]!.set(match[1]!, (counts[i]!.get(match[1]!) ?? 0) + 1);
      });
    }
  }
  const lines: string[] = [];
  patterns.forEach(([title], i) => {
    const top = [...counts[i]!].sort((a, b) => b[1] - a[1]).slice(0, 6);
    if (top.length === 0) return;
    lines.push(`  ${title} (from the logs):`);
    for (const [message, n] of top) lines.push(`    ${n}x ${message.slice(0, 200)}`);
  });
  return lines;
}

async function waitUntil(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await sleep(250);
  }
  throw new HarnessError(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** After the faults: every service up, the API up, and the planned number of workers. */
async function ensureRunning(stack: Stack, apps: AppProcesses, workers: number, log: (line: string) => void): Promise<void> {
  const running = await stack.running();
  for (const service of SERVICES) {
    if (!running.has(service)) {
      log(`${service} is down after the faults: starting it`);
      await stack.start(service);
    }
  }
  if (!apps.api()) {
    log('the API is down after the faults: starting it');
    await apps.startApi();
  }
  while (apps.workers().length < workers) {
    log('fewer workers than planned after the faults: starting one');
    await apps.startWorker(apps.newWorkerId());
  }
}

/** A passing run leaves nothing behind: its database, topics and Redis keys go. */
async function tidyUp(stack: Stack, names: { database: string; topicPrefix: string; redisPrefix: string }): Promise<void> {
  const services = await stack.env();
  await runAdminStatement(services.databaseDirectUrl, `DROP DATABASE IF EXISTS ${names.database} WITH (FORCE)`);
  const kafka = createKafka({ brokers: services.kafkaBrokers.split(','), clientId: `chaos-cleanup` });
  const admin = new KafkaAdmin(kafka);
  try {
    const t = topicNames(names.topicPrefix);
    await admin.deleteTopics([t.commands, t.events, t.deadLetter]).catch(() => undefined);
  } finally {
    await admin.close();
  }
  const redis = createRedis(services.redisUrl, { commandTimeoutMs: 5_000 });
  try {
    await waitUntilReady(redis, 5_000);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${names.redisPrefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stdout.write(`chaos: HARNESS ERROR: ${(error as Error).stack ?? error}\n`);
    process.stdout.write(`${finalLine({ accepted: 0, faults: 0, lost: 0, duplicated: 0, orderViolations: 0, invariantViolations: 0, serverErrorsOnBadInput: 0 })}\n`);
    process.exit(2);
  },
);

/** How long a FLUSHALL waits for the harness's own connection to Redis to be back. */
const FLUSH_CONNECT_WAIT_MS = 20_000;

/**
 * FLUSHALL and SCRIPT FLUSH, once the harness's Redis connection is up. Right after a
 * redis-flush fault (Redis killed and started again), that connection may still be
 * reconnecting, and it queues nothing while down (enableOfflineQueue false): a flush then
 * failed as a harness error that ended the run's faults ("Stream isn't writeable", a 600 s
 * run of session 47). Both commands are idempotent, so a failed attempt is simply repeated.
 */
async function flushWhenConnected(flusher: ReturnType<typeof createRedis>): Promise<string> {
  const deadline = Date.now() + FLUSH_CONNECT_WAIT_MS;
  for (;;) {
    try {
      return `FLUSHALL ${await flusher.flushall()}, SCRIPT FLUSH ${String(await flusher.script('FLUSH'))}`;
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await sleep(250);
    }
  }
}

/**
 * One of the harness's own statements (a fault's SQL: each is idempotent), sent again when it
 * got no answer from the server (no SQLSTATE: a connect that timed out or was refused, a
 * connection closed): on a
 * box loaded past its two cores, the harness's fresh connection once took over 10 s, and the
 * fault was reported as failed to inject, a harness error (an integration run beside a chaos
 * run, a fuzzer and a review). An error the server answered is not retried.
 */
async function harnessStatement(pool: Pool, text: string, attempts = 3): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      return Object.values((await pool.query(text)).rows[0] ?? {})[0];
    } catch (error) {
      const answered = /^[0-9A-Z]{5}$/.test(String((error as { code?: unknown }).code ?? ''));
      if (answered || attempt >= attempts) throw error;
      await sleep(1_000);
    }
  }
}
