// Proves the contract of holds, reversals and the account life cycle (docs/api.md) end to
// end against the real API, a real worker, Kafka, Postgres
// (through PgBouncer) and Redis: every hold status and reason, captures (partial, cross-
// partition, racing a void, after expiry), reversals (partial up to the original, deposit,
// spent money, cross-partition), and the account life cycle (frozen keeps receiving credits,
// closed refuses both, closing needs an empty account). The reconciler must find nothing.
//
// The worker here never scans for due holds (WORKER_HOLD_EXPIRY_SCAN_MS=0), so HOLD_EXPIRED
// is decided by the capture itself; hold-expiry.int.test.ts proves the scan.
import { randomUUID } from 'node:crypto';
import { loadRouting, reconcile } from '@ledgerline/postgres';
import { type RoutingTable, transferIdFor } from '@ledgerline/domain';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { type Answer, Client, startApi, token } from '../../../test/support/api';
import { TestPublisher } from '../../../test/support/ledger';
import { startWorker } from '../../../test/support/worker';
import { requestHashOf } from '../src/request-hash';

const PARTITIONS = 4;

describe('holds, reversals and the account life cycle', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let api: Awaited<ReturnType<typeof startApi>>;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let routing: RoutingTable;
  let alice: Client;
  let bob: Client;
  let admin: Client;
  let target: { databaseUrl: string; topicPrefix: string; redisKeyPrefix: string };

  beforeAll(async () => {
    db = await createTestDatabase(PARTITIONS);
    topics = await createTestTopics(PARTITIONS);
    target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
    worker = await startWorker(target, { WORKER_HOLD_EXPIRY_SCAN_MS: '0' });
    api = await startApi(target);
    routing = await loadRouting(db.pool);
    alice = new Client(api.url, await token('alice'));
    bob = new Client(api.url, await token('bob'));
    admin = new Client(api.url, await token('ops', 'ledger:admin'));
  });

  afterAll(async () => {
    const report = await reconcile(db.pool, { outboxAgeMaxMs: 60_000 });
    await api.stop();
    await worker.stop();
    expect(worker.fatal).toEqual([]);
    expect(report.checks.filter((c) => c.violations > 0)).toEqual([]);
    await topics.delete();
    await db.drop();
  });

  /** Opens an account; `partition` pins where it lives (its id is chosen to route there). */
  async function openAccount(client: Client, partition?: number): Promise<string> {
    if (partition === undefined) {
      const answer = await client.post('/v1/accounts', { currency: 'USD' });
      expect(answer.status).toBe(201);
      return answer.body.id;
    }
    // The id is derived from (principal, Idempotency-Key): try keys until one routes there.
    for (;;) {
      const key = randomUUID();
      const answer = await client.post('/v1/accounts', { currency: 'USD' }, key);
      expect(answer.status).toBe(201);
      if (routing.partitionOf(answer.body.id) === partition) return answer.body.id;
    }
  }

  async function settled(client: Client, id: string): Promise<Answer["body"]> {
    const answer = await client.get(`/v1/transfers/${id}?wait_ms=15000`);
    expect(answer.status).toBe(200);
    if (answer.body.status === 'PROCESSING' || answer.body.status === 'ACCEPTED') return settled(client, id);
    return answer.body;
  }

  async function holdApplied(client: Client, id: string): Promise<Answer["body"]> {
    const answer = await client.get(`/v1/holds/${id}?wait_ms=15000`);
    expect(answer.status).toBe(200);
    expect(answer.body.status).not.toBe('ACCEPTED');
    return answer.body;
  }

  /** Waits until the hold is in a final state (a void or capture is applied after its 202). */
  async function holdEnded(client: Client, id: string): Promise<Answer["body"]> {
    const answer = await client.get(`/v1/holds/${id}?wait_ms=15000&until=ended`);
    expect(answer.status).toBe(200);
    expect(['ACCEPTED', 'HELD']).not.toContain(answer.body.status);
    return answer.body;
  }

  async function deposit(accountId: string, amount: string): Promise<string> {
    const answer = await admin.post('/v1/deposits', { account_id: accountId, amount, currency: 'USD' });
    expect(answer.status).toBe(202);
    expect((await settled(admin, answer.body.id)).status).toBe('COMPLETED');
    return answer.body.id;
  }

  async function balance(client: Client, accountId: string): Promise<{ balance: string; available: string }> {
    const answer = await client.get(`/v1/accounts/${accountId}/balance`);
    expect(answer.status).toBe(200);
    return { balance: answer.body.balance, available: answer.body.available };
  }

  async function hold(client: Client, accountId: string, amount: string, extra: Record<string, unknown> = {}) {
    return client.post('/v1/holds', { account_id: accountId, amount, currency: 'USD', ...extra });
  }

  /**
   * Alice's account `from` (on partition `fromPartition`, when given) funded with `funds` and
   * a hold of `amount` on it, applied; and Bob's account `to` for a capture.
   */
  async function heldFor(funds: string, amount: string, fromPartition?: number, toPartition?: number) {
    const from = await openAccount(alice, fromPartition);
    const to = await openAccount(bob, toPartition);
    await deposit(from, funds);
    const placed = await hold(alice, from, amount);
    await holdApplied(alice, placed.body.id);
    return { from, to, placed };
  }

  async function patch(client: Client, accountId: string, body: Record<string, unknown>) {
    return client.request('PATCH', `/v1/accounts/${accountId}`, { body, headers: { 'idempotency-key': randomUUID() } });
  }

  describe('holds', () => {
    test('HELD lowers available, not balance; a later debit and a second hold count it', async () => {
      const account = await openAccount(alice);
      await deposit(account, '1000');
      const placed = await hold(alice, account, '600', { description: 'card auth' });
      expect(placed.status).toBe(202);
      expect(placed.headers.get('location')).toBe(`/v1/holds/${placed.body.id}`);
      expect(placed.body).toMatchObject({ account_id: account, amount: '600', captured_amount: '0', currency: 'USD', status: 'ACCEPTED' });
      expect(await holdApplied(alice, placed.body.id)).toMatchObject({ status: 'HELD', description: 'card auth' });
      expect(await balance(alice, account)).toEqual({ balance: '1000', available: '400' });

      const tooMuch = await hold(alice, account, '401');
      expect(await holdApplied(alice, tooMuch.body.id)).toMatchObject({ status: 'REJECTED', reason: 'INSUFFICIENT_FUNDS' });
      const other = await openAccount(bob);
      const spend = await alice.post('/v1/transfers', { from_account_id: account, to_account_id: other, amount: '401', currency: 'USD' });
      expect(await settled(alice, spend.body.id)).toMatchObject({ status: 'REJECTED', reason: 'INSUFFICIENT_FUNDS' });
      const fits = await alice.post('/v1/transfers', { from_account_id: account, to_account_id: other, amount: '400', currency: 'USD' });
      expect(await settled(alice, fits.body.id)).toMatchObject({ status: 'COMPLETED' });
      expect(await balance(alice, account)).toEqual({ balance: '600', available: '0' });
    });

    test('replay of POST /v1/holds returns the hold; another body with the key is 422', async () => {
      const account = await openAccount(alice);
      await deposit(account, '50');
      const key = randomUUID();
      const first = await alice.post('/v1/holds', { account_id: account, amount: '10', currency: 'USD' }, key);
      expect(first.status).toBe(202);
      await holdApplied(alice, first.body.id);
      const replay = await alice.post('/v1/holds', { account_id: account, amount: '10', currency: 'USD' }, key);
      expect(replay.status).toBe(200);
      expect(replay.body).toMatchObject({ id: first.body.id, status: 'HELD' });
      expect((await alice.post('/v1/holds', { account_id: account, amount: '11', currency: 'USD' }, key)).status).toBe(422);
      expect(await balance(alice, account)).toEqual({ balance: '50', available: '40' });
    });

    test('one hold sent 30 times within ~30 ms with one key: every answer names the same hold, its times those it is stored with', async () => {
      const account = await openAccount(alice);
      await deposit(account, '50');
      const key = randomUUID();
      const body = { account_id: account, amount: '10', currency: 'USD', expires_in_s: 60 };
      // Spread over ~30 ms: those claimed after the first but before its ACCEPTED record is
      // written publish the command again, each at its own moment.
      const answers = await Promise.all(
        Array.from({ length: 30 }, (_, i) => new Promise((resolve) => setTimeout(resolve, i)).then(() => alice.post('/v1/holds', body, key))),
      );
      expect(answers.every((a) => a.status === 200 || a.status === 202)).toBe(true);
      const times = new Set(answers.map((a) => `${a.body.id} ${a.body.created_at} ${a.body.expires_at}`));
      expect(times.size).toBe(1);
      const stored = await holdApplied(alice, answers[0]!.body.id);
      expect(`${stored.id} ${stored.created_at} ${stored.expires_at}`).toBe([...times][0]);
      expect(await balance(alice, account)).toEqual({ balance: '50', available: '40' });
    });

    test('REJECTED reasons: ACCOUNT_NOT_FOUND, CURRENCY_MISMATCH; input bounds; strangers', async () => {
      const missing = await hold(admin, randomUUID(), '5');
      expect(await holdApplied(admin, missing.body.id)).toMatchObject({ status: 'REJECTED', reason: 'ACCOUNT_NOT_FOUND' });
      const account = await openAccount(alice);
      await deposit(account, '50');
      const euros = await alice.post('/v1/holds', { account_id: account, amount: '5', currency: 'EUR' });
      expect(await holdApplied(alice, euros.body.id)).toMatchObject({ status: 'REJECTED', reason: 'CURRENCY_MISMATCH' });
      expect((await hold(alice, account, '5', { expires_in_s: 0 })).status).toBe(400);
      expect((await hold(alice, account, '5', { expires_in_s: 2_592_001 })).status).toBe(400);
      expect((await hold(alice, account, '5', { expires_in_s: 1.5 })).status).toBe(400);
      expect((await hold(bob, account, '5')).status).toBe(403);
      const placed = await hold(alice, account, '5');
      await holdApplied(alice, placed.body.id);
      expect((await bob.get(`/v1/holds/${placed.body.id}`)).status).toBe(404);
      expect((await bob.post(`/v1/holds/${placed.body.id}/void`, {})).status).toBe(404);
      expect((await alice.get(`/v1/holds/${randomUUID()}`)).status).toBe(404);
    });

    test('partial capture on the same partition: CAPTURED with captured_amount, the rest released', async () => {
      const { from, to, placed } = await heldFor('1000', '300', 0, 0);
      expect((await alice.post(`/v1/holds/${placed.body.id}/capture`, { to_account_id: to, amount: '301' })).status).toBe(400);
      const capture = await alice.post(`/v1/holds/${placed.body.id}/capture`, { to_account_id: to, amount: '120' });
      expect(capture.status).toBe(202);
      expect(capture.headers.get('location')).toBe(`/v1/transfers/${capture.body.id}`);
      expect(capture.body).toMatchObject({ kind: 'CAPTURE', hold_id: placed.body.id, from_account_id: from, to_account_id: to, amount: '120' });
      expect(await settled(alice, capture.body.id)).toMatchObject({ kind: 'CAPTURE', status: 'COMPLETED', hold_id: placed.body.id });
      expect(await holdEnded(alice, placed.body.id)).toMatchObject({ status: 'CAPTURED', captured_amount: '120', amount: '300' });
      expect(await balance(alice, from)).toEqual({ balance: '880', available: '880' });
      expect((await balance(bob, to)).balance).toBe('120');
      // A second capture finds it no longer HELD: refused at once, nothing accepted.
      const again = await alice.post(`/v1/holds/${placed.body.id}/capture`, { to_account_id: to, amount: '1' });
      expect([again.status, again.body.error?.code]).toEqual([409, 'HOLD_NOT_ACTIVE']);
    });

    test('a capture to an account that does not exist, is in another currency or is closed is a 400, and the hold stays HELD', async () => {
      const from = await openAccount(alice, 0);
      await deposit(from, '100');
      const placed = await hold(alice, from, '60');
      await holdApplied(alice, placed.body.id);
      const euros = (await bob.post('/v1/accounts', { currency: 'EUR' })).body.id as string;
      // On another partition: its refusal would have come after the hold was used up (CAPTURED).
      const closed = await openAccount(bob, 3);
      expect((await patch(bob, closed, { status: 'CLOSED' })).status).toBe(200);
      for (const [to, message] of [
        [randomUUID(), 'no such account'],
        [euros, 'is in another currency than the hold (USD)'],
        [closed, 'is closed'],
      ] as const) {
        const refused = await alice.post(`/v1/holds/${placed.body.id}/capture`, { to_account_id: to });
        expect([refused.status, refused.body.error.details]).toEqual([400, [{ path: 'to_account_id', message }]]);
      }
      expect((await alice.get(`/v1/holds/${placed.body.id}`)).body).toMatchObject({ status: 'HELD', captured_amount: '0' });
      expect(await balance(alice, from)).toEqual({ balance: '100', available: '40' });
    });

    // Regression (an outside review): a capture of an ended hold was accepted (202) only to end
    // REJECTED, after the destination checks had answered: a free, unlimited oracle on whether
    // any account id exists, its currency and whether it is closed.
    test('a capture of a hold already ended is 409 HOLD_NOT_ACTIVE whatever the destination; a retry of an accepted one still replays', async () => {
      const from = await openAccount(alice, 0);
      const to = await openAccount(bob, 0);
      await deposit(from, '100');
      const euros = (await bob.post('/v1/accounts', { currency: 'EUR' })).body.id as string;
      const closed = await openAccount(bob, 3);
      expect((await patch(bob, closed, { status: 'CLOSED' })).status).toBe(200);
      const destinations = [randomUUID(), euros, closed, to];

      const voided = await hold(alice, from, '10');
      await holdApplied(alice, voided.body.id);
      expect((await alice.post(`/v1/holds/${voided.body.id}/void`, {})).status).toBe(202);
      expect(await holdEnded(alice, voided.body.id)).toMatchObject({ status: 'VOIDED' });
      const answers = [];
      for (const destination of destinations) {
        const refused = await alice.post(`/v1/holds/${voided.body.id}/capture`, { to_account_id: destination, amount: '1' });
        answers.push([refused.status, refused.body]);
      }
      expect(answers).toEqual(
        destinations.map(() => [409, { error: { code: 'HOLD_NOT_ACTIVE', message: 'the hold is VOIDED: only a HELD hold can be captured' } }]),
      );

      // Captured under a key: that key's retry replays it; the same key with another
      // destination is the key reused, not a look at that destination.
      const captured = await hold(alice, from, '20');
      await holdApplied(alice, captured.body.id);
      const key = randomUUID();
      const capture = await alice.post(`/v1/holds/${captured.body.id}/capture`, { to_account_id: to }, key);
      expect(await settled(alice, capture.body.id)).toMatchObject({ status: 'COMPLETED' });
      expect(await holdEnded(alice, captured.body.id)).toMatchObject({ status: 'CAPTURED' });
      const retried = await alice.post(`/v1/holds/${captured.body.id}/capture`, { to_account_id: to }, key);
      expect([retried.status, retried.body.id, retried.body.status]).toEqual([200, capture.body.id, 'COMPLETED']);
      for (const destination of destinations.slice(0, 3)) {
        const reused = await alice.post(`/v1/holds/${captured.body.id}/capture`, { to_account_id: destination }, key);
        expect([reused.status, reused.body.error?.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
        const fresh = await alice.post(`/v1/holds/${captured.body.id}/capture`, { to_account_id: destination });
        expect([fresh.status, fresh.body.error?.code]).toEqual([409, 'HOLD_NOT_ACTIVE']);
      }
      // Another body that is a 400 of its own is that 400: checked before the key, for any hold.
      const over = await alice.post(`/v1/holds/${captured.body.id}/capture`, { to_account_id: to, amount: '21' }, key);
      expect([over.status, over.body.error?.details]).toEqual([400, [{ path: 'amount', message: "must be at most the hold's amount (20)" }]]);
      const self = await alice.post(`/v1/holds/${captured.body.id}/capture`, { to_account_id: from }, key);
      expect([self.status, self.body.error?.details]).toEqual([400, [{ path: 'to_account_id', message: 'must differ from the held account' }]]);
      expect(await balance(alice, from)).toEqual({ balance: '80', available: '80' });
    });

    // Regression (an outside review): the 409 looked for a capture sent earlier under the key
    // in its transfer and its ACCEPTED record only, not in the key's claim. A capture whose
    // first attempt got the ambiguous 503 (the key kept, no record written), or whose record
    // Redis lost, got 409 on a retry with the same body, and 200 once that attempt applied.
    test('a capture of an ended hold under a key only its claim shows is published again (same body) or 422 (another body), not 409', async () => {
      const { from, to, placed } = await heldFor('100', '10', 0, 0);
      expect((await alice.post(`/v1/holds/${placed.body.id}/void`, {})).status).toBe(202);
      expect(await holdEnded(alice, placed.body.id)).toMatchObject({ status: 'VOIDED' });
      const key = randomUUID();
      const body = { to_account_id: to, amount: '5' };
      const id = transferIdFor('alice', key);
      // What a first attempt answered with the ambiguous 503 leaves: the key's claim, and no
      // ACCEPTED record or transfer (its command may still be on its way to the worker).
      const requestHash = requestHashOf('CAPTURE', { hold_id: placed.body.id, ...body });
      await db.pool.query('INSERT INTO idempotency_keys (transfer_id, principal, request_hash) VALUES ($1, $2, $3)', [id, 'alice', requestHash]);
      const reused = await alice.post(`/v1/holds/${placed.body.id}/capture`, { ...body, amount: '6' }, key);
      expect([reused.status, reused.body.error?.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
      const retried = await alice.post(`/v1/holds/${placed.body.id}/capture`, body, key);
      expect([retried.status, retried.body.id]).toEqual([202, id]);
      expect(await settled(alice, id)).toMatchObject({ status: 'REJECTED', reason: 'HOLD_NOT_ACTIVE' });
      const replayed = await alice.post(`/v1/holds/${placed.body.id}/capture`, body, key);
      expect([replayed.status, replayed.body.id, replayed.body.status]).toEqual([200, id, 'REJECTED']);
      expect(await balance(alice, from)).toEqual({ balance: '100', available: '100' });
    });

    // Regression (an outside review): the same gap in the closed-destination check of a live
    // hold, which looked for an earlier capture in its transfer and its ACCEPTED record only.
    // A retry after an ambiguous 503, its payee closed meanwhile, got 400 "is closed" (the
    // hold said to stay as it was), while the first attempt could still apply and use it up;
    // the same retry then got 200.
    test("a capture of a live hold whose destination closed since, under a key only its claim shows, is published again (same body), not 400", async () => {
      const { from, to, placed } = await heldFor('100', '10', 0, 3);
      const key = randomUUID();
      const body = { to_account_id: to };
      const id = transferIdFor('alice', key);
      const requestHash = requestHashOf('CAPTURE', { hold_id: placed.body.id, ...body });
      await db.pool.query('INSERT INTO idempotency_keys (transfer_id, principal, request_hash) VALUES ($1, $2, $3)', [id, 'alice', requestHash]);
      expect((await patch(bob, to, { status: 'CLOSED' })).status).toBe(200);

      const reused = await alice.post(`/v1/holds/${placed.body.id}/capture`, { ...body, amount: '6' }, key);
      expect([reused.status, reused.body.error?.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
      const retried = await alice.post(`/v1/holds/${placed.body.id}/capture`, body, key);
      expect([retried.status, retried.body.id]).toEqual([202, id]);
      // Across partitions the hold is used up before the destination refuses; the money comes back.
      expect(await settled(alice, id)).toMatchObject({ status: 'REJECTED', reason: 'ACCOUNT_CLOSED' });
      const replayed = await alice.post(`/v1/holds/${placed.body.id}/capture`, body, key);
      expect([replayed.status, replayed.body.id, replayed.body.status]).toEqual([200, id, 'REJECTED']);
      expect(await balance(alice, from)).toEqual({ balance: '100', available: '100' });
      // Without a claim under the key, the closed destination is refused before anything is sent.
      const second = await heldFor('100', '10', 0, 3);
      expect((await patch(bob, second.to, { status: 'CLOSED' })).status).toBe(200);
      const refused = await alice.post(`/v1/holds/${second.placed.body.id}/capture`, { to_account_id: second.to });
      expect([refused.status, refused.body.error?.details]).toEqual([400, [{ path: 'to_account_id', message: 'is closed' }]]);
    });

    test('a hold is not a transfer: each id read through the other\'s endpoint is a 404, before and after it is applied', async () => {
      const from = await openAccount(alice, 0);
      const to = await openAccount(bob, 0);
      await deposit(from, '100');
      const placed = await hold(alice, from, '30');
      const capture = await alice.post(`/v1/holds/${placed.body.id}/capture`, { to_account_id: to, amount: '30' });
      // Both ids have an ACCEPTED record in Redis (kept for a day) whether or not a worker
      // applied them yet: asked for as the other kind, neither record is an answer.
      for (const at of ['accepted or applied', 'applied']) {
        expect([at, (await alice.get(`/v1/transfers/${placed.body.id}`)).status]).toEqual([at, 404]);
        expect([at, (await alice.get(`/v1/transfers/${placed.body.id}?wait_ms=50`)).status]).toEqual([at, 404]);
        expect([at, (await alice.get(`/v1/holds/${capture.body.id}`)).status]).toEqual([at, 404]);
        await settled(alice, capture.body.id);
        await holdEnded(alice, placed.body.id);
      }
      expect((await alice.get(`/v1/holds/${placed.body.id}`)).body).toMatchObject({ status: 'CAPTURED' });
      expect((await alice.get(`/v1/transfers/${capture.body.id}`)).body).toMatchObject({ kind: 'CAPTURE', status: 'COMPLETED' });
    });

    test("before they are applied too: a hold read as a transfer, a capture read as a hold, is a 404, not a lost record's 503", async () => {
      const from = await openAccount(alice, 0);
      const to = await openAccount(bob, 0);
      await deposit(from, '100');
      // Neither is applied while the test holds their partition's row.
      const lock = await db.pool.connect();
      try {
        await lock.query('BEGIN');
        await lock.query('SELECT 1 FROM partition_state WHERE partition = $1 FOR UPDATE', [routing.partitionOf(from)]);
        const placed = await hold(alice, from, '30');
        const capture = await alice.post(`/v1/holds/${placed.body.id}/capture`, { to_account_id: to, amount: '30' });
        expect([placed.status, capture.status]).toEqual([202, 202]);
        expect((await alice.get(`/v1/holds/${placed.body.id}`)).body.status).toBe('ACCEPTED');
        expect((await alice.get(`/v1/transfers/${capture.body.id}`)).body.status).toBe('ACCEPTED');
        // Their ACCEPTED records are in Redis, each another kind's: no record is lost.
        expect((await alice.get(`/v1/transfers/${placed.body.id}`)).status).toBe(404);
        expect((await alice.get(`/v1/transfers/${placed.body.id}?wait_ms=50`)).status).toBe(404);
        expect((await alice.get(`/v1/holds/${capture.body.id}`)).status).toBe(404);
        expect((await alice.post(`/v1/transfers/${placed.body.id}/reversals`, {})).status).toBe(404);
        expect((await alice.post(`/v1/holds/${capture.body.id}/void`, {})).status).toBe(404);
      } finally {
        await lock.query('COMMIT').finally(() => lock.release());
      }
    });

    test('full capture across partitions (the saga); a refused destination refunds the held balance', async () => {
      const { from, to, placed } = await heldFor('500', '200', 1, 2);
      const capture = await alice.post(`/v1/holds/${placed.body.id}/capture`, { to_account_id: to });
      expect(await settled(alice, capture.body.id)).toMatchObject({ status: 'COMPLETED', amount: '200' });
      expect(await holdEnded(alice, placed.body.id)).toMatchObject({ status: 'CAPTURED', captured_amount: '200' });
      expect(await balance(alice, from)).toEqual({ balance: '300', available: '300' });
      expect((await balance(bob, to)).balance).toBe('200');

      // Closed since the capture was accepted (one closed before is a 400): the capture waits
      // at its partition, whose row another transaction holds, while the destination's close
      // is sent. The close may wait behind the capture's write (the worker's writes share a
      // lane), but it is in the destination's log before the credit leg the capture sends.
      const closed = await openAccount(bob, 3);
      const second = await hold(alice, from, '100');
      await holdApplied(alice, second.body.id);
      const lock = await db.pool.connect();
      const captureKey = randomUUID();
      let refused: Answer;
      try {
        await lock.query('BEGIN');
        await lock.query('SELECT 1 FROM partition_state WHERE partition = $1 FOR UPDATE', [routing.partitionOf(from)]);
        refused = await alice.post(`/v1/holds/${second.body.id}/capture`, { to_account_id: closed }, captureKey);
        expect(refused.status).toBe(202);
        expect([200, 202]).toContain((await patch(admin, closed, { status: 'CLOSED' })).status);
      } finally {
        await lock.query('COMMIT').finally(() => lock.release());
      }
      expect(await settled(alice, refused.body.id)).toMatchObject({ status: 'REJECTED', reason: 'ACCOUNT_CLOSED' });
      expect((await admin.get(`/v1/accounts/${closed}`)).body.status).toBe('CLOSED');
      // A retry of the accepted capture replays it, although its destination is closed now.
      const again = await alice.post(`/v1/holds/${second.body.id}/capture`, { to_account_id: closed }, captureKey);
      expect([again.status, again.body.id, again.body.status]).toEqual([200, refused.body.id, 'REJECTED']);
      expect(await holdEnded(alice, second.body.id)).toMatchObject({ status: 'CAPTURED' });
      expect(await balance(alice, from)).toEqual({ balance: '300', available: '300' });
    });

    test('void: VOIDED, available restored; a capture after it is 409 HOLD_NOT_ACTIVE', async () => {
      const { from, to, placed } = await heldFor('100', '70');
      const voided = await alice.post(`/v1/holds/${placed.body.id}/void`, {});
      expect(voided.status).toBe(202);
      expect(await holdEnded(alice, placed.body.id)).toMatchObject({ status: 'VOIDED', captured_amount: '0' });
      expect(await balance(alice, from)).toEqual({ balance: '100', available: '100' });
      const capture = await alice.post(`/v1/holds/${placed.body.id}/capture`, { to_account_id: to });
      expect([capture.status, capture.body.error?.code]).toEqual([409, 'HOLD_NOT_ACTIVE']);
      expect((await alice.post(`/v1/holds/${placed.body.id}/void`, {})).status).toBe(202); // harmless again
      expect(await balance(alice, from)).toEqual({ balance: '100', available: '100' });
    });

    test('a void racing a capture: exactly one wins, and the money agrees with the winner', async () => {
      for (let round = 0; round < 4; round++) {
        const from = await openAccount(alice, round % PARTITIONS);
        const to = await openAccount(bob, (round + 1) % PARTITIONS);
        await deposit(from, '100');
        const placed = await hold(alice, from, '60');
        await holdApplied(alice, placed.body.id);
        const [capture] = await Promise.all([
          alice.post(`/v1/holds/${placed.body.id}/capture`, { to_account_id: to, amount: '50' }),
          alice.post(`/v1/holds/${placed.body.id}/void`, {}),
        ]);
        expect([202, 409]).toContain(capture.status);
        const ended = await holdEnded(alice, placed.body.id);
        if (ended.status === 'CAPTURED') {
          expect(capture.status).toBe(202);
          expect(await settled(alice, capture.body.id)).toMatchObject({ status: 'COMPLETED' });
          expect(await balance(alice, from)).toEqual({ balance: '50', available: '50' });
          expect((await balance(bob, to)).balance).toBe('50');
        } else {
          expect(ended.status).toBe('VOIDED');
          if (capture.status === 409) {
            // The void was applied before the capture read the hold: refused at once.
            expect(capture.body).toEqual({ error: { code: 'HOLD_NOT_ACTIVE', message: 'the hold is VOIDED: only a HELD hold can be captured' } });
          } else {
            // Accepted while the API read it HELD, applied after the void.
            expect(await settled(alice, capture.body.id)).toMatchObject({ status: 'REJECTED', reason: 'HOLD_NOT_ACTIVE' });
          }
          expect(await balance(alice, from)).toEqual({ balance: '100', available: '100' });
          expect((await balance(bob, to)).balance).toBe('0');
        }
      }
    });

    test('a capture sent after expires_at is 409 HOLD_EXPIRED at once, even before the scan released the hold; a void then ends it EXPIRED', async () => {
      const from = await openAccount(alice);
      const to = await openAccount(bob);
      await deposit(from, '100');
      const placed = await hold(alice, from, '40', { expires_in_s: 1 });
      await holdApplied(alice, placed.body.id);
      await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(placed.body.expires_at) - Date.now() + 50)));
      // The scan is off here: the hold still reads HELD. Accepted, the capture could only have
      // ended REJECTED (the worker decides by the acceptance time); nothing is sent.
      expect((await alice.get(`/v1/holds/${placed.body.id}`)).body.status).toBe('HELD');
      const capture = await alice.post(`/v1/holds/${placed.body.id}/capture`, { to_account_id: to });
      // Named by its time: the hold still reads HELD (an outside review saw "the hold is EXPIRED" beside it).
      expect([capture.status, capture.body]).toEqual([409, { error: { code: 'HOLD_EXPIRED', message: `the hold expired at ${placed.body.expires_at}: a capture must be sent before it (the hold reads HELD until the expiry releases it, within seconds)` } }]);
      const voided = await alice.post(`/v1/holds/${placed.body.id}/void`, {});
      expect(voided.status).toBe(202);
      expect(await holdEnded(alice, placed.body.id)).toMatchObject({ status: 'EXPIRED' });
      expect(await balance(alice, from)).toEqual({ balance: '100', available: '100' });
    });
  });

  describe('reversals', () => {
    test('a reversal of more than the original accepted before that was a 400 still replays, under its key', async () => {
      // Such a reversal was accepted (202) and ended REJECTED REVERSAL_EXCEEDS_ORIGINAL; its
      // client retrying the same request after the deploy gets that answer, not the new 400.
      const from = await openAccount(alice, 0);
      const to = await openAccount(bob, 0);
      await deposit(from, '10');
      const original = await alice.post('/v1/transfers', { from_account_id: from, to_account_id: to, amount: '10', currency: 'USD' });
      await settled(alice, original.body.id);
      const key = randomUUID();
      const body = { amount: '11' };
      const id = transferIdFor('bob', key);
      const requestHash = requestHashOf('REVERSAL', { reverses: original.body.id, ...body });
      // What the API of before wrote: the key's claim, then the command (publisher = Kafka).
      await db.pool.query('INSERT INTO idempotency_keys (transfer_id, principal, request_hash) VALUES ($1, $2, $3)', [id, 'bob', requestHash]);
      const publisher = await TestPublisher.create(topics, db.pool);
      try {
        await publisher.publish({
          type: 'REVERSAL', transferId: id, reverses: original.body.id, fromAccountId: to, amount: 11n, currency: 'USD', description: null,
          principal: 'bob', admin: false, requestHash, acceptedAt: new Date().toISOString(),
        });
      } finally {
        await publisher.stop();
      }
      expect(await settled(bob, id)).toMatchObject({ status: 'REJECTED', reason: 'REVERSAL_EXCEEDS_ORIGINAL' });
      const retried = await bob.post(`/v1/transfers/${original.body.id}/reversals`, body, key);
      expect([retried.status, retried.body.id, retried.body.status]).toEqual([200, id, 'REJECTED']);
      // A new key: the 400.
      expect((await bob.post(`/v1/transfers/${original.body.id}/reversals`, body)).status).toBe(400);
    });

    test('partial reversals add up to the original and no further; reversed_amount shows it', async () => {
      const from = await openAccount(alice, 0);
      const to = await openAccount(bob, 0);
      await deposit(from, '100');
      const original = await alice.post('/v1/transfers', { from_account_id: from, to_account_id: to, amount: '100', currency: 'USD' });
      await settled(alice, original.body.id);
      const reverse = (amount?: string) => bob.post(`/v1/transfers/${original.body.id}/reversals`, amount ? { amount } : {});
      // More than the whole original: refused at once, nothing accepted (as a capture of more than its hold).
      const tooMuch = await reverse('101');
      expect([tooMuch.status, tooMuch.body.error?.code, tooMuch.body.error?.details]).toEqual([400, 'VALIDATION_FAILED', [{ path: 'amount', message: "must be at most the original's amount (100)" }]]);
      const first = await reverse('30');
      expect(first.status).toBe(202);
      expect(first.body).toMatchObject({ kind: 'REVERSAL', reverses: original.body.id, from_account_id: to, to_account_id: from, amount: '30' });
      expect(await settled(bob, first.body.id)).toMatchObject({ status: 'COMPLETED', kind: 'REVERSAL' });
      expect(await settled(bob, (await reverse('50')).body.id)).toMatchObject({ status: 'COMPLETED' });
      expect(await settled(bob, (await reverse('21')).body.id)).toMatchObject({ status: 'REJECTED', reason: 'REVERSAL_EXCEEDS_ORIGINAL' });
      expect((await alice.get(`/v1/transfers/${original.body.id}`)).body).toMatchObject({ reversed_amount: '80' });
      const rest = await reverse();
      expect(rest.body.amount).toBe('20');
      expect(await settled(bob, rest.body.id)).toMatchObject({ status: 'COMPLETED' });
      expect(await settled(bob, (await reverse()).body.id)).toMatchObject({ status: 'REJECTED', reason: 'REVERSAL_EXCEEDS_ORIGINAL' });
      expect((await alice.get(`/v1/transfers/${original.body.id}`)).body).toMatchObject({ reversed_amount: '100' });
      expect((await balance(alice, from)).balance).toBe('100');
      expect((await balance(bob, to)).balance).toBe('0');
      // The history lists each movement as a read of it shows it, reversed_amount included.
      const history = (await alice.get(`/v1/transfers?account_id=${from}&kind=TRANSFER`)).body.transfers;
      expect(history).toEqual([(await alice.get(`/v1/transfers/${original.body.id}`)).body]);
    });

    test('a reversal without an amount takes what is left when applied, counting a reversal still in flight', async () => {
      const from = await openAccount(alice, 2);
      const to = await openAccount(bob, 2);
      await deposit(from, '100');
      const body = { from_account_id: from, to_account_id: to, amount: '100', currency: 'USD' };
      const key = `original-${Math.random().toString(36).slice(2)}`;
      const original = await alice.request('POST', '/v1/transfers', { body, key });
      await settled(alice, original.body.id);
      // No worker: both reversals wait in Kafka, so the API sees none applied when it takes the second.
      await worker.stop();
      const partial = await bob.post(`/v1/transfers/${original.body.id}/reversals`, { amount: '30' });
      const rest = await bob.post(`/v1/transfers/${original.body.id}/reversals`, {});
      expect([partial.status, rest.status]).toEqual([202, 202]);
      expect(rest.body.amount).toBe('100'); // what was left as far as the applied reversals told
      worker = await startWorker(target, { WORKER_HOLD_EXPIRY_SCAN_MS: '0' });
      expect(await settled(bob, partial.body.id)).toMatchObject({ status: 'COMPLETED', amount: '30' });
      expect(await settled(bob, rest.body.id)).toMatchObject({ status: 'COMPLETED', amount: '70' });
      const read = (await alice.get(`/v1/transfers/${original.body.id}`)).body;
      expect(read).toMatchObject({ reversed_amount: '100' });
      // A replay of the original answers the resource a read shows, reversed_amount included.
      const replay = await alice.request('POST', '/v1/transfers', { body, key });
      expect(replay.status).toBe(200);
      expect(replay.body).toEqual(read);
      expect((await balance(bob, to)).balance).toBe('0');
    });

    test('across partitions, of a capture, of a deposit; spent money is INSUFFICIENT_FUNDS; only the payer may ask', async () => {
      const from = await openAccount(alice, 1);
      const to = await openAccount(bob, 3);
      const depositId = await deposit(from, '500');
      const placed = await hold(alice, from, '200');
      await holdApplied(alice, placed.body.id);
      const capture = await alice.post(`/v1/holds/${placed.body.id}/capture`, { to_account_id: to });
      await settled(alice, capture.body.id);
      expect((await alice.post(`/v1/transfers/${capture.body.id}/reversals`, {})).status).toBe(403);
      const back = await bob.post(`/v1/transfers/${capture.body.id}/reversals`, { amount: '150', description: 'refund' });
      expect(await settled(bob, back.body.id)).toMatchObject({ status: 'COMPLETED', description: 'refund' });
      expect((await balance(alice, from)).balance).toBe('450');
      // Bob spends what is left, so reversing more fails for lack of funds (and reserves nothing).
      const sink = await openAccount(bob, 3);
      await settled(bob, (await bob.post('/v1/transfers', { from_account_id: to, to_account_id: sink, amount: '50', currency: 'USD' })).body.id);
      const broke = await bob.post(`/v1/transfers/${capture.body.id}/reversals`, { amount: '50' });
      expect(await settled(bob, broke.body.id)).toMatchObject({ status: 'REJECTED', reason: 'INSUFFICIENT_FUNDS' });
      expect((await bob.get(`/v1/transfers/${capture.body.id}`)).body.reversed_amount).toBe('150');
      // A deposit's reversal pays the external account back (admin here: the deposit's destination is alice's).
      const refund = await alice.post(`/v1/transfers/${depositId}/reversals`, { amount: '400' });
      expect(refund.body).toMatchObject({ kind: 'REVERSAL', from_account_id: from });
      expect(refund.body.to_account_id).toBeUndefined();
      expect(await settled(alice, refund.body.id)).toMatchObject({ status: 'COMPLETED' });
      expect((await balance(alice, from)).balance).toBe('50');
      const notDone = await alice.post(`/v1/transfers/${refund.body.id}/reversals`, {});
      expect(notDone.status).toBe(409);
      expect(notDone.body.error.code).toBe('TRANSFER_NOT_REVERSIBLE');
      expect((await alice.post(`/v1/transfers/${randomUUID()}/reversals`, {})).status).toBe(404);
    });

    test('a reversal whose money cannot go home (source closed) is refunded and reserves nothing', async () => {
      const from = await openAccount(alice, 2);
      const to = await openAccount(bob, 0);
      await deposit(from, '40');
      const original = await alice.post('/v1/transfers', { from_account_id: from, to_account_id: to, amount: '40', currency: 'USD' });
      await settled(alice, original.body.id);
      expect((await patch(alice, from, { status: 'CLOSED' })).status).toBe(200);
      const back = await bob.post(`/v1/transfers/${original.body.id}/reversals`, {});
      expect(await settled(bob, back.body.id)).toMatchObject({ status: 'REJECTED', reason: 'ACCOUNT_CLOSED' });
      expect((await balance(bob, to)).balance).toBe('40');
      expect((await bob.get(`/v1/transfers/${original.body.id}`)).body.reversed_amount).toBe('0');
    });
  });

  describe('account life cycle', () => {
    test('FROZEN refuses every debit (ACCOUNT_FROZEN) and keeps receiving credits; OPEN again unfreezes', async () => {
      const account = await openAccount(alice, 1);
      const other = await openAccount(bob, 2);
      const local = await openAccount(bob, 1);
      await deposit(account, '300');
      await deposit(other, '300');
      const keep = await hold(alice, account, '50');
      await holdApplied(alice, keep.body.id);
      const frozen = await patch(admin, account, { status: 'FROZEN' });
      expect(frozen.status).toBe(200);
      expect(frozen.body).toMatchObject({ id: account, status: 'FROZEN' });
      expect((await alice.get(`/v1/accounts/${account}`)).body.status).toBe('FROZEN');

      const out = await alice.post('/v1/transfers', { from_account_id: account, to_account_id: other, amount: '1', currency: 'USD' });
      expect(await settled(alice, out.body.id)).toMatchObject({ status: 'REJECTED', reason: 'ACCOUNT_FROZEN' });
      const withdrawal = await alice.post('/v1/withdrawals', { account_id: account, amount: '1', currency: 'USD' });
      expect(await settled(alice, withdrawal.body.id)).toMatchObject({ status: 'REJECTED', reason: 'ACCOUNT_FROZEN' });
      const held = await hold(alice, account, '1');
      expect(await holdApplied(alice, held.body.id)).toMatchObject({ status: 'REJECTED', reason: 'ACCOUNT_FROZEN' });
      const capture = await alice.post(`/v1/holds/${keep.body.id}/capture`, { to_account_id: other, amount: '10' });
      expect(await settled(alice, capture.body.id)).toMatchObject({ status: 'REJECTED', reason: 'ACCOUNT_FROZEN' });
      const incoming = await bob.post('/v1/transfers', { from_account_id: other, to_account_id: account, amount: '25', currency: 'USD' });
      expect(await settled(bob, incoming.body.id)).toMatchObject({ status: 'COMPLETED' });
      const sameSide = await bob.post('/v1/transfers', { from_account_id: local, to_account_id: account, amount: '1', currency: 'USD' });
      expect(await settled(bob, sameSide.body.id)).toMatchObject({ status: 'REJECTED', reason: 'INSUFFICIENT_FUNDS' });
      await deposit(account, '5');
      const reversal = await alice.post(`/v1/transfers/${incoming.body.id}/reversals`, {});
      expect(await settled(alice, reversal.body.id)).toMatchObject({ status: 'REJECTED', reason: 'ACCOUNT_FROZEN' });
      expect(await balance(alice, account)).toEqual({ balance: '330', available: '280' });

      expect((await patch(alice, account, { status: 'OPEN' })).status).toBe(403); // the owner may only close
      expect((await patch(admin, account, { status: 'OPEN' })).status).toBe(200);
      const after = await alice.post('/v1/transfers', { from_account_id: account, to_account_id: other, amount: '30', currency: 'USD' });
      expect(await settled(alice, after.body.id)).toMatchObject({ status: 'COMPLETED' });
    });

    test("a FROZEN account's owner cannot close it (403, it stays FROZEN); an admin can", async () => {
      const account = await openAccount(alice, 2);
      expect((await patch(admin, account, { status: 'FROZEN' })).status).toBe(200);
      const byOwner = await patch(alice, account, { status: 'CLOSED' });
      expect(byOwner.status).toBe(403);
      expect((await alice.get(`/v1/accounts/${account}`)).body.status).toBe('FROZEN');
      const byAdmin = await patch(admin, account, { status: 'CLOSED' });
      expect(byAdmin.status).toBe(200);
      expect(byAdmin.body.status).toBe('CLOSED');
    });

    test('closing needs balance 0 and no active hold; CLOSED refuses debits and credits and stays closed', async () => {
      const account = await openAccount(alice, 3);
      const other = await openAccount(bob, 0);
      await deposit(account, '20');
      const notEmpty = await patch(alice, account, { status: 'CLOSED' });
      expect(notEmpty.status).toBe(409);
      expect(notEmpty.body.error.code).toBe('ACCOUNT_NOT_EMPTY');
      const out = await alice.post('/v1/transfers', { from_account_id: account, to_account_id: other, amount: '20', currency: 'USD' });
      expect(await settled(alice, out.body.id)).toMatchObject({ status: 'COMPLETED' });
      // Balance 0 and a hold alone: the hold must keep the account open. With a limit of 0 a
      // hold needs money on the account (and the balance refuses the close by itself), so
      // this one is placed inside an overdraft limit.
      expect((await patch(admin, account, { overdraft_limit: '5' })).status).toBe(200);
      const pending = await hold(alice, account, '5');
      expect(await holdApplied(alice, pending.body.id)).toMatchObject({ status: 'HELD' });
      expect(await balance(alice, account)).toEqual({ balance: '0', available: '-5' });
      const withdraw = await alice.post('/v1/withdrawals', { account_id: account, amount: '0', currency: 'USD' });
      expect(withdraw.status).toBe(400);
      const stillHeld = await patch(alice, account, { status: 'CLOSED' });
      expect(stillHeld.status).toBe(409);
      expect(stillHeld.body.error.code).toBe('ACCOUNT_NOT_EMPTY');
      await alice.post(`/v1/holds/${pending.body.id}/void`, {});
      expect(await holdEnded(alice, pending.body.id)).toMatchObject({ status: 'VOIDED' });

      // Closing is a write: a read-only token may not, a write-only one may (an outside review
      // found the route asking for ledger:read).
      const readOnly = new Client(api.url, await token('alice', 'ledger:read'));
      expect((await patch(readOnly, account, { status: 'CLOSED' })).status).toBe(403);
      const writeOnly = new Client(api.url, await token('alice', 'ledger:write'));
      const closed = await patch(writeOnly, account, { status: 'CLOSED' });
      expect(closed.status).toBe(200);
      expect(closed.body.status).toBe('CLOSED');
      const credit = await admin.post('/v1/deposits', { account_id: account, amount: '1', currency: 'USD' });
      expect(await settled(admin, credit.body.id)).toMatchObject({ status: 'REJECTED', reason: 'ACCOUNT_CLOSED' });
      const incoming = await bob.post('/v1/transfers', { from_account_id: other, to_account_id: account, amount: '1', currency: 'USD' });
      expect(await settled(bob, incoming.body.id)).toMatchObject({ status: 'REJECTED', reason: 'ACCOUNT_CLOSED' });
      const debit = await alice.post('/v1/holds', { account_id: account, amount: '1', currency: 'USD' });
      expect(await holdApplied(alice, debit.body.id)).toMatchObject({ status: 'REJECTED', reason: 'ACCOUNT_CLOSED' });
      const reopen = await patch(admin, account, { status: 'OPEN' });
      expect(reopen.status).toBe(409);
      expect(reopen.body.error.code).toBe('ACCOUNT_CLOSED');
      expect((await patch(alice, account, { status: 'CLOSED' })).status).toBe(200); // closing again is a no-op
      expect(await balance(alice, account)).toEqual({ balance: '0', available: '0' });
    });

    test('overdraft limit: admin only; a limit below what is used is OVERDRAFT_IN_USE; replay tells the outcome', async () => {
      const account = await openAccount(alice);
      const other = await openAccount(bob);
      expect((await patch(alice, account, { overdraft_limit: '100' })).status).toBe(403);
      const raised = await patch(admin, account, { overdraft_limit: '100' });
      expect(raised.status).toBe(200);
      expect(raised.body.overdraft_limit).toBe('100');
      const spend = await alice.post('/v1/transfers', { from_account_id: account, to_account_id: other, amount: '60', currency: 'USD' });
      expect(await settled(alice, spend.body.id)).toMatchObject({ status: 'COMPLETED' });
      const key = randomUUID();
      const lower = () => admin.request('PATCH', `/v1/accounts/${account}`, { body: { overdraft_limit: '50' }, headers: { 'idempotency-key': key } });
      const refused = await lower();
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe('OVERDRAFT_IN_USE');
      expect((await lower()).status).toBe(409); // the replay answers the recorded outcome
      expect((await admin.request('PATCH', `/v1/accounts/${account}`, { body: { overdraft_limit: '70' }, headers: { 'idempotency-key': key } })).status).toBe(422);
      expect((await patch(admin, account, { overdraft_limit: '60' })).status).toBe(200);
      expect((await patch(admin, account, {})).status).toBe(400);
      expect((await patch(admin, account, { status: 'GONE' })).status).toBe(400);
      expect((await patch(bob, account, { status: 'CLOSED' })).status).toBe(404);
      expect((await patch(admin, randomUUID(), { status: 'FROZEN' })).status).toBe(404);
    });
  });

  test("a payee sees a rejection without the payer's reason; a reason about the payee's own account it sees", async () => {
    const payer = await openAccount(alice, 0);
    const payee = await openAccount(bob, 1);
    const short = await alice.post('/v1/transfers', { from_account_id: payer, to_account_id: payee, amount: '5', currency: 'USD', description: 'rent' });
    expect(short.status).toBe(202);
    expect(await settled(alice, short.body.id)).toMatchObject({ status: 'REJECTED', reason: 'INSUFFICIENT_FUNDS', description: 'rent' });
    const seenByPayee = await settled(bob, short.body.id);
    expect(seenByPayee).toMatchObject({ status: 'REJECTED' });
    // Nor the payer's text: a refusal moved no money (read-rights.int.test.ts).
    expect(seenByPayee).not.toHaveProperty('reason');
    expect(seenByPayee).not.toHaveProperty('description');
    // The same in each one's history, and an admin sees everything.
    const inHistory = async (client: Client, account: string) =>
      ((await client.get(`/v1/transfers?account_id=${account}`)).body.transfers as { id: string }[]).find((t) => t.id === short.body.id);
    expect(await inHistory(alice, payer)).toMatchObject({ reason: 'INSUFFICIENT_FUNDS' });
    expect(await inHistory(bob, payee)).not.toHaveProperty('reason');
    expect((await admin.get(`/v1/transfers/${short.body.id}`)).body).toMatchObject({ reason: 'INSUFFICIENT_FUNDS' });

    // A reason about the payee's account: its currency.
    const euros = (await bob.post('/v1/accounts', { currency: 'EUR' })).body.id as string;
    await deposit(payer, '10');
    const mismatch = await alice.post('/v1/transfers', { from_account_id: payer, to_account_id: euros, amount: '5', currency: 'USD' });
    expect(await settled(bob, mismatch.body.id)).toMatchObject({ status: 'REJECTED', reason: 'CURRENCY_MISMATCH' });

    // ACCOUNT_CLOSED can be either side's: the payee sees it only when its own account is closed.
    const closedPayer = await openAccount(alice, 2);
    expect((await patch(alice, closedPayer, { status: 'CLOSED' })).status).toBe(200);
    const fromClosed = await alice.post('/v1/transfers', { from_account_id: closedPayer, to_account_id: payee, amount: '1', currency: 'USD' });
    expect(await settled(alice, fromClosed.body.id)).toMatchObject({ status: 'REJECTED', reason: 'ACCOUNT_CLOSED' });
    expect(await settled(bob, fromClosed.body.id)).not.toHaveProperty('reason');
    const closedPayee = await openAccount(bob, 3);
    expect((await patch(bob, closedPayee, { status: 'CLOSED' })).status).toBe(200);
    const toClosed = await alice.post('/v1/transfers', { from_account_id: payer, to_account_id: closedPayee, amount: '1', currency: 'USD' });
    expect(await settled(bob, toClosed.body.id)).toMatchObject({ status: 'REJECTED', reason: 'ACCOUNT_CLOSED' });
  });

  test('the balance cache and Postgres agree on available after holds come and go', async () => {
    const account = await openAccount(alice);
    await deposit(account, '90');
    const placed = await hold(alice, account, '30');
    await holdApplied(alice, placed.body.id);
    const row = await db.pool.query('SELECT balance, held FROM accounts WHERE id = $1', [account]);
    expect(row.rows[0]).toEqual({ balance: '90', held: '30' });
    expect(await balance(alice, account)).toEqual({ balance: '90', available: '60' });
    await alice.post(`/v1/holds/${placed.body.id}/void`, {});
    await holdEnded(alice, placed.body.id);
    for (let i = 0; i < 50 && (await balance(alice, account)).available !== '90'; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await balance(alice, account)).toEqual({ balance: '90', available: '90' });
  });
});
