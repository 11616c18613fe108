// Proves that a worker whose start fails part-way closes what it had opened: an outside
// operator review saw a start that failed after the relay's producer began (Kafka
// unreachable) keep its connections and timers open, which held a test process for minutes.
// What is observable from outside is the worker's Redis connection: Redis counts its clients
// (nothing else uses this stack's Redis while the test runs: integration tests run in band).
import type Redis from 'ioredis';
import { createRedis, waitUntilReady } from '@ledgerline/redis';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { testServices } from '../../../test/support/env';
import { freePort, startWorker, waitFor } from '../../../test/support/worker';

describe('a worker start that fails part-way', () => {
  let db: TestDatabase;
  let redis: Redis;

  beforeAll(async () => {
    db = await createTestDatabase(1);
    redis = createRedis(testServices().redisUrl);
    await waitUntilReady(redis, 5_000);
  });

  afterAll(async () => {
    redis.disconnect();
    await db.drop();
  });

  async function redisClients(): Promise<number> {
    const list = (await redis.client('LIST')) as string;
    return list.split('\n').filter((line) => line.trim() !== '').length;
  }

  test('closes its Redis connection (and the rest it opened) when Kafka cannot be reached', async () => {
    const before = await redisClients();
    const started = startWorker(
      { databaseUrl: db.url, topicPrefix: 'no-such-topics', redisKeyPrefix: 'failed-start:' },
      { KAFKA_BROKERS: `127.0.0.1:${await freePort()}`, KAFKA_RETRIES: '0', KAFKA_CONNECTION_TIMEOUT_MS: '200' },
    );
    await expect(started).rejects.toThrow();
    // Its Redis client connected before Kafka failed it (ioredis connects at once).
    await waitFor('the failed start to close its Redis connection', async () => (await redisClients()) === before, 5_000);
  });
});
