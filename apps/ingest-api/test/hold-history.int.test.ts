// Proves GET /v1/holds (docs/api.md, Holds): an account's applied holds, newest first, with
// the status filter and the cursor, readable by the account's owner and admins only, against
// the real API, a real worker, Kafka, Postgres and Redis.
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { type Answer, Client, startApi, token } from '../../../test/support/api';
import { startWorker, waitFor } from '../../../test/support/worker';

describe('GET /v1/holds', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let api: Awaited<ReturnType<typeof startApi>>;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let alice: Client;
  let bob: Client;
  let admin: Client;
  let account: string;
  /** The holds placed on `account`, oldest first, with the status each ends in. */
  const placed: { id: string; status: string }[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    const target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
    worker = await startWorker(target);
    api = await startApi(target);
    alice = new Client(api.url, await token('alice'));
    bob = new Client(api.url, await token('bob'));
    admin = new Client(api.url, await token('ops', 'ledger:read ledger:admin'));

    const opened = await alice.post('/v1/accounts', { currency: 'USD' });
    expect(opened.status).toBe(201);
    account = opened.body.id;
    const funded = await admin.post('/v1/deposits', { account_id: account, amount: '100', currency: 'USD' });
    expect(funded.status).toBe(202);
    await waitFor('the deposit applied', async () => (await admin.get(`/v1/transfers/${funded.body.id}`)).body.status === 'COMPLETED');

    // Three holds the account can take, then one it cannot (REJECTED), one at a time so
    // their created_at order is their placing order.
    for (const amount of ['10', '20', '30', '1000']) {
      const hold = await alice.post('/v1/holds', { account_id: account, amount, currency: 'USD', description: `hold of ${amount}` });
      expect(hold.status).toBe(202);
      const applied = await alice.get(`/v1/holds/${hold.body.id}?wait_ms=15000`);
      expect(applied.body.status).not.toBe('ACCEPTED');
      placed.push({ id: hold.body.id, status: applied.body.status });
    }
    expect(placed.map((h) => h.status)).toEqual(['HELD', 'HELD', 'HELD', 'REJECTED']);
    // The second one voided.
    expect((await alice.post(`/v1/holds/${placed[1]!.id}/void`, {})).status).toBe(202);
    await waitFor('the void applied', async () => (await alice.get(`/v1/holds/${placed[1]!.id}`)).body.status === 'VOIDED');
    placed[1]!.status = 'VOIDED';
  });

  afterAll(async () => {
    await api.stop();
    await worker.stop();
    expect(worker.fatal).toEqual([]);
    await topics.delete();
    await db.drop();
  });

  const newestFirst = () => [...placed].reverse();

  test("lists the account's applied holds, newest first, each as GET /v1/holds/{id} shows it", async () => {
    const page = await alice.get(`/v1/holds?account_id=${account}`);
    expect(page.status).toBe(200);
    expect(page.body.next_cursor).toBeNull();
    expect(page.body.holds.map((h: { id: string; status: string }) => [h.id, h.status])).toEqual(newestFirst().map((h) => [h.id, h.status]));
    for (const hold of page.body.holds) expect(hold).toEqual((await alice.get(`/v1/holds/${hold.id}`)).body);
    expect(page.body.holds[0]).toMatchObject({ amount: '1000', status: 'REJECTED', reason: 'INSUFFICIENT_FUNDS', description: 'hold of 1000' });
  });

  test('status filters: HELD lists the active holds', async () => {
    const held = await alice.get(`/v1/holds?account_id=${account}&status=HELD`);
    expect(held.body.holds.map((h: { id: string }) => h.id)).toEqual([placed[2]!.id, placed[0]!.id]);
    const voided = await alice.get(`/v1/holds?account_id=${account}&status=VOIDED`);
    expect(voided.body.holds.map((h: { id: string }) => h.id)).toEqual([placed[1]!.id]);
    expect((await alice.get(`/v1/holds?account_id=${account}&status=CAPTURED`)).body).toEqual({ holds: [], next_cursor: null });
  });

  test('the cursor pages through every hold exactly once, in order', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const answer: Answer = await alice.get(`/v1/holds?account_id=${account}&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(answer.status).toBe(200);
      expect(answer.body.holds.length).toBe(1);
      seen.push(answer.body.holds[0].id);
      cursor = answer.body.next_cursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(newestFirst().map((h) => h.id));
    const twoOfThem = await alice.get(`/v1/holds?account_id=${account}&status=HELD&limit=1`);
    const rest = await alice.get(`/v1/holds?account_id=${account}&status=HELD&limit=1&cursor=${twoOfThem.body.next_cursor}`);
    expect([...twoOfThem.body.holds, ...rest.body.holds].map((h: { id: string }) => h.id)).toEqual([placed[2]!.id, placed[0]!.id]);
    expect(rest.body.next_cursor).toBeNull();
  });

  test('only the owner and admins read them; bad filters and cursors are 400', async () => {
    expect((await admin.get(`/v1/holds?account_id=${account}`)).body.holds.length).toBe(4);
    const foreign = await bob.get(`/v1/holds?account_id=${account}`);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('NOT_FOUND');
    expect((await alice.get('/v1/holds')).status).toBe(400); // account_id is required
    expect((await alice.get(`/v1/holds?account_id=${account}&status=ACCEPTED`)).status).toBe(400);
    expect((await alice.get(`/v1/holds?account_id=${account}&limit=201`)).status).toBe(400);
    expect((await alice.get(`/v1/holds?account_id=${account}&cursor=bm90LWEtY3Vyc29y`)).status).toBe(400);
    expect((await alice.get(`/v1/holds?account_id=${account}&kind=TRANSFER`)).status).toBe(400); // no such filter
  });
});
