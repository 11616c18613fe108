/**
 * Everything the phases share: the plan, the services, the run's names (databases, topic
 * prefixes, Redis prefix), the fixture, and how to start the apps against the bench's own
 * corner of the stack.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import type { KafkaClient } from '@ledgerline/kafka';
import type { RoutingTable } from '@ledgerline/domain';
import type { BenchPlan } from './plan';
import type { Services } from './services';
import type { Fixture } from './fixture';
import { type Managed, spawnNode } from './processes';
import { CpuMeter, type PidSource, type TickSource, type TreeSource, pidFromFile, reapedChildrenTicks } from './cpu';
import { PgMeter } from './pgstats';
import { withDatabase } from '@ledgerline/postgres';

export const API_SCRIPT = 'apps/ingest-api/src/main.ts';
/**
 * BENCH_WORKER_SCRIPT swaps in another worker entry point, for experiments only (e.g. a
 * patched copy outside the repo, to measure a proposed fix before it lands); the report
 * then says so on its first line.
 */
export const WORKER_SCRIPT = process.env.BENCH_WORKER_SCRIPT || 'apps/partition-worker/src/main.ts';
export const WORKER_SCRIPT_OVERRIDDEN = Boolean(process.env.BENCH_WORKER_SCRIPT);
export const BASELINE_SCRIPT = 'loadtest/baseline/server.ts';

export interface BenchContext {
  plan: BenchPlan;
  services: Services;
  repoRoot: string;
  /** bench<base36 time>: topic prefixes, Redis prefix and principals derive from it. */
  runId: string;
  runDir: string;
  benchDb: string;
  baseDb: string;
  /** The ideal phase's own database (PostgreSQL alone, smallest double-entry schema). */
  idealDb: string;
  pool: Pool;
  basePool: Pool;
  kafka: KafkaClient;
  routing: RoutingTable;
  fixture: Fixture;
  fixturePath: string;
  jwtSecret: string;
  k6Bin: string;
  redisPrefix: string;
  /** The topic prefix the API and its workers use during the API phases. */
  mainPrefix: string;
  /** Every topic prefix created, for cleanup. */
  prefixes: string[];
  stackDir: string;
}

export function apiAvailable(repoRoot: string): boolean {
  return existsSync(join(repoRoot, API_SCRIPT));
}

/**
 * The bench drives a few principals far past what one client may send: the per-principal
 * limits and the accounts quota are raised explicitly for it (the report says so), so the
 * bench measures the pipeline, not the rate limiter.
 */
export const BENCH_RATE_LIMITS: Record<string, string> = {
  API_RATE_WRITES_PER_S: '1000000',
  API_RATE_WRITES_BURST: '1000000',
  API_RATE_READS_PER_S: '1000000',
  API_RATE_READS_BURST: '1000000',
  API_ACCOUNTS_PER_PRINCIPAL_MAX: '100000000',
  // A principal's share of the waiting long polls: the e2e phase's one principal may hold
  // more than the default 1,000 while its backlog waits.
  API_LONG_POLLS_PER_PRINCIPAL_MAX: '1000000',
};

function appEnv(ctx: BenchContext, topicPrefix: string): Record<string, string> {
  return {
    LEDGERLINE_ENV: 'development',
    KAFKA_BROKERS: ctx.services.kafkaBrokers.join(','),
    KAFKA_TOPIC_PREFIX: topicPrefix,
    API_DATABASE_URL: withDatabase(ctx.services.apiDatabaseUrl, ctx.benchDb),
    WORKER_DATABASE_URL: withDatabase(ctx.services.workerDatabaseUrl, ctx.benchDb),
    ...BENCH_RATE_LIMITS,
    REDIS_URL: ctx.services.redisUrl,
    REDIS_KEY_PREFIX: ctx.redisPrefix,
    JWT_SECRET: ctx.jwtSecret,
  };
}

/**
 * The partition workers, as `npm start` runs them (scripts/run-local.ts: at WORKERS_NICE),
 * except that the periodic reconcile is off: it scans the whole ledger (in the worker holding
 * partition 0), which would land in the middle of a measurement window (its cost is measured
 * separately with `--reconcile`).
 */
export function startWorkers(ctx: BenchContext, topicPrefix: string, label: string, profile: boolean): Managed[] {
  return Array.from({ length: ctx.plan.workers }, (_, i) =>
    spawnNode(`${label}-worker-${i + 1}`, WORKER_SCRIPT, {
      logDir: ctx.runDir,
      cpuProfDir: profile ? join(ctx.runDir, 'profiles') : undefined,
      nice: ctx.plan.workersNice,
      env: {
        ...appEnv(ctx, topicPrefix),
        WORKER_ID: `${label}-worker-${i + 1}`,
        WORKER_RECONCILE_INTERVAL_MS: '0',
        WORKER_OPS_PORT: String(workerOpsPort(ctx, i)),
      },
    }),
  );
}

/** Worker i's ops server (/readyz, /metrics): after the API's port, one each. */
export function workerOpsPort(ctx: BenchContext, i: number): number {
  return ctx.plan.apiPort + 101 + i;
}

export function startApi(ctx: BenchContext, topicPrefix: string, label: string, profile: boolean): Managed {
  return spawnNode(`${label}-api`, API_SCRIPT, {
    logDir: ctx.runDir,
    cpuProfDir: profile ? join(ctx.runDir, 'profiles') : undefined,
    env: { ...appEnv(ctx, topicPrefix), PORT: String(ctx.plan.apiPort), HOST: '127.0.0.1' },
  });
}

export function startBaseline(ctx: BenchContext): Managed {
  return spawnNode('baseline', BASELINE_SCRIPT, {
    logDir: ctx.runDir,
    env: {
      DATABASE_URL: withDatabase(ctx.services.databaseUrl, ctx.baseDb),
      JWT_SECRET: ctx.jwtSecret,
      BASELINE_PORT: String(ctx.plan.baselinePort),
    },
  });
}

/** CPU groups: the given processes plus the stack's services, found through their pid files. */
export function cpuMeter(
  ctx: BenchContext,
  procs: Record<string, readonly (Managed | null)[]>,
  pids: Record<string, number[]> = {},
  withReapedChildren?: string,
): CpuMeter {
  const groups: Record<string, PidSource | TickSource | TreeSource> = {};
  // k6 (or any child that exits inside the window) is only measurable once reaped.
  if (withReapedChildren) groups[withReapedChildren] = { ticks: reapedChildrenTicks };
  for (const [name, list] of Object.entries(pids)) groups[name] = () => list;
  for (const [name, list] of Object.entries(procs)) {
    groups[name] = () => list.filter((p): p is Managed => p !== null && p.alive).map((p) => p.pid);
  }
  // Each service with the processes it forks, those that exit inside the window included
  // (Postgres forks a backend per connection and an autovacuum worker per run).
  const tree = (pidFile: string): TreeSource => ({ root: () => pidFromFile(join(ctx.stackDir, pidFile)) });
  groups.postgres = tree('postgres/data/postmaster.pid');
  groups.kafka = tree('kafka/kafka.pid');
  groups.pgbouncer = tree('pgbouncer/pgbouncer.pid');
  groups.redis = tree('redis/redis.pid');
  return new CpuMeter(groups);
}

/** Postgres counters for one of the bench databases (statements, commits, WAL by kind). */
export function pgMeter(ctx: BenchContext, database: string): PgMeter {
  return new PgMeter(ctx.services.databaseDirectUrl, database, withDatabase(ctx.services.databaseDirectUrl, database));
}
