// Proves that deposits and withdrawals carry a description as transfers do (docs/api.md):
// an admin's deposit reference and an owner's withdrawal note are stored with the movement,
// shown by its status read and the history, bound to the Idempotency-Key with the rest of
// the body, and refused when people could not read them safely, against the real API, a
// real worker, Kafka, Postgres and Redis.
import { randomUUID } from 'node:crypto';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { Client, startApi, token } from '../../../test/support/api';
import { startWorker, waitFor } from '../../../test/support/worker';

describe('descriptions of deposits and withdrawals', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let api: Awaited<ReturnType<typeof startApi>>;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let alice: Client;
  let admin: Client;
  let account: string;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    const target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
    worker = await startWorker(target);
    api = await startApi(target);
    alice = new Client(api.url, await token('alice'));
    admin = new Client(api.url, await token('ops', 'ledger:read ledger:admin'));
    const opened = await alice.post('/v1/accounts', { currency: 'USD' });
    expect(opened.status).toBe(201);
    account = opened.body.id;
  });

  afterAll(async () => {
    await api.stop();
    await worker.stop();
    expect(worker.fatal).toEqual([]);
    await topics.delete();
    await db.drop();
  });

  async function applied(client: Client, id: string): Promise<Record<string, unknown>> {
    return waitFor(`movement ${id} applied`, async () => {
      const answer = await client.get(`/v1/transfers/${id}?wait_ms=5000`);
      return answer.body.status === 'COMPLETED' || answer.body.status === 'REJECTED' ? answer.body : null;
    });
  }

  test('a deposit and a withdrawal keep their descriptions, from the 202 to the history', async () => {
    const deposit = await admin.post('/v1/deposits', { account_id: account, amount: '100', currency: 'USD', description: 'Wire from ACME, ref 7731' });
    expect(deposit.status).toBe(202);
    expect(deposit.body).toMatchObject({ kind: 'DEPOSIT', status: 'ACCEPTED', description: 'Wire from ACME, ref 7731' });
    expect(await applied(alice, deposit.body.id)).toMatchObject({ status: 'COMPLETED', description: 'Wire from ACME, ref 7731' });

    const withdrawal = await alice.post('/v1/withdrawals', { account_id: account, amount: '30', currency: 'USD', description: 'ATM, rue de Rivoli' });
    expect(withdrawal.status).toBe(202);
    expect(withdrawal.body.description).toBe('ATM, rue de Rivoli');
    expect(await applied(alice, withdrawal.body.id)).toMatchObject({ status: 'COMPLETED', description: 'ATM, rue de Rivoli' });

    const plain = await admin.post('/v1/deposits', { account_id: account, amount: '1', currency: 'USD' });
    const plainApplied = await applied(admin, plain.body.id);
    expect('description' in plainApplied).toBe(false);

    const history = await alice.get(`/v1/transfers?account_id=${account}`);
    expect(history.body.transfers.map((t: { id: string; description?: string }) => [t.id, t.description])).toEqual([
      [plain.body.id, undefined],
      [withdrawal.body.id, 'ATM, rue de Rivoli'],
      [deposit.body.id, 'Wire from ACME, ref 7731'],
    ]);
    const stored = await db.pool.query('SELECT description FROM transfers WHERE id = $1', [deposit.body.id]);
    expect(stored.rows[0].description).toBe('Wire from ACME, ref 7731');
  });

  test('the description is part of the body an Idempotency-Key is bound to', async () => {
    const key = randomUUID();
    const first = await admin.post('/v1/deposits', { account_id: account, amount: '5', currency: 'USD', description: 'first' }, key);
    expect(first.status).toBe(202);
    const replay = await admin.post('/v1/deposits', { account_id: account, amount: '5', currency: 'USD', description: 'first' }, key);
    expect(replay.status).toBe(200);
    expect(replay.body.id).toBe(first.body.id);
    const other = await admin.post('/v1/deposits', { account_id: account, amount: '5', currency: 'USD', description: 'second' }, key);
    expect(other.status).toBe(422);
  });

  test('a description people could not read safely, or too long, is a 400 that changes nothing', async () => {
    const before = await db.pool.query('SELECT count(*)::int AS n FROM transfers');
    for (const description of ['line one\nline two', 'invoice \u202Etxt.exe', 'nul \u0000 byte', 'x'.repeat(513)]) {
      const answer = await alice.post('/v1/withdrawals', { account_id: account, amount: '1', currency: 'USD', description });
      expect(answer.status).toBe(400);
      expect(answer.body.error.details.map((f: { path: string }) => f.path)).toEqual(['description']);
    }
    expect((await admin.post('/v1/deposits', { account_id: account, amount: '1', currency: 'USD', description: 42 })).status).toBe(400);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await db.pool.query('SELECT count(*)::int AS n FROM transfers')).rows[0].n).toBe(before.rows[0].n);
  });
});
