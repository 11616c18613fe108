/**
 * The bench's own corner of the dev stack: its databases (created fresh each run, migrated
 * with the project's own migrations, reached through PgBouncer's wildcard entry), its topic
 * prefixes, its Redis key prefix, and the probes that tell when the workers have caught up.
 */
import type { Pool } from 'pg';
import Redis from 'ioredis';
import { createPool, ensureRouting, migrate, runAdminStatement, withDatabase } from '@ledgerline/postgres';
import { KafkaAdmin, type KafkaClient, SINGLE_BROKER_DURABILITY, topicNames } from '@ledgerline/kafka';
import { log, requireEnv, sleep } from './util';

export interface Services {
  kafkaBrokers: string[];
  /** Through PgBouncer as the schema owner (migrations, fixtures, the baseline), database name replaced per use. */
  databaseUrl: string;
  /** Through PgBouncer as the apps' own roles. */
  apiDatabaseUrl: string;
  workerDatabaseUrl: string;
  /** Straight to Postgres: CREATE/DROP DATABASE and pg_stat_statements only. */
  databaseDirectUrl: string;
  redisUrl: string;
}

export function servicesFromEnv(): Services {
  return {
    kafkaBrokers: requireEnv('KAFKA_BROKERS').split(','),
    databaseUrl: requireEnv('OWNER_DATABASE_URL'),
    apiDatabaseUrl: requireEnv('API_DATABASE_URL'),
    workerDatabaseUrl: requireEnv('WORKER_DATABASE_URL'),
    databaseDirectUrl: requireEnv('DATABASE_DIRECT_URL'),
    redisUrl: requireEnv('REDIS_URL'),
  };
}

