// Proves that a batch whose commit succeeded but whose answer the worker never got (its
// server connection ended after the commit: a session killed while it waited for a
// synchronous standby, a PgBouncer or Postgres restart, the write timeout closing it) still
// reaches the balance cache. The worker retries the write, the fence refuses it (LL001: the
// offset moved on) and the partition resumes from the stored offset, so the money is right;
// but nothing committed the batch in this process's eyes, so nothing refreshed the cache, and
// an account that sees no further commit was served its older balance from Redis until the
// key expired (24 h). `ledgerctl reconcile` allows a cache behind the ledger, so it said
// nothing either.
//
// How the lost answer is made real: Postgres waits, after writing a commit locally, for a
// synchronous standby that does not exist (synchronous_standby_names), for the worker's role
// in this test's database only (synchronous_commit is `local` for everyone else meanwhile).
// The commit is then durable and visible; terminating the waiting session is what an operator
// does to sessions stuck on a lost standby, and the worker gets an error for a write that
// committed.
import type { Pool } from 'pg';
import type Redis from 'ioredis';
import { createPool, withDatabase } from '@ledgerline/postgres';
import { BalanceCache, createRedis, waitUntilReady } from '@ledgerline/redis';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { TestPublisher, balanceOf, deposit, openAccount } from '../../../test/support/ledger';
import { testServices } from '../../../test/support/env';
import { startWorker, waitFor } from '../../../test/support/worker';

describe('a batch committed whose answer was lost', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let publisher: TestPublisher;
  let redis: Redis;
  let cache: BalanceCache;
  let admin: Pool;

  /** Commits of the worker's role in this database wait for a standby that never answers; everyone else's do not. */
  async function holdWorkerCommits(): Promise<void> {
    await admin.query(`ALTER ROLE ledgerline_worker IN DATABASE ${db.name} SET synchronous_commit = 'on'`);
    await admin.query(`ALTER SYSTEM SET synchronous_commit = 'local'`);
    await admin.query(`ALTER SYSTEM SET synchronous_standby_names = 'll_test_absent_standby'`);
    await admin.query('SELECT pg_reload_conf()');
    // The role's setting applies to new sessions: end the worker's, PgBouncer opens new ones.
    await terminateWorkerSessions();
  }

  async function releaseCommits(): Promise<void> {
    await admin.query(`ALTER ROLE ledgerline_worker IN DATABASE ${db.name} RESET synchronous_commit`);
    await admin.query('ALTER SYSTEM RESET synchronous_standby_names');
    await admin.query('ALTER SYSTEM RESET synchronous_commit');
    await admin.query('SELECT pg_reload_conf()');
  }

  async function terminateWorkerSessions(where = 'true'): Promise<number> {
    const r = await admin.query(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND usename = 'ledgerline_worker' AND ${where}`,
      [db.name],
    );
    return r.rows[0].n as number;
  }

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    const redisKeyPrefix = `${topics.prefix}:`;
    admin = createPool({ connectionString: withDatabase(testServices().databaseDirectUrl, db.name), connectionsMax: 2, connectTimeoutMs: 10_000, applicationName: 'test-admin' });
    await admin.query(`SET synchronous_commit = 'local'`);
    redis = createRedis(testServices().redisUrl);
    await waitUntilReady(redis, 5_000);
    worker = await startWorker({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix }, { WORKER_WRITE_RETRY_DELAY_FIRST_MS: '50', WORKER_WRITE_RETRY_DELAY_MAX_MS: '200' });
    publisher = await TestPublisher.create(topics, db.pool);
    cache = new BalanceCache(redis, redisKeyPrefix);
  });

  afterAll(async () => {
    await releaseCommits().catch(() => undefined);
    await publisher.stop();
    await worker.stop();
    expect(worker.fatal).toEqual([]);
    redis.disconnect();
    await admin.end();
    await topics.delete();
    await db.drop();
  });

  test("the cache ends at the committed balance, though the worker never heard of the commit", async () => {
    const account = await openAccount(db.pool, 'erin');
    await publisher.publish(deposit(account, 100n));
    await waitFor('the first balance cached', async () => (await cache.read(account))?.balance === 100n);

    try {
      await holdWorkerCommits();
      await publisher.publish(deposit(account, 50n));
      // The batch is committed (durable, visible once its session ends) and waits for the
      // standby: its session is the one to end.
      const batchWaiting = `wait_event = 'SyncRep' AND query LIKE '%ledger_apply_batch%'`;
      await waitFor('the deposit committed, its answer held back', async () => {
        const waiting = await admin.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND usename = 'ledgerline_worker' AND ${batchWaiting}`, [db.name]);
        return waiting.rowCount! > 0;
      });
      expect(await terminateWorkerSessions(batchWaiting)).toBe(1);
    } finally {
      await releaseCommits();
    }

    // The money is right either way; the fault is real: the worker's retry met its fence.
    await waitFor('the deposit visible', async () => (await balanceOf(db.pool, account)) === 150n);
    await waitFor('the retry refused by the fence of its own committed write', async () => (await worker.metrics.fenced.get()).values.reduce((sum, v) => sum + v.value, 0) > 0);
    await waitFor('the cache shows the committed deposit', async () => (await cache.read(account))?.balance === 150n, 10_000);
    expect((await cache.read(account))?.seq).toBe(2n);
  });
});
