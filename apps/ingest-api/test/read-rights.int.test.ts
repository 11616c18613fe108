// Who may read a transfer or a hold, and what a payee learns (docs/api.md: "Owner of an
// account it touches, or admin; 404 otherwise"; a rejection's `reason` for a payee only when
// it is about the payee's account). Three leaks an outside review reproduced, each closed:
// - one principal with two tokens: what it sent or held with its admin token, its read-only
//   token read (and its reversal, void and capture answered 403 instead of 404);
// - a payee that closed its own account after a transfer from a closed account was refused
//   then saw `ACCOUNT_CLOSED`, the payer's reason;
// - a capture naming anyone's account learned that account's currency.
// Against the real API, a worker, Kafka, Postgres through PgBouncer and Redis.
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { createRedis } from '@ledgerline/redis';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { useTestLedger } from '../../../test/support/test-ledger';
import { testServices } from '../../../test/support/env';
import { Client, startApi, token } from '../../../test/support/api';
import { startWorker } from '../../../test/support/worker';

describe('read rights', () => {
  // Its own hooks, not useTestLedger's: the API and the worker stop before the database and
  // topics go (useTestLedger's afterAll, declared first, would run first).
  let db: TestDatabase;
  let topics: TestTopics;
  let api: Awaited<ReturnType<typeof startApi>>;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let alice: Client;
  let bob: Client;
  let opsAdmin: Client;
  let opsReader: Client;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    const target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
    worker = await startWorker(target);
    api = await startApi(target);
    alice = new Client(api.url, await token('alice'));
    bob = new Client(api.url, await token('bob'));
    opsAdmin = new Client(api.url, await token('ops', 'ledger:read ledger:write ledger:admin'));
    opsReader = new Client(api.url, await token('ops', 'ledger:read ledger:write'));
  });
  afterAll(async () => {
    await api.stop();
    await worker.stop();
    expect(worker.fatal).toEqual([]);
    await topics.delete();
    await db.drop();
  });

  const settled = async (client: Client, path: string) => {
    const answer = await client.get(`${path}?wait_ms=15000`);
    expect(answer.status).toBe(200);
    return answer.body;
  };
  const close = async (client: Client, account: string) => {
    const answer = await client.request('PATCH', `/v1/accounts/${account}`, { body: { status: 'CLOSED' }, headers: { 'idempotency-key': `close-${account}` } });
    expect([answer.status, answer.body?.status]).toEqual([200, 'CLOSED']);
  };
  const funded = async (client: Client, amount: string) => {
    const id = (await client.post('/v1/accounts', { currency: 'USD' })).body.id as string;
    if (amount === '0') return id;
    const deposit = await opsAdmin.post('/v1/deposits', { account_id: id, amount, currency: 'USD' });
    expect([deposit.status, deposit.body]).toEqual([202, expect.anything()]);
    expect(await settled(opsAdmin, `/v1/transfers/${deposit.body.id}`)).toMatchObject({ status: 'COMPLETED' });
    return id;
  };

  test("what a principal sent as admin, its token without admin neither reads nor acts on: 404, as for anyone's", async () => {
    const [a1, a2] = [await funded(alice, '100'), await funded(alice, '0')];
    const sent = await opsAdmin.post('/v1/transfers', { from_account_id: a1, to_account_id: a2, amount: '10', currency: 'USD' });
    expect(await settled(opsAdmin, `/v1/transfers/${sent.body.id}`)).toMatchObject({ status: 'COMPLETED' });
    const held = await opsAdmin.post('/v1/holds', { account_id: a1, amount: '5', currency: 'USD' });
    expect(await settled(opsAdmin, `/v1/holds/${held.body.id}`)).toMatchObject({ status: 'HELD' });

    expect((await opsReader.get(`/v1/transfers/${sent.body.id}`)).status).toBe(404);
    expect((await opsReader.get(`/v1/holds/${held.body.id}`)).status).toBe(404);
    expect((await opsReader.post(`/v1/transfers/${sent.body.id}/reversals`, {})).status).toBe(404);
    expect((await opsReader.post(`/v1/holds/${held.body.id}/void`, {})).status).toBe(404);
    expect((await opsReader.post(`/v1/holds/${held.body.id}/capture`, { to_account_id: a2 })).status).toBe(404);
    // The owner reads both.
    expect((await alice.get(`/v1/transfers/${sent.body.id}`)).status).toBe(200);
    expect((await alice.get(`/v1/holds/${held.body.id}`)).status).toBe(200);
  });

  test("a refused transfer's description is the payer's: its payee sees the refusal without it, in the transfer and in its history", async () => {
    // Anyone could write into anyone's history for free with a transfer it cannot pay (an
    // outside review: "URGENT: call ... to claim your refund" in a payee's list).
    const [payer, payee] = [await funded(alice, '0'), await funded(bob, '0')];
    const text = 'URGENT: call +1-555-0100 to claim your refund';
    const unpaid = await alice.post('/v1/transfers', { from_account_id: payer, to_account_id: payee, amount: '999', currency: 'USD', description: text });
    expect(await settled(alice, `/v1/transfers/${unpaid.body.id}`)).toMatchObject({ status: 'REJECTED', reason: 'INSUFFICIENT_FUNDS', description: text });
    const seen = await settled(bob, `/v1/transfers/${unpaid.body.id}`);
    expect(seen).toMatchObject({ status: 'REJECTED', amount: '999' });
    expect([seen.description, seen.reason]).toEqual([undefined, undefined]);
    const history = (await bob.get(`/v1/transfers?account_id=${payee}&limit=5`)).body.transfers as { id: string; description?: string }[];
    expect(history.find((t) => t.id === unpaid.body.id)).toMatchObject({ status: 'REJECTED' });
    expect(history.find((t) => t.id === unpaid.body.id)?.description).toBeUndefined();
    // An admin sees it; a paid transfer's description is the payee's to read.
    expect((await opsAdmin.get(`/v1/transfers/${unpaid.body.id}`)).body.description).toBe(text);
    const paying = await funded(alice, '5');
    const paid = await alice.post('/v1/transfers', { from_account_id: paying, to_account_id: payee, amount: '5', currency: 'USD', description: 'rent' });
    expect(await settled(bob, `/v1/transfers/${paid.body.id}`)).toMatchObject({ status: 'COMPLETED', description: 'rent' });
  });

  test("a payee that closes its account after a refusal does not learn the payer's ACCOUNT_CLOSED; one closed before does see its own", async () => {
    const payer = await funded(alice, '0');
    const [laterClosed, alreadyClosed] = [await funded(bob, '0'), await funded(bob, '0')];
    await close(bob, alreadyClosed);
    await close(alice, payer);

    // Both refused for the payer's closed account (the source is checked first).
    const toLater = await alice.post('/v1/transfers', { from_account_id: payer, to_account_id: laterClosed, amount: '1', currency: 'USD' });
    const toClosed = await alice.post('/v1/transfers', { from_account_id: payer, to_account_id: alreadyClosed, amount: '1', currency: 'USD' });
    expect(await settled(alice, `/v1/transfers/${toLater.body.id}`)).toMatchObject({ status: 'REJECTED', reason: 'ACCOUNT_CLOSED' });
    expect(await settled(alice, `/v1/transfers/${toClosed.body.id}`)).toMatchObject({ status: 'REJECTED', reason: 'ACCOUNT_CLOSED' });

    await close(bob, laterClosed);
    const later = await settled(bob, `/v1/transfers/${toLater.body.id}`);
    expect(later).toMatchObject({ status: 'REJECTED' });
    expect(later.reason).toBeUndefined();
    const history = (await bob.get(`/v1/transfers?account_id=${laterClosed}&limit=5`)).body.transfers as { id: string; reason?: string }[];
    expect(history.find((t) => t.id === toLater.body.id)).toMatchObject({ status: 'REJECTED' });
    expect(history.find((t) => t.id === toLater.body.id)?.reason).toBeUndefined();
    // Closed before the transfer was decided: the reason is true of bob's own account.
    expect(await settled(bob, `/v1/transfers/${toClosed.body.id}`)).toMatchObject({ status: 'REJECTED', reason: 'ACCOUNT_CLOSED' });
  });

  test('a history page of rejections shows each reason as a read of its row does, with one closing check for the whole page (an outside review)', async () => {
    // A page once ran a statement per ACCOUNT_CLOSED row, all at once: up to 200 a request on
    // the API's pool, from one principal's reads.
    const payer = await funded(alice, '0');
    const target = await funded(bob, '0');
    await close(alice, payer);
    const send = async () => (await alice.post('/v1/transfers', { from_account_id: payer, to_account_id: target, amount: '1', currency: 'USD' })).body.id as string;
    const before = [await send(), await send(), await send()];
    for (const id of before) expect(await settled(alice, `/v1/transfers/${id}`)).toMatchObject({ status: 'REJECTED', reason: 'ACCOUNT_CLOSED' });
    await close(bob, target);
    const after = [await send(), await send(), await send()];
    for (const id of after) expect(await settled(alice, `/v1/transfers/${id}`)).toMatchObject({ status: 'REJECTED', reason: 'ACCOUNT_CLOSED' });

    const admin = new Pool({ connectionString: testServices().databaseDirectUrl, max: 1 });
    try {
      await admin.query('SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = $1), 0)', [db.name]);
      const page = await bob.get(`/v1/transfers?account_id=${target}&limit=10`);
      expect(page.status).toBe(200);
      const shown = new Map((page.body.transfers as { id: string; reason?: string }[]).map((t) => [t.id, t.reason]));
      // Decided before bob's account closed: the payer's reason, not shown; after: bob's own.
      expect([...before, ...after].map((id) => shown.get(id) ?? null)).toEqual([null, null, null, 'ACCOUNT_CLOSED', 'ACCOUNT_CLOSED', 'ACCOUNT_CLOSED']);
      for (const id of [...before, ...after]) expect((await bob.get(`/v1/transfers/${id}`)).body.reason ?? null).toBe(shown.get(id) ?? null);
      const { rows } = await admin.query(
        `SELECT coalesce(sum(s.calls), 0)::int AS calls
           FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid JOIN pg_roles r ON r.oid = s.userid
          WHERE d.datname = $1 AND r.rolname = 'ledgerline_api' AND s.query LIKE '%FROM account_changes%'`,
        [db.name],
      );
      // The page's one check, then one per single read above.
      expect(rows[0].calls).toBe(1 + 6);
    } finally {
      await admin.end();
    }
  });

  /**
   * Runs `body` with a count of the API's reads of one account's row by id (findAccount), as
   * Postgres counts them (pg_stat_statements), since the last `reset`.
   */
  async function countingAccountReads(body: (count: { reset(): Promise<void>; accountReads(): Promise<number> }) => Promise<void>): Promise<void> {
    const admin = new Pool({ connectionString: testServices().databaseDirectUrl, max: 1 });
    try {
      await body({
        reset: async () => void (await admin.query('SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = $1), 0)', [db.name])),
        accountReads: async () =>
          (
            await admin.query(
              `SELECT coalesce(sum(s.calls), 0)::int AS calls
                 FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid JOIN pg_roles r ON r.oid = s.userid
                WHERE d.datname = $1 AND r.rolname = 'ledgerline_api' AND s.query LIKE '%updated_at FROM accounts WHERE id = $1%'`,
              [db.name],
            )
          ).rows[0].calls as number,
      });
    } finally {
      await admin.end();
    }
  }

  test("a 404 for another owner's account costs the same Postgres read as one for an id that does not exist, so its time does not tell them apart (an outside review)", async () => {
    // The API caches the facts of accounts it has seen. Another owner's account answered
    // from that cache came back a round trip sooner than a missing id (about one PgBouncer
    // round trip, measured under load by the authorization review): the time alone said
    // that the account exists. Counted here as the statements each 404 runs, not timed.
    const account = await funded(alice, '0');
    expect((await alice.get(`/v1/accounts/${account}/balance`)).status).toBe(200); // its facts are now held
    await countingAccountReads(async ({ reset, accountReads }) => {
      const paths = (id: string) => [`/v1/accounts/${id}/balance`, `/v1/accounts/${id}/entries`, `/v1/transfers?account_id=${id}`, `/v1/holds?account_id=${id}`];
      await reset();
      for (const path of paths(account)) expect((await bob.get(path)).status).toBe(404);
      const foreign = await accountReads();
      await reset();
      for (const path of paths(randomUUID())) expect((await bob.get(path)).status).toBe(404);
      const missing = await accountReads();
      expect({ foreign, missing }).toEqual({ foreign: 4, missing: 4 });
      // The owner's own account is still served from what is held: no read of its row.
      await reset();
      expect((await alice.get(`/v1/accounts/${account}/entries`)).status).toBe(200);
      expect(await accountReads()).toBe(0);
    });
  });

  test("a write refused for another owner's account (403 on a movement, 404 on a PATCH) costs the same Postgres read as one for an id that does not exist (an outside security review)", async () => {
    // The same leak as above, on the write paths: the refusal of a held foreign account came
    // back without the read a missing id costs (medians 4.6 against 6.5 ms for a withdrawal,
    // measured by the review). Counted as statements, not timed.
    const account = await funded(alice, '0');
    expect((await alice.get(`/v1/accounts/${account}/balance`)).status).toBe(200); // its facts are now held
    const attempts = async (client: Client, id: string) => [
      (await client.post('/v1/withdrawals', { account_id: id, amount: '1', currency: 'USD' })).status,
      (await client.post('/v1/transfers', { from_account_id: id, to_account_id: randomUUID(), amount: '1', currency: 'USD' })).status,
      (await client.post('/v1/holds', { account_id: id, amount: '1', currency: 'USD', expires_in_s: 60 })).status,
      (await client.post('/v1/batch', { items: [{ kind: 'WITHDRAWAL', account_id: id, amount: '1', currency: 'USD' }] })).body.results[0].status,
      (await client.request('PATCH', `/v1/accounts/${id}`, { body: { status: 'CLOSED' }, headers: { 'idempotency-key': randomUUID() } })).status,
    ];
    await countingAccountReads(async ({ reset, accountReads }) => {
      await reset();
      expect(await attempts(bob, account)).toEqual([403, 403, 403, 403, 404]);
      const foreign = await accountReads();
      await reset();
      expect(await attempts(bob, randomUUID())).toEqual([403, 403, 403, 403, 404]);
      const missing = await accountReads();
      expect({ foreign, missing }).toEqual({ foreign: 5, missing: 5 });
      // The owner's own account is still decided from what is held: a withdrawal past its
      // balance is accepted (the worker refuses it) without a read of its row.
      await reset();
      expect((await alice.post('/v1/withdrawals', { account_id: account, amount: '1', currency: 'USD' })).status).toBe(202);
      expect(await accountReads()).toBe(0);
    });
  });

  test("a 404 for another owner's transfer or hold takes the same reads as one for an id nobody sent, on every route that looks one up", async () => {
    // Ids are derived from a principal and an Idempotency-Key, which a client may choose
    // guessably ("order-1234"). A transfer or hold found and refused came back after one read
    // (two for a COMPLETED transfer, its reversals), an unknown id after four looks (the row,
    // the ACCEPTED record, the row again, the claim): the time told that the victim had sent
    // under that key. Counted here as the statements each 404 runs, by kind, not timed.
    const [a1, a2] = [await funded(alice, '100'), await funded(alice, '0')];
    const sent = await alice.post('/v1/transfers', { from_account_id: a1, to_account_id: a2, amount: '10', currency: 'USD' });
    expect(await settled(alice, `/v1/transfers/${sent.body.id}`)).toMatchObject({ status: 'COMPLETED' });
    const held = await alice.post('/v1/holds', { account_id: a1, amount: '5', currency: 'USD' });
    expect(await settled(alice, `/v1/holds/${held.body.id}`)).toMatchObject({ status: 'HELD' });
    const routes = (transferId: string, holdId: string) => [
      () => bob.get(`/v1/transfers/${transferId}`),
      () => bob.get(`/v1/transfers/${transferId}?wait_ms=50`),
      () => bob.post(`/v1/transfers/${transferId}/reversals`, {}),
      () => bob.get(`/v1/holds/${holdId}`),
      () => bob.post(`/v1/holds/${holdId}/void`, {}),
      () => bob.post(`/v1/holds/${holdId}/capture`, { to_account_id: a2 }),
    ];
    const admin = new Pool({ connectionString: testServices().databaseDirectUrl, max: 1 });
    const reset = () => admin.query('SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = $1), 0)', [db.name]);
    /**
     * The API's lookups of one id since the last reset, by what they read. Other statements
     * are left out: the long polls' safety re-check (settledWaitKeys) runs on its own timer
     * for whatever is registered at that moment, which a `wait_ms` request may or may not be.
     */
    const lookups = async () =>
      (
        await admin.query(
          `SELECT CASE WHEN s.query LIKE '%FROM idempotency_keys%' THEN 'claim'
                       WHEN s.query LIKE '%FROM transfers WHERE id = $1%' THEN 'transfer'
                       WHEN s.query LIKE '%FROM holds WHERE id = $1%' THEN 'hold'
                       WHEN s.query LIKE '%FROM transfer_reversals%' THEN 'reversals'
                       WHEN s.query LIKE '%FROM accounts%' THEN 'accounts'
                       ELSE 'other' END AS kind,
                  sum(s.calls)::int AS calls
             FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid JOIN pg_roles r ON r.oid = s.userid
            WHERE d.datname = $1 AND r.rolname = 'ledgerline_api'
              AND s.query NOT LIKE '%routing_observers%' AND s.query NOT LIKE '%routing_version%'
            GROUP BY 1 ORDER BY 1`,
          [db.name],
        )
      ).rows.filter((row: { kind: string }) => row.kind !== 'other');
    try {
      // Once before counting: the API then holds alice's accounts' facts, as it would for a
      // caller probing again and again.
      for (const send of routes(sent.body.id, held.body.id)) expect((await send()).status).toBe(404);
      await reset();
      for (const send of routes(sent.body.id, held.body.id)) expect((await send()).status).toBe(404);
      const hidden = await lookups();
      await reset();
      for (const send of routes(randomUUID(), randomUUID())) expect((await send()).status).toBe(404);
      const unknown = await lookups();
      expect(hidden).toEqual(unknown);
      // Four looks at a transfer id (three routes) and at a hold id (three routes): two of its
      // row and one of its claim each time.
      expect(unknown).toEqual([
        { kind: 'claim', calls: 6 },
        { kind: 'hold', calls: 6 },
        { kind: 'transfer', calls: 6 },
      ]);
      // Its owner still reads it at once, with what its reversals took back (and the
      // read-repair's one read of the two balances).
      await reset();
      expect((await alice.get(`/v1/transfers/${sent.body.id}`)).body).toMatchObject({ status: 'COMPLETED', reversed_amount: '0' });
      expect(await lookups()).toEqual([
        { kind: 'accounts', calls: 1 },
        { kind: 'reversals', calls: 1 },
        { kind: 'transfer', calls: 1 },
      ]);
    } finally {
      await admin.end();
    }
  });

  test("a capture naming an account in another currency is refused without saying which currency that account is in", async () => {
    const holder = await funded(bob, '50');
    const euros = (await alice.post('/v1/accounts', { currency: 'EUR' })).body.id as string;
    const hold = await bob.post('/v1/holds', { account_id: holder, amount: '5', currency: 'USD' });
    expect(await settled(bob, `/v1/holds/${hold.body.id}`)).toMatchObject({ status: 'HELD' });
    const capture = await bob.post(`/v1/holds/${hold.body.id}/capture`, { to_account_id: euros });
    expect(capture.status).toBe(400);
    expect(JSON.stringify(capture.body)).not.toContain('EUR');
    expect(capture.body.error.details).toEqual([{ path: 'to_account_id', message: 'is in another currency than the hold (USD)' }]);
  });
});

