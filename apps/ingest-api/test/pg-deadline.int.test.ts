// Proves the API's Postgres statement deadline (API_PG_QUERY_TIMEOUT_MS) against the real
// API and Postgres: a request whose statement is not answered in time answers 503 with
// Retry-After instead of holding the request (and its in-flight slot) for as long as
// Postgres keeps it waiting, and the client's retry with the same Idempotency-Key is then
// accepted. The statement is held by a row lock: the transfer's claim waits on a row another
// transaction inserted and has not committed.
import { transferIdFor } from '@ledgerline/domain';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { Client, startApi, token } from '../../../test/support/api';

describe('a Postgres statement past the API deadline', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let api: Awaited<ReturnType<typeof startApi>>;
  let alice: Client;

  beforeAll(async () => {
    db = await createTestDatabase(1);
    topics = await createTestTopics(1);
    api = await startApi({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` }, { API_PG_QUERY_TIMEOUT_MS: '300' });
    alice = new Client(api.url, await token('alice'));
  });

  afterAll(async () => {
    await api.stop();
    await topics.delete();
    await db.drop();
  });

  test('answers 503 with Retry-After, and the retry with the same key is accepted', async () => {
    const from = (await alice.post('/v1/accounts', { currency: 'USD' })).body.id as string;
    const to = (await alice.post('/v1/accounts', { currency: 'USD' })).body.id as string;
    const key = 'deadline-1';
    const body = { from_account_id: from, to_account_id: to, amount: '5', currency: 'USD' };
    const blocker = await db.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('INSERT INTO idempotency_keys (transfer_id, principal, request_hash) VALUES ($1, $2, $3)', [transferIdFor('alice', key), 'alice', 'held']);
      // Without a deadline the claim would wait for the blocker, which waits for this answer:
      // no answer before the test's timeout.
      const answer = await alice.request('POST', '/v1/transfers', { body, key });
      expect(answer.status).toBe(503);
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
    }
    const retry = await alice.request('POST', '/v1/transfers', { body, key });
    expect(retry.status).toBe(202);
    expect(retry.body.id).toBe(transferIdFor('alice', key));
  }, 30_000);
});
