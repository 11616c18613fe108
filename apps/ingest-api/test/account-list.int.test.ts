// Proves GET /v1/accounts (docs/api.md, Accounts): the caller's accounts, newest first, with
// a cursor; another owner's only for an admin; against the real API and Postgres (opening
// an account is the API's own insert, so no worker is needed).
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { Client, startApi, token } from '../../../test/support/api';

describe('GET /v1/accounts', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let api: Awaited<ReturnType<typeof startApi>>;
  let alice: Client;
  let bob: Client;
  let admin: Client;
  /** Alice's accounts as GET /v1/accounts/{id} shows them, newest first. */
  const alices: Record<string, unknown>[] = [];
  let bobs: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    api = await startApi({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` });
    alice = new Client(api.url, await token('alice'));
    bob = new Client(api.url, await token('bob'));
    admin = new Client(api.url, await token('ops', 'ledger:read ledger:admin'));

    // One at a time, so that their created_at order is their opening order; bob's in between.
    for (const [i, currency] of ['USD', 'EUR', 'USD', 'GBP', 'USD'].entries()) {
      const opened = await alice.post('/v1/accounts', { currency, metadata: { n: i } });
      expect(opened.status).toBe(201);
      alices.unshift((await alice.get(`/v1/accounts/${opened.body.id}`)).body);
      if (i === 2) {
        const other = await bob.post('/v1/accounts', { currency: 'USD' });
        expect(other.status).toBe(201);
        bobs = [other.body.id];
      }
    }
  });

  afterAll(async () => {
    await api.stop();
    await topics.delete();
    await db.drop();
  });

  test("the caller's accounts, newest first, each as GET /v1/accounts/{id} shows it, and no one else's", async () => {
    const page = await alice.get('/v1/accounts');
    expect(page.status).toBe(200);
    expect(page.body).toEqual({ accounts: alices, next_cursor: null });
    const theirs = await bob.get('/v1/accounts');
    expect(theirs.body.accounts.map((a: { id: string }) => a.id)).toEqual(bobs);
  });

  test('pages follow next_cursor without repeating or skipping an account', async () => {
    const seen: string[] = [];
    let path = '/v1/accounts?limit=2';
    const sizes: number[] = [];
    // Bounded: a cursor that does not move on would page forever.
    for (let pages = 0; pages < 10; pages++) {
      const page = await alice.get(path);
      expect(page.status).toBe(200);
      sizes.push(page.body.accounts.length);
      seen.push(...page.body.accounts.map((a: { id: string }) => a.id));
      if (page.body.next_cursor === null) break;
      path = `/v1/accounts?limit=2&cursor=${page.body.next_cursor}`;
    }
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen).toEqual(alices.map((a) => a.id));
  });

  test("another owner's accounts need ledger:admin", async () => {
    const refused = await alice.get('/v1/accounts?owner=bob');
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');
    // Naming oneself is the same as naming no one.
    expect((await alice.get('/v1/accounts?owner=alice')).body.accounts).toEqual(alices);
    // An admin reads anyone's; without owner, its own (none).
    expect((await admin.get('/v1/accounts?owner=alice')).body.accounts).toEqual(alices);
    expect((await admin.get('/v1/accounts')).body).toEqual({ accounts: [], next_cursor: null });
  });

  test('a bad query is a 400 and lists nothing', async () => {
    for (const query of ['limit=0', 'limit=201', 'limit=x', 'cursor=not!a!cursor', 'cursor=AAAA', 'owner=', 'currency=USD']) {
      const answer = await alice.get(`/v1/accounts?${query}`);
      expect([query, answer.status]).toEqual([query, 400]);
      expect(answer.body.error.code).toBe('VALIDATION_FAILED');
    }
  });
});
