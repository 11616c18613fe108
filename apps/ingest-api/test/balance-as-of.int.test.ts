// Proves that a balance read from Postgres (a cache miss: its key expired after 24 h, Redis was
// flushed or is down; or a status read's read-repair, which fills the cache) answers an `as_of`
// at which the ledger held that balance (docs/api.md, GET .../balance): given back as `at`, it
// reads the same figure. It once answered the account row's updated_at, the start of the
// transaction that wrote the entry (Postgres's now()), which precedes the entries' own time (read
// once that transaction holds its partition's row, migration 0019): the point-in-time read of
// that `as_of` showed the balance before the entry. A write that waits for its partition's row
// makes the gap as wide as the wait; here a lock held by the test stands for a busy partition.
// Against the real API, a worker, Kafka, Postgres through PgBouncer and Redis.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadRouting } from '@ledgerline/postgres';
import { createRedis, waitUntilReady } from '@ledgerline/redis';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { Client, startApi, token } from '../../../test/support/api';
import { testServices } from '../../../test/support/env';
import { startWorker, waitFor } from '../../../test/support/worker';

describe("a balance read from Postgres is as of an instant that reads it back", () => {
  const redis = createRedis(testServices().redisUrl);
  let db: TestDatabase;
  let topics: TestTopics;
  let target: { databaseUrl: string; topicPrefix: string; redisKeyPrefix: string };
  let api: Awaited<ReturnType<typeof startApi>>;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let alice: Client;
  let admin: Client;

  beforeAll(async () => {
    await waitUntilReady(redis, 10_000);
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
    worker = await startWorker(target);
    api = await startApi(target);
    alice = new Client(api.url, await token('alice'));
    admin = new Client(api.url, await token('ops', 'ledger:read ledger:write ledger:admin'));
  });

  afterAll(async () => {
    redis.disconnect();
    await api?.stop();
    await worker?.stop();
    expect(worker?.fatal ?? []).toEqual([]);
    await topics?.delete();
    await db?.drop();
  });

  /** Deposits `amount`; its partition's row is held by another transaction for a while first, when `slowed`. */
  async function deposit(account: string, amount: string, slowed: boolean): Promise<string> {
    const partition = (await loadRouting(db.pool)).partitionOf(account);
    const lock = slowed ? await db.pool.connect() : null;
    try {
      if (lock) {
        await lock.query('BEGIN');
        await lock.query('SELECT 1 FROM partition_state WHERE partition = $1 FOR UPDATE', [partition]);
      }
      const sent = await admin.post('/v1/deposits', { account_id: account, amount, currency: 'USD' }, randomUUID());
      expect(sent.status).toBe(202);
      if (lock) {
        // The worker's write has started (its transaction's now() is taken) and waits for the row.
        await waitFor('the write waiting for its partition', async () => Number((await db.pool.query('SELECT count(*) AS n FROM pg_locks WHERE NOT granted')).rows[0].n) > 0);
        await sleep(50);
        await lock.query('COMMIT');
      }
      const done = await admin.get(`/v1/transfers/${sent.body.id as string}?wait_ms=15000`);
      expect(done.body.status).toBe('COMPLETED');
      return sent.body.id as string;
    } finally {
      lock?.release();
    }
  }

  /** The figure shown now, and the point-in-time read of its own `as_of`: the same balance. */
  async function expectAsOfReadsBack(account: string, balance: string, version: string): Promise<void> {
    const shown = await alice.get(`/v1/accounts/${account}/balance`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ balance, version });
    const atAsOf = await alice.get(`/v1/accounts/${account}/balance?at=${encodeURIComponent(shown.body.as_of as string)}`);
    expect(atAsOf.status).toBe(200);
    expect(atAsOf.body).toMatchObject({ balance, version });
  }

  test('a cache miss answers from Postgres with an as_of that reads the same balance back', async () => {
    const account = (await alice.post('/v1/accounts', { currency: 'USD' })).body.id as string;
    await deposit(account, '100', false);
    await deposit(account, '50', true);
    await expectAsOfReadsBack(account, '150', '2'); // from the worker's own refresh
    await redis.del(`${target.redisKeyPrefix}bal:${account}`); // expired, evicted, flushed
    await expectAsOfReadsBack(account, '150', '2');
  });

  test("a status read's read-repair caches an as_of that reads the same balance back", async () => {
    const account = (await alice.post('/v1/accounts', { currency: 'USD' })).body.id as string;
    await deposit(account, '100', false);
    const id = await deposit(account, '50', true);
    await redis.del(`${target.redisKeyPrefix}bal:${account}`);
    expect((await admin.get(`/v1/transfers/${id}`)).body.status).toBe('COMPLETED'); // repairs the cache from Postgres
    expect(await redis.exists(`${target.redisKeyPrefix}bal:${account}`)).toBe(1);
    await expectAsOfReadsBack(account, '150', '2');
  });
});