const SAFE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export async function recreateDatabase(services: Services, name: string): Promise<void> {
  if (!SAFE_NAME.test(name)) throw new Error(`unsafe database name ${name}`);
  await runAdminStatement(services.databaseDirectUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  // Owned by ledgerline_owner, which migrates it, as `ledgerctl migrate` does.
  await runAdminStatement(services.databaseDirectUrl, `CREATE DATABASE ${name} OWNER ledgerline_owner`);
  // WAL by kind for the report (pg_walinspect ships with PostgreSQL 15's contrib); optional.
  await runAdminStatement(withDatabase(services.databaseDirectUrl, name), 'CREATE EXTENSION IF NOT EXISTS pg_walinspect').catch((error) =>
    log(`pg_walinspect unavailable (${(error as Error).message}): the report will not break WAL down`),
  );
}

export async function dropDatabase(services: Services, name: string): Promise<void> {
  if (!SAFE_NAME.test(name)) throw new Error(`unsafe database name ${name}`);
  await runAdminStatement(services.databaseDirectUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

/** Migrates a fresh database through PgBouncer and initialises its routing table. */
export async function migrateDatabase(services: Services, name: string, partitions: number): Promise<Pool> {
  const pool = createPool({
    connectionString: withDatabase(services.databaseUrl, name),
    connectionsMax: 16,
    connectTimeoutMs: 10_000,
    applicationName: 'bench-driver',
  });
  await migrate(pool);
  await ensureRouting(pool, partitions);
  return pool;
}

export async function createTopics(kafka: KafkaClient, prefix: string, partitions: number): Promise<void> {
  const admin = new KafkaAdmin(kafka);
  try {
    await admin.ensureTopics(topicNames(prefix), partitions, SINGLE_BROKER_DURABILITY);
  } finally {
    await admin.close();
  }
}

/** Tidiness, not correctness: every prefix is unique to its run. */
export async function deleteTopicsAndGroups(kafka: KafkaClient, prefixes: readonly string[]): Promise<void> {
  const admin = new KafkaAdmin(kafka);
  try {
    const existing = new Set(await admin.listTopics());
    const topics = prefixes.flatMap((p) => Object.values(topicNames(p))).filter((t) => existing.has(t));
    await admin.deleteTopics(topics).catch((e) => log(`topic cleanup: ${(e as Error).message}`));
    const groups = prefixes.map((p) => `${p}.partition-workers`);
    await admin.deleteGroups(groups).catch(() => undefined);
  } finally {
    await admin.close();
  }
}

const REDIS_SCAN_ROUNDS_MAX = 100_000;

export async function deleteRedisPrefix(redisUrl: string, prefix: string): Promise<number> {
  if (!/^bench[a-z0-9]+:$/.test(prefix)) throw new Error(`refusing to delete Redis keys under ${prefix}`);
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    for (let round = 0; round < REDIS_SCAN_ROUNDS_MAX; round++) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 2000);
      if (keys.length > 0) deleted += await redis.unlink(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
  } finally {
    redis.disconnect();
  }
  return deleted;
}

export async function partitionOffsets(pool: Pool, topic: string): Promise<Map<number, bigint>> {
  const result = await pool.query('SELECT partition, next_offset FROM partition_state WHERE topic = $1', [topic]);
  return new Map(result.rows.map((r) => [Number(r.partition), BigInt(r.next_offset)]));
}

export async function processingCount(pool: Pool): Promise<number> {
  const result = await pool.query("SELECT count(*)::int AS n FROM transfers WHERE status = 'PROCESSING'");
  return Number(result.rows[0].n);
}

/** No progress for this long while work is pending means the workers are stuck. */
export const STALL_MS = 30_000;

export interface Settled<M = null> {
  /** How long it took (to `at`), or null when it did not happen. */
  ms: number | null;
  /** When (driver clock) the first of the caught-up polls that ended the wait answered; null when it did not happen. */
  at: number | null;
  /** What the caller's `markCaughtUp` took at that same poll (a CPU snapshot); null without one. */
  mark: M | null;
  /** Why not: 'timeout' or 'stalled' (nothing applied for STALL_MS while work was pending). */
  reason: 'timeout' | 'stalled' | null;
}

/** Caught-up polls in a row that end waitSettled: a credit leg in flight through the outbox can make one poll look done. */
const CAUGHT_UP_POLLS = 2;

/**
 * Caught-up polls in a row. The work was done by the first poll of the streak that ends the
 * wait, not by the last: the ones after it only confirm it. Until an outside review the drain's
 * settled clock stopped at the confirming poll, one 250 ms sleep and one or two polls late
 * (2-3% of a quick run's 16 s drain); and until the next one its CPU window still did, so
 * each poll may carry a mark (a CPU snapshot) that is handed back with the first poll's time.
 */
export class CaughtUpStreak<M = null> {
  private first: { at: number; mark: M | null } | null = null;
  private polls = 0;

  constructor(private readonly needed: number) {}

  /** A poll answered at `at`; once `needed` in a row were caught up, the first of them (its time and mark). */
  observe(at: number, caughtUp: boolean, mark: M | null = null): { at: number; mark: M | null } | null {
    if (!caughtUp) {
      this.polls = 0;
      this.first = null;
      return null;
    }
    if (this.polls === 0) this.first = { at, mark };
    this.polls++;
    return this.polls >= this.needed ? this.first : null;
  }
}

/**
 * Waits until the workers have applied everything in the topic (stored next_offset = high
 * watermark on every partition, twice in a row so a leg in flight through the outbox is
 * not missed) and no transfer is half-way (PROCESSING). Gives up after `timeoutMs`, or
 * sooner when nothing moves for STALL_MS; the caller reports it and the bench goes on.
 * Settled at the first of the two polls (CaughtUpStreak); `markCaughtUp`, if given, is called
 * at each caught-up poll, and what it returned at that first one comes back as `mark`.
 */
export async function waitSettled<M = null>(pool: Pool, admin: KafkaAdmin, topic: string, timeoutMs: number, markCaughtUp?: () => M): Promise<Settled<M>> {
  const started = Date.now();
  const streak = new CaughtUpStreak<M>(CAUGHT_UP_POLLS);
  let lastApplied = -1n;
  let lastProgressAt = started;
  while (Date.now() - started < timeoutMs) {
    const [high, applied, processing] = await Promise.all([admin.highWatermarks(topic), partitionOffsets(pool, topic), processingCount(pool)]);
    const answeredAt = Date.now();
    let caughtUp = processing === 0;
    let appliedSum = 0n;
    for (const [partition, end] of high) {
      const at = applied.get(partition) ?? 0n;
      appliedSum += at;
      if (at < end) caughtUp = false;
    }
    const settled = streak.observe(answeredAt, caughtUp, caughtUp && markCaughtUp ? markCaughtUp() : null);
    if (settled !== null) return { ms: settled.at - started, at: settled.at, mark: settled.mark, reason: null };
    if (appliedSum !== lastApplied) {
      lastApplied = appliedSum;
      lastProgressAt = answeredAt;
    } else if (!caughtUp && answeredAt - lastProgressAt > STALL_MS) {
      return { ms: null, at: null, mark: null, reason: 'stalled' };
    }
    await sleep(250);
  }
  return { ms: null, at: null, mark: null, reason: 'timeout' };
}
