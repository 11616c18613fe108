// A reversal of a transfer that is accepted but not applied yet (docs/api.md, Reversals):
// whoever may read the original sees it ACCEPTED (`GET /v1/transfers/{id}`), so a reversal of
// it is 409 TRANSFER_NOT_REVERSIBLE ("not a COMPLETED transfer"), never the 404 that means
// "no such transfer, or not yours" (an outside integrator's review: a payee who had just read
// the transfer was told it did not exist, and a client taking 404 at its word gives up on it).
// No worker runs here, so every command stays ACCEPTED in Kafka for the whole test.
import { randomUUID } from 'node:crypto';
import { createRedis } from '@ledgerline/redis';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { Client, startApi, token } from '../../../test/support/api';
import { testServices } from '../../../test/support/env';

describe('a reversal of a transfer not applied yet', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let api: Awaited<ReturnType<typeof startApi>>;
  let alice: Client;
  let bob: Client;
  let carol: Client;
  let admin: Client;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    api = await startApi({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` });
    alice = new Client(api.url, await token('alice'));
    bob = new Client(api.url, await token('bob'));
    carol = new Client(api.url, await token('carol'));
    admin = new Client(api.url, await token('ops', 'ledger:admin'));
  });

  afterAll(async () => {
    await api.stop();
    await topics.delete();
    await db.drop();
  });

  test('is 409 TRANSFER_NOT_REVERSIBLE to whoever may read it, and 404 to anyone else', async () => {
    const from = (await alice.post('/v1/accounts', { currency: 'USD' })).body.id;
    const to = (await bob.post('/v1/accounts', { currency: 'USD' })).body.id;
    const original = await alice.post('/v1/transfers', { from_account_id: from, to_account_id: to, amount: '10', currency: 'USD' });
    expect(original.status).toBe(202);
    // The payee reads it: it exists, ACCEPTED.
    const read = await bob.get(`/v1/transfers/${original.body.id}`);
    expect([read.status, read.body.status]).toEqual([200, 'ACCEPTED']);

    for (const reader of [bob, admin]) {
      const reversal = await reader.post(`/v1/transfers/${original.body.id}/reversals`, {});
      expect([reversal.status, reversal.body.error?.code]).toEqual([409, 'TRANSFER_NOT_REVERSIBLE']);
    }
    // Someone who may not read it, and an id nobody sent, still get 404.
    const stranger = await carol.post(`/v1/transfers/${original.body.id}/reversals`, {});
    expect([stranger.status, stranger.body.error?.code]).toEqual([404, 'NOT_FOUND']);
    const unknown = await bob.post(`/v1/transfers/${randomUUID()}/reversals`, {});
    expect([unknown.status, unknown.body.error?.code]).toEqual([404, 'NOT_FOUND']);
  });

  test('its record lost with the cache: its claimant still gets 409, anyone else 404', async () => {
    const redis = createRedis(testServices().redisUrl);
    try {
      const from = (await alice.post('/v1/accounts', { currency: 'USD' })).body.id;
      const to = (await bob.post('/v1/accounts', { currency: 'USD' })).body.id;
      const original = await alice.post('/v1/transfers', { from_account_id: from, to_account_id: to, amount: '10', currency: 'USD' });
      expect(original.status).toBe(202);
      // Redis restarted empty, or flushed: only the Idempotency-Key claim shows the transfer.
      expect(await redis.del(`${topics.prefix}:acc:${original.body.id}`)).toBe(1);
      expect((await alice.get(`/v1/transfers/${original.body.id}`)).status).toBe(503);
      for (const claimant of [alice, admin]) {
        const reversal = await claimant.post(`/v1/transfers/${original.body.id}/reversals`, {});
        expect([reversal.status, reversal.body.error?.code]).toEqual([409, 'TRANSFER_NOT_REVERSIBLE']);
      }
      const payee = await bob.post(`/v1/transfers/${original.body.id}/reversals`, {});
      expect([payee.status, payee.body.error?.code]).toEqual([404, 'NOT_FOUND']);
    } finally {
      redis.disconnect();
    }
  });
});
