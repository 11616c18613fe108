// Proves docs/design.md invariant 11 against the real API, worker, Kafka, Postgres and Redis:
// once a command may have reached Kafka, its Idempotency-Key is never handed back. The broker
// is really paused (SIGSTOP) while a transfer is being produced, so the API answers 503
// without knowing whether Kafka will append it; a retry with another body is then 422, and a
// retry with the same body ends in ONE transfer, applied once.
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { Client, startApi, token } from '../../../test/support/api';
import { stack } from '../../../test/support/stack';
import { startWorker, waitFor } from '../../../test/support/worker';

describe('an ambiguous produce keeps its Idempotency-Key', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let api: Awaited<ReturnType<typeof startApi>>;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let alice: Client;
  let admin: Client;
  let paused = false;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    const target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
    worker = await startWorker(target);
    api = await startApi(target, { API_PRODUCE_ACK_TIMEOUT_MS: '1500' });
    alice = new Client(api.url, await token('alice'));
    admin = new Client(api.url, await token('ops', 'ledger:admin'));
  });

  afterAll(async () => {
    if (paused) stack('resume-service', 'kafka');
    await api.stop();
    await worker.stop();
    expect(worker.fatal).toEqual([]);
    await topics.delete();
    await db.drop();
  });

  test('503 while the broker is paused; then another body is 422 and the same body applies once', async () => {
    const from = (await alice.post('/v1/accounts', { currency: 'USD' })).body.id as string;
    const to = (await alice.post('/v1/accounts', { currency: 'USD' })).body.id as string;
    const funded = await admin.post('/v1/deposits', { account_id: from, amount: '1000', currency: 'USD' });
    expect(funded.status).toBe(202);
    await waitFor('funding applied', async () => (await alice.get(`/v1/transfers/${funded.body.id}?wait_ms=5000`)).body.status === 'COMPLETED');

    const key = 'ambiguous-1';
    const body = { from_account_id: from, to_account_id: to, amount: '300', currency: 'USD' };
    stack('pause-service', 'kafka');
    paused = true;
    let first;
    try {
      first = await alice.request('POST', '/v1/transfers', { body, key });
      // Nothing Kafka could still append may free the key: another body is refused...
      const other = await alice.request('POST', '/v1/transfers', { body: { ...body, amount: '999' }, key });
      expect(other.status).toBe(422);
      expect(other.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    } finally {
      stack('resume-service', 'kafka');
      paused = false;
    }
    expect(first.status).toBe(503);

    // ...still after the broker is back, and a retry with the same body is accepted.
    const otherAfter = await alice.request('POST', '/v1/transfers', { body: { ...body, amount: '999' }, key });
    expect(otherAfter.status).toBe(422);
    const retry = await waitFor(
      'the same-body retry accepted',
      async () => {
        const answer = await alice.request('POST', '/v1/transfers', { body, key });
        return answer.status === 200 || answer.status === 202 ? answer : null;
      },
      60_000,
      500,
    );
    const id = retry.body.id as string;
    const done = await waitFor('the transfer is terminal', async () => {
      const answer = await alice.get(`/v1/transfers/${id}?wait_ms=5000`);
      return answer.body.status === 'COMPLETED' || answer.body.status === 'REJECTED' ? answer.body : null;
    }, 60_000);
    expect(done.status).toBe('COMPLETED');
    expect(done.amount).toBe('300');

    // Applied once, though Kafka may hold it twice (the original append and the retry).
    const entries = await db.pool.query('SELECT count(*)::int AS n FROM entries WHERE transfer_id = $1', [id]);
    expect([2, 4]).toContain(entries.rows[0].n);
    const balances = await db.pool.query('SELECT id, balance::text FROM accounts WHERE id = ANY($1::uuid[])', [[from, to]]);
    expect(Object.fromEntries(balances.rows.map((r) => [r.id, r.balance]))).toEqual({ [from]: '700', [to]: '300' });
  }, 120_000);
});
