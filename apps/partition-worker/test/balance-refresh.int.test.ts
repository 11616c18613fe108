// Proves that a balance-cache refresh Redis refused is made good: a real Redis is made to
// refuse every write (maxmemory below what it holds, no eviction: each write answers OOM)
// while a worker applies a deposit; the cache keeps the older balance while Redis refuses,
// and holds the ledger's balance once Redis takes writes again, without any further commit
// on the account.
import { setTimeout as sleep } from 'node:timers/promises';
import type Redis from 'ioredis';
import { BalanceCache, createRedis } from '@ledgerline/redis';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { TestPublisher, balanceOf, deposit, openAccount } from '../../../test/support/ledger';
import { testServices } from '../../../test/support/env';
import { startWorker, waitFor } from '../../../test/support/worker';

describe('balance-cache refreshes Redis failed', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let publisher: TestPublisher;
  let redis: Redis;
  let cache: BalanceCache;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    const redisKeyPrefix = `${topics.prefix}:`;
    worker = await startWorker(
      { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix },
      { WORKER_BALANCE_REFRESH_RETRY_DELAY_FIRST_MS: '50', WORKER_BALANCE_REFRESH_RETRY_DELAY_MAX_MS: '200' },
    );
    publisher = await TestPublisher.create(topics, db.pool);
    redis = createRedis(testServices().redisUrl);
    cache = new BalanceCache(redis, redisKeyPrefix);
  });

  afterAll(async () => {
    await publisher.stop();
    await worker.stop();
    expect(worker.fatal).toEqual([]);
    redis.disconnect();
    await topics.delete();
    await db.drop();
  });

  test('the refresh is sent again until Redis takes it: the cache ends at the ledger balance', async () => {
    const account = await openAccount(db.pool, 'dana');
    await publisher.publish(deposit(account, 100n));
    await waitFor('the first balance cached', async () => (await cache.read(account))?.balance === 100n);

    const [, maxmemory] = (await redis.config('GET', 'maxmemory')) as [string, string];
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as [string, string];
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'maxmemory', '1');
    try {
      await publisher.publish(deposit(account, 50n));
      await waitFor('the second deposit applied', async () => (await balanceOf(db.pool, account)) === 150n);
      await sleep(400); // its refresh, and retries after it, refused
      expect((await cache.read(account))?.balance).toBe(100n); // the fault is real: the cache is behind
      expect((await worker.metrics.balanceRefreshOwed.get()).values[0]?.value).toBe(2); // the account and its partition's external account
    } finally {
      await redis.config('SET', 'maxmemory', maxmemory);
      await redis.config('SET', 'maxmemory-policy', policy);
    }
    await waitFor('the cache made good', async () => (await cache.read(account))?.balance === 150n, 10_000);
    expect((await cache.read(account))?.seq).toBe(2n);
  });
});
