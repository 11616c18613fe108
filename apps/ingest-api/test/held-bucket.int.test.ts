// Proves that a command refused with 503 BUCKET_MOVING (its account's bucket held by a move,
// docs/design.md "Routing and rebalancing") leaves its Idempotency-Key unused: nothing was
// sent, so the key is given back (invariant 7) and may name another body once the move is
// over. Against the real API, Postgres through PgBouncer, Kafka and Redis; the move is held
// and rolled back as ledgerctl does it (startMoves, abortMoves).
import { randomUUID } from 'node:crypto';
import { bucketOf } from '@ledgerline/domain';
import { abortMoves, loadRouting, startMoves } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { Client, startApi, token } from '../../../test/support/api';
import { waitFor } from '../../../test/support/worker';

describe('a command refused because its bucket is moving', () => {
  // Its own hooks, not useTestLedger's: the API stops before the database and topics go.
  let db: TestDatabase;
  let topics: TestTopics;
  let api: Awaited<ReturnType<typeof startApi>>;
  let alice: Client;
  let admin: Client;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    // No worker here: an account change's answer is its 202, at once.
    api = await startApi({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` }, { API_ROUTING_REFRESH_MS: '50', API_ACCOUNT_CHANGE_WAIT_MS: '0' });
    alice = new Client(api.url, await token('alice'));
    admin = new Client(api.url, await token('ops', 'ledger:read ledger:admin'));
  });

  afterAll(async () => {
    await api.stop();
    await topics.delete();
    await db.drop();
  });

  test('keeps its Idempotency-Key unused: after the move the key takes another body', async () => {
    const opened = await alice.openAccount({ currency: 'USD' });
    expect(opened.status).toBe(201);
    const account = opened.data!.id;
    const withdraw = (amount: string, key: string) => alice.withdraw({ account_id: account, amount, currency: 'USD' }, key);

    const routing = await loadRouting(db.pool);
    const { moves } = await startMoves(db.pool, [bucketOf(account)], 1 - routing.partitionOf(account));
    // Each probe with a key of its own, so that none before the API saw the hold uses up `key`.
    await waitFor('the API to see the hold', async () => (await withdraw('1', randomUUID())).status === 503);
    const key = randomUUID();
    const refused = await withdraw('1', key);
    expect([refused.status, refused.error?.error.code]).toEqual([503, 'BUCKET_MOVING']);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);

    await abortMoves(db.pool, moves.map((m) => m.id));
    await waitFor('the API to see the hold lifted', async () => (await withdraw('1', randomUUID())).status === 202);
    // Nothing was sent under `key`: another body is a new command, not IDEMPOTENCY_KEY_REUSED.
    const other = await withdraw('2', key);
    expect([other.status, other.error?.error.code]).toEqual([202, undefined]);
    expect(other.data).toMatchObject({ amount: '2' });
  });

  // The same check guards the other commands' path (captures, reversals, account changes:
  // command-submission.ts), which the test above does not reach (the test-honesty review).
  test('an account change refused the same way keeps its key unused too', async () => {
    const opened = await alice.openAccount({ currency: 'USD' });
    const account = opened.data!.id;
    const change = (status: string, key: string) => admin.request('PATCH', `/v1/accounts/${account}`, { body: { status }, headers: { 'idempotency-key': key } });

    const routing = await loadRouting(db.pool);
    const { moves } = await startMoves(db.pool, [bucketOf(account)], 1 - routing.partitionOf(account));
    await waitFor('the API to see the hold', async () => (await change('FROZEN', randomUUID())).status === 503);
    const key = randomUUID();
    const refused = await change('FROZEN', key);
    expect([refused.status, refused.body.error.code]).toEqual([503, 'BUCKET_MOVING']);

    await abortMoves(db.pool, moves.map((m) => m.id));
    await waitFor('the API to see the hold lifted', async () => (await change('FROZEN', randomUUID())).status === 202);
    const other = await change('OPEN', key);
    expect(other.status).toBe(202); // not 422 IDEMPOTENCY_KEY_REUSED: nothing was sent under the key
  });
});