describe('read rights when only the Idempotency-Key shows a transfer (its ACCEPTED record lost)', () => {
  const ledger = useTestLedger(2);

  test("the claimant learns it was accepted (503), and once it is applied reads it only as anyone may: its read-only token gets 404 for what its admin token sent", async () => {
    const api = await startApi(ledger.target);
    const redis = createRedis(testServices().redisUrl);
    let worker: Awaited<ReturnType<typeof startWorker>> | null = null;
    try {
      const alice = new Client(api.url, await token('alice'));
      const opsAdmin = new Client(api.url, await token('ops', 'ledger:read ledger:write ledger:admin'));
      const opsReader = new Client(api.url, await token('ops', 'ledger:read ledger:write'));
      const a1 = (await alice.post('/v1/accounts', { currency: 'USD' })).body.id as string;
      // No worker yet: the deposit stays ACCEPTED; its record is then lost with the cache.
      const sent = await opsAdmin.post('/v1/deposits', { account_id: a1, amount: '5', currency: 'USD' });
      expect(sent.status).toBe(202);
      await redis.del(`${ledger.target.redisKeyPrefix}acc:${sent.body.id}`);
      expect((await opsReader.get(`/v1/transfers/${sent.body.id}`)).status).toBe(503); // its claimant: accepted, not shown
      expect((await alice.get(`/v1/transfers/${sent.body.id}`)).status).toBe(404); // the owner cannot know of a claim

      // A long poll that sees it applied meanwhile answers as a read of it would.
      const polled = opsReader.get(`/v1/transfers/${sent.body.id}?wait_ms=20000`);
      worker = await startWorker(ledger.target);
      expect((await polled).status).toBe(404);
      expect((await opsAdmin.get(`/v1/transfers/${sent.body.id}?wait_ms=15000`)).body).toMatchObject({ status: 'COMPLETED' });
      expect((await alice.get(`/v1/transfers/${sent.body.id}`)).status).toBe(200);
    } finally {
      redis.disconnect();
      await api.stop();
      await worker?.stop();
    }
  });
});
