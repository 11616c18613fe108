// Proves that a transfer answered 202 is never answered 404 while it waits for its worker,
// even when Redis lost its ACCEPTED record (restarted empty, flushed). Its Idempotency-Key
// claim in Postgres proves it was accepted: its claimant gets a 503 to retry, and once a
// worker applies it, the transfer. A 404 there once read as "never happened"; a client that
// resubmitted under a new key would have moved the money twice (found by an outside fault
// review). Against the real API, Kafka, Postgres through PgBouncer, Redis and a worker.
import { randomUUID } from 'node:crypto';
import { type RoutingTable, batchIdFor } from '@ledgerline/domain';
import { loadRouting } from '@ledgerline/postgres';
import { createRedis } from '@ledgerline/redis';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { Client, startApi, token } from '../../../test/support/api';
import { testServices } from '../../../test/support/env';
import { openAccountOn } from '../../../test/support/ledger';
import { startWorker, waitFor } from '../../../test/support/worker';

describe('a transfer whose ACCEPTED record Redis lost before a worker applied it', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let routing: RoutingTable;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    routing = await loadRouting(db.pool);
  });

  afterAll(async () => {
    await topics.delete();
    await db.drop();
  });

  test('its claimant gets 503 (also after a long poll), anyone else 404, and the transfer once applied', async () => {
    const redisKeyPrefix = `${topics.prefix}:`;
    const target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix };
    const api = await startApi(target);
    const redis = createRedis(testServices().redisUrl);
    let worker: Awaited<ReturnType<typeof startWorker>> | null = null;
    try {
      const ivan = new Client(api.url, await token('ivan'));
      const judy = new Client(api.url, await token('judy'));
      const from = await openAccountOn(db.pool, routing, 0, 'ivan');
      const to = await openAccountOn(db.pool, routing, 1, 'judy');
      // No worker runs: the transfer stays accepted, not applied (it will be refused for
      // lack of funds once applied; what matters here is the answer while it waits).
      const accepted = await ivan.post('/v1/transfers', { from_account_id: from, to_account_id: to, amount: '5', currency: 'USD' }, randomUUID());
      expect(accepted.status).toBe(202);
      const id = accepted.body.id as string;
      expect((await ivan.get(`/v1/transfers/${id}`)).body.status).toBe('ACCEPTED');

      // Redis restarted empty, or flushed: the ACCEPTED record is gone.
      expect(await redis.del(`${redisKeyPrefix}acc:${id}`)).toBe(1);
      const lost = await ivan.get(`/v1/transfers/${id}`);
      expect([lost.status, lost.body.error.code]).toEqual([503, 'DEPENDENCY_UNAVAILABLE']);
      expect(lost.body.error.message).toMatch(/is not applied yet .* same Idempotency-Key/);
      expect(lost.headers.get('retry-after')).toMatch(/^\d+$/);
      const polled = await ivan.get(`/v1/transfers/${id}?wait_ms=300`);
      expect(polled.status).toBe(503);
      // Someone who is not its claimant learns nothing: the same 404 as for any unknown id.
      expect((await judy.get(`/v1/transfers/${id}`)).status).toBe(404);

      worker = await startWorker(target);
      const applied = await waitFor('the transfer applied', async () => {
        const answer = await ivan.get(`/v1/transfers/${id}`);
        return answer.status === 200 ? answer : null;
      });
      expect(applied.body).toMatchObject({ id, status: 'REJECTED', reason: 'INSUFFICIENT_FUNDS' });

      // A hold the same way: placed with no worker, its record lost, then applied.
      await worker.stop();
      worker = null;
      const placed = await ivan.post('/v1/holds', { account_id: from, amount: '5', currency: 'USD', expires_in_s: 600 }, randomUUID());
      expect(placed.status).toBe(202);
      const holdId = placed.body.id as string;
      expect(await redis.del(`${redisKeyPrefix}acc:${holdId}`)).toBe(1);
      const holdLost = await ivan.get(`/v1/holds/${holdId}`);
      expect([holdLost.status, holdLost.body.error.message]).toEqual([503, expect.stringMatching(/^hold .* is not applied yet/)]);
      expect((await judy.get(`/v1/holds/${holdId}`)).status).toBe(404);
      worker = await startWorker(target);
      await waitFor('the hold applied', async () => (await ivan.get(`/v1/holds/${holdId}`)).status === 200);
    } finally {
      await worker?.stop();
      redis.disconnect();
      await api.stop();
    }
  }, 120_000);

  // A whole batch's claim (batchIdFor) is bound to no resource, ever: read as a command
  // accepted and not applied, it answered its claimant 503 "poll again" for good (migration
  // 0030). Its id appears in no answer, but anyone can derive it from the key.
  test("a batch's own id is not a command waiting: its claimant gets 404 for it, as a transfer and as a hold", async () => {
    const target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
    const api = await startApi(target);
    try {
      const ivan = new Client(api.url, await token('ivan'));
      const from = await openAccountOn(db.pool, routing, 0, 'ivan');
      const to = await openAccountOn(db.pool, routing, 1, 'ivan');
      const key = randomUUID();
      const batch = await ivan.post('/v1/batch', { items: [{ kind: 'TRANSFER', from_account_id: from, to_account_id: to, amount: '1', currency: 'USD' }] }, key);
      expect(batch.status).toBe(202);
      const batchId = batchIdFor('ivan', key);
      // The claim is there, and it is the batch's.
      const claim = await db.pool.query('SELECT principal, batch FROM idempotency_keys WHERE transfer_id = $1', [batchId]);
      expect(claim.rows).toEqual([{ principal: 'ivan', batch: true }]);
      for (const path of [`/v1/transfers/${batchId}`, `/v1/transfers/${batchId}?wait_ms=200`, `/v1/holds/${batchId}`]) {
        const answer = await ivan.get(path);
        expect([path, answer.status, answer.body.error.code]).toEqual([path, 404, 'NOT_FOUND']);
      }
    } finally {
      await api.stop();
    }
  }, 60_000);
});
