// Proves that a balance-cache refresh Redis refused is made good: the worker connects to the
// real Redis as a user of its own, whose write permission is taken away (ACL) while the
// worker applies a deposit. The cache keeps the older balance while Redis refuses, and holds
// the ledger's balance once the user may write again, without any further commit on the
// account. Only this worker's user is touched: other clients of the Redis are not.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type Redis from 'ioredis';
import { BalanceCache, createRedis, waitUntilReady } from '@ledgerline/redis';
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
  const workerUser = `ll-refresh-${randomUUID()}`;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    const redisKeyPrefix = `${topics.prefix}:`;
    redis = createRedis(testServices().redisUrl);
    await waitUntilReady(redis, 5_000);
    const password = randomUUID();
    await redis.call('ACL', 'SETUSER', workerUser, 'on', `>${password}`, '~*', '&*', '+@all');
    const workerRedisUrl = new URL(testServices().redisUrl);
    workerRedisUrl.username = workerUser;
    workerRedisUrl.password = password;
    worker = await startWorker(
      { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix },
      { REDIS_URL: workerRedisUrl.toString(), WORKER_BALANCE_REFRESH_RETRY_DELAY_FIRST_MS: '50', WORKER_BALANCE_REFRESH_RETRY_DELAY_MAX_MS: '200' },
    );
    publisher = await TestPublisher.create(topics, db.pool);
    cache = new BalanceCache(redis, redisKeyPrefix);
  });

  afterAll(async () => {
    await publisher.stop();
    await worker.stop();
    expect(worker.fatal).toEqual([]);
    await redis.call('ACL', 'DELUSER', workerUser);
    redis.disconnect();
    await topics.delete();
    await db.drop();
  });

  test('the refresh is sent again until Redis takes it: the cache ends at the ledger balance', async () => {
    const account = await openAccount(db.pool, 'dana');
    await publisher.publish(deposit(account, 100n));
    await waitFor('the first balance cached', async () => (await cache.read(account))?.balance === 100n);

    await redis.call('ACL', 'SETUSER', workerUser, '-@write'); // the worker's writes now answer NOPERM
    try {
      await publisher.publish(deposit(account, 50n));
      await waitFor('the second deposit applied', async () => (await balanceOf(db.pool, account)) === 150n);
      await sleep(400); // its refresh, and retries after it, refused
      expect((await cache.read(account))?.balance).toBe(100n); // the fault is real: the cache is behind
      expect((await worker.metrics.balanceRefreshOwed.get()).values[0]?.value).toBe(2); // the account and its partition's external account
    } finally {
      await redis.call('ACL', 'SETUSER', workerUser, '+@all');
    }
    await waitFor('the cache made good', async () => (await cache.read(account))?.balance === 150n, 10_000);
    expect((await cache.read(account))?.seq).toBe(2n);
  });
});
