// Proves POST /v1/batch (per-item statuses, replay and reuse, per-partition order), the
// transfer history with its filters and cursor, the entries time window, and the
// point-in-time balance, against the real API, a real worker, Kafka, Postgres and Redis.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import { type RoutingTable, batchIdFor, batchItemIdFor } from '@ledgerline/domain';
import { loadRouting } from '@ledgerline/postgres';
import { BalanceCache, createRedis } from '@ledgerline/redis';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { Client, startApi, token } from '../../../test/support/api';
import { testServices } from '../../../test/support/env';
import { openAccountOn } from '../../../test/support/ledger';
import { startWorker, waitFor } from '../../../test/support/worker';

const PARTITIONS = 4;

describe('batch, history and point in time', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let api: Awaited<ReturnType<typeof startApi>>;
  /** Publishes a batch in several produce requests (4 KiB of commands each). */
  let splittingApi: Awaited<ReturnType<typeof startApi>>;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let routing: RoutingTable;
  let redisKeyPrefix: string;
  let alice: Client;
  let bob: Client;
  let admin: Client;
  let splittingAdmin: Client;
  /** Works on one batch item at a time; a batch waits 1.5 s for its turn, then is refused. */
  let gatedApi: Awaited<ReturnType<typeof startApi>>;

  beforeAll(async () => {
    db = await createTestDatabase(PARTITIONS);
    topics = await createTestTopics(PARTITIONS);
    redisKeyPrefix = `${topics.prefix}:`;
    const target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix };
    worker = await startWorker(target);
    api = await startApi(target, { API_BATCH_ITEMS_MAX: '50' });
    splittingApi = await startApi(target, { API_PRODUCE_GROUP_BYTES_MAX: '4096' });
    // The held batch's claim waits on a row lock for as long as the test needs: no statement deadline.
    gatedApi = await startApi(target, { API_BATCH_ITEMS_IN_FLIGHT_MAX: '1', API_BATCH_ADMISSION_WAIT_MS: '1500', API_PG_QUERY_TIMEOUT_MS: '120000' });
    routing = await loadRouting(db.pool);
    alice = new Client(api.url, await token('alice'));
    bob = new Client(api.url, await token('bob'));
    admin = new Client(api.url, await token('ops', 'ledger:read ledger:admin'));
    splittingAdmin = new Client(splittingApi.url, await token('ops', 'ledger:read ledger:admin'));
  });

  afterAll(async () => {
    await api.stop();
    await splittingApi.stop();
    await gatedApi.stop();
    await worker.stop();
    expect(worker.fatal).toEqual([]);
    await topics.delete();
    await db.drop();
  });

  async function openAccount(client: Client): Promise<string> {
    const answer = await client.post('/v1/accounts', { currency: 'USD' });
    expect(answer.status).toBe(201);
    return answer.body.id;
  }

  async function settled(client: Client, id: string): Promise<{ status: string; reason?: string }> {
    // A 503 (+ Retry-After) is the contract's answer when Postgres is momentarily out of reach
    // (seen once under a load average of 20: a pool checkout past API_PG_CONNECT_TIMEOUT_MS
    // while dozens of long polls ran at once); a client retries it, and so does this one.
    let answer = await client.get(`/v1/transfers/${id}?wait_ms=15000`);
    for (let attempt = 0; answer.status === 503 && attempt < 20; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      answer = await client.get(`/v1/transfers/${id}?wait_ms=15000`);
    }
    expect(answer.status).toBe(200);
    expect(['COMPLETED', 'REJECTED']).toContain(answer.body.status);
    return answer.body;
  }

  async function deposit(accountId: string, amount: string): Promise<string> {
    const answer = await admin.post('/v1/deposits', { account_id: accountId, amount, currency: 'USD' });
    expect(answer.status).toBe(202);
    expect((await settled(admin, answer.body.id)).status).toBe('COMPLETED');
    return answer.body.id;
  }

  async function balance(client: Client, accountId: string): Promise<string> {
    return (await client.get(`/v1/accounts/${accountId}/balance`)).body.balance;
  }

  describe('POST /v1/batch', () => {
    test('mixed items: each gets the status its single endpoint would give, in item order', async () => {
      const mine = await openAccount(alice);
      const mineToo = await openAccount(alice);
      const bobs = await openAccount(bob);
      await deposit(mine, '1000');
      const key = randomUUID();
      const badAmount = { from_account_id: mine, to_account_id: bobs, amount: '-5', currency: 'USD' };
      const items = [
        { kind: 'TRANSFER', from_account_id: mine, to_account_id: bobs, amount: '100', currency: 'USD', description: 'rent' },
        { kind: 'TRANSFER', ...badAmount },
        { kind: 'WITHDRAWAL', account_id: bobs, amount: '1', currency: 'USD' },
        { kind: 'DEPOSIT', account_id: mine, amount: '1', currency: 'USD' },
        { kind: 'REFUND', account_id: mine, amount: '1', currency: 'USD' },
        { kind: 'TRANSFER', from_account_id: mineToo, to_account_id: bobs, amount: '1', currency: 'USD', description: 'a\u0000b' },
        'not an object',
        { kind: 'WITHDRAWAL', account_id: mine, amount: '50', currency: 'USD' },
        { kind: 'TRANSFER', from_account_id: randomUUID(), to_account_id: bobs, amount: '1', currency: 'USD' },
      ];
      const answer = await alice.post('/v1/batch', { items }, key);
      expect(answer.status).toBe(202);
      const results = answer.body.results as { index: number; status: number; resource?: { id: string; status: string }; error?: { code: string; details?: unknown } }[];
      expect(results.map((r) => r.index)).toEqual(items.map((_, i) => i));
      expect(results.map((r) => r.status)).toEqual([202, 400, 403, 403, 400, 400, 400, 202, 403]);
      expect(results[4]!.error!.details).toEqual([expect.objectContaining({ path: 'kind' })]);

      // The same item sent alone gets the very same answer.
      const alone = await alice.post('/v1/transfers', badAmount);
      expect(alone.status).toBe(400);
      expect(results[1]!.error).toEqual(alone.body.error);
      const notMine = await alice.post('/v1/withdrawals', { account_id: bobs, amount: '1', currency: 'USD' });
      expect(results[2]!.error).toEqual(notMine.body.error);

      // Accepted items carry ids derived from (principal, key, index) and really move money.
      expect(results[0]!.resource!.id).toBe(batchItemIdFor('alice', key, 0));
      expect(results[7]!.resource!.id).toBe(batchItemIdFor('alice', key, 7));
      expect((await settled(alice, results[0]!.resource!.id)).status).toBe('COMPLETED');
      expect((await settled(alice, results[7]!.resource!.id)).status).toBe('COMPLETED');
      expect(await balance(alice, mine)).toBe('850');
      expect(await balance(bob, bobs)).toBe('100');
      expect(await balance(alice, mineToo)).toBe('0');
    });

    test('replay answers the same items with their current status; another body under the key is 422', async () => {
      const from = await openAccount(alice);
      const to = await openAccount(bob);
      await deposit(from, '500');
      const key = randomUUID();
      const items = [
        { kind: 'TRANSFER', from_account_id: from, to_account_id: to, amount: '200', currency: 'USD' },
        { kind: 'WITHDRAWAL', account_id: from, amount: 'abc', currency: 'USD' },
        { kind: 'WITHDRAWAL', account_id: from, amount: '100', currency: 'USD' },
      ];
      const first = await alice.post('/v1/batch', { items }, key);
      expect(first.status).toBe(202);
      expect(first.body.results.map((r: { status: number }) => r.status)).toEqual([202, 400, 202]);
      for (const i of [0, 2]) await settled(alice, first.body.results[i].resource.id);

      // The same body (ids in another case, keys in another order): the same transfers, now COMPLETED.
      const replayItems = [
        { currency: 'USD', amount: '200', to_account_id: to.toUpperCase(), from_account_id: from, kind: 'TRANSFER' },
        items[1],
        items[2],
      ];
      const replay = await alice.post('/v1/batch', { items: replayItems }, key);
      expect(replay.status).toBe(202);
      expect(replay.body.results.map((r: { status: number }) => r.status)).toEqual([200, 400, 200]);
      for (const i of [0, 2]) {
        expect(replay.body.results[i].resource.id).toBe(first.body.results[i].resource.id);
        expect(replay.body.results[i].resource.status).toBe('COMPLETED');
      }
      expect(replay.body.results[1].error).toEqual(first.body.results[1].error);

      // Another body under the same key: refused whole, nothing moves.
      const reused = await alice.post('/v1/batch', { items: [items[0], items[1], { ...items[2], amount: '101' }] }, key);
      expect(reused.status).toBe(422);
      expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
      const fewer = await alice.post('/v1/batch', { items: [items[0]] }, key);
      expect(fewer.status).toBe(422);
      expect(await balance(alice, from)).toBe('200');
      expect(await balance(bob, to)).toBe('200');
    });

    test('a replay looks its items up at once: one read per table, not one per item', async () => {
      const from = await openAccount(alice);
      const to = await openAccount(bob);
      await deposit(from, '1000');
      const items = [
        ...Array.from({ length: 30 }, () => ({ kind: 'TRANSFER', from_account_id: from, to_account_id: to, amount: '1', currency: 'USD' })),
        { kind: 'HOLD', account_id: from, amount: '5', currency: 'USD', expires_in_s: 3600 },
        { kind: 'WITHDRAWAL', account_id: from, amount: '2', currency: 'USD' },
      ];
      const key = randomUUID();
      const first = await alice.post('/v1/batch', { items }, key);
      expect(first.status).toBe(202);
      expect(new Set(first.body.results.map((r: { status: number }) => r.status))).toEqual(new Set([202]));
      for (const [i, r] of first.body.results.entries()) {
        if (items[i]!.kind !== 'HOLD') await settled(alice, r.resource.id);
        else expect((await alice.get(`/v1/holds/${r.resource.id}?wait_ms=15000`)).body.status).toBe('HELD');
      }
      // Bob gives the first transfer back: its replay shows that, as a read of it does.
      const back = await bob.post(`/v1/transfers/${first.body.results[0].resource.id}/reversals`, {});
      expect(await settled(bob, back.body.id)).toMatchObject({ status: 'COMPLETED' });

      // The API's statements in the test's database, counted by Postgres itself
      // (pg_stat_statements; the worker runs some of the same SQL under its own role).
      const admin = new Pool({ connectionString: testServices().databaseDirectUrl, max: 1 });
      const calls = async (tail: string): Promise<number> => {
        const { rows } = await admin.query(
          `SELECT coalesce(sum(s.calls), 0)::int AS calls
             FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid JOIN pg_roles r ON r.oid = s.userid
            WHERE d.datname = $1 AND r.rolname = 'ledgerline_api' AND s.query LIKE $2`,
          [db.name, `%${tail}`],
        );
        return rows[0].calls as number;
      };
      try {
        await admin.query('SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = $1), 0)', [db.name]);
        const replay = await alice.post('/v1/batch', { items }, key);
        expect(replay.status).toBe(202);
        replay.body.results.forEach((r: { status: number; resource: { id: string; status: string } }, i: number) => {
          expect(r.status).toBe(200);
          expect(r.resource.id).toBe(first.body.results[i].resource.id);
          expect(r.resource.status).toBe(items[i]!.kind === 'HOLD' ? 'HELD' : 'COMPLETED');
          // A COMPLETED transfer shows what its reversals took back; a withdrawal and a hold have no such member.
          const reversed = items[i]!.kind === 'TRANSFER' ? (i === 0 ? '1' : '0') : undefined;
          expect(r.resource).toEqual(reversed === undefined ? expect.not.objectContaining({ reversed_amount: expect.anything() }) : expect.objectContaining({ reversed_amount: reversed }));
        });
        expect({
          transferById: await calls('FROM transfers WHERE id = $1'),
          holdById: await calls('FROM holds WHERE id = $1'),
          transfersByIds: await calls('FROM transfers WHERE id = ANY($1::uuid[])'),
          holdsByIds: await calls('FROM holds WHERE id = ANY($1::uuid[])'),
          reversedByIds: await calls('FROM transfer_reversals WHERE transfer_id = ANY($1::uuid[])'),
        }).toEqual({ transferById: 0, holdById: 0, transfersByIds: 1, holdsByIds: 1, reversedByIds: 1 });
      } finally {
        await admin.end();
      }
    });

    test('a replay finds items (and single requests) accepted but not yet applied by their ACCEPTED records, each at its own index', async () => {
      // An API whose commands topic no worker reads: what it accepts stays ACCEPTED.
      const idleTopics = await createTestTopics(PARTITIONS);
      const idleApi = await startApi({ databaseUrl: db.url, topicPrefix: idleTopics.prefix, redisKeyPrefix });
      const redis = createRedis(testServices().redisUrl);
      try {
        await new Promise((resolve) => redis.once('ready', resolve));
        const idleAlice = new Client(idleApi.url, await token('alice'));
        const from = await openAccount(alice);
        const to = await openAccount(bob);
        const items: Record<string, unknown>[] = [1, 2, 3].map((amount) => ({ kind: 'TRANSFER', from_account_id: from, to_account_id: to, amount: String(amount), currency: 'USD' }));
        // A hold's record is a hold's, read as one (movements.ts earlierResources).
        items.push({ kind: 'HOLD', account_id: from, amount: '4', currency: 'USD', expires_in_s: 600 });
        const key = randomUUID();
        const first = await idleAlice.post('/v1/batch', { items }, key);
        expect(first.body.results.map((r: { status: number }) => r.status)).toEqual([202, 202, 202, 202]);
        const ids = first.body.results.map((r: { resource: { id: string } }) => r.resource.id) as string[];
        // The middle item's record is gone (expired, or Redis lost it): it has nothing to show.
        await redis.del(`${redisKeyPrefix}acc:${ids[1]}`);

        const replay = await idleAlice.post('/v1/batch', { items }, key);
        expect(replay.status).toBe(202);
        const results = replay.body.results as { index: number; status: number; resource: { id: string; status: string; amount: string } }[];
        expect(results.map((r) => [r.index, r.status, r.resource.id, r.resource.status, r.resource.amount])).toEqual([
          [0, 200, ids[0], 'ACCEPTED', '1'],
          [1, 202, ids[1], 'ACCEPTED', '2'], // published again: the worker would dedupe it
          [2, 200, ids[2], 'ACCEPTED', '3'],
          [3, 200, ids[3], 'ACCEPTED', '4'],
        ]);

        // A single request's replay reads the same records: a hold's as a hold, a transfer's as a transfer.
        for (const [path, body] of [
          ['/v1/holds', { account_id: from, amount: '5', currency: 'USD', expires_in_s: 600 }],
          ['/v1/transfers', { from_account_id: from, to_account_id: to, amount: '6', currency: 'USD' }],
        ] as const) {
          const single = randomUUID();
          const accepted = await idleAlice.post(path, body, single);
          expect([path, accepted.status, accepted.body.status]).toEqual([path, 202, 'ACCEPTED']);
          const again = await idleAlice.post(path, body, single);
          expect([path, again.status, again.body]).toEqual([path, 200, accepted.body]);
        }
      } finally {
        redis.disconnect();
        await idleApi.stop();
        await idleTopics.delete();
      }
    });

    test('a produce request of a batch that fails: its items may still be appended; the later requests were never sent, and say so', async () => {
      // An API that sends each item in its own produce request (1 KiB of commands a request)
      // on topics of its own, and a commands topic whose max.message.bytes is then lowered
      // below the middle item's size: Kafka refuses that request until the ack deadline.
      const ownTopics = await createTestTopics(PARTITIONS);
      const oneEach = await startApi(
        { databaseUrl: db.url, topicPrefix: ownTopics.prefix, redisKeyPrefix },
        { API_PRODUCE_GROUP_BYTES_MAX: '1024', API_PRODUCE_ACK_TIMEOUT_MS: '1000' },
      );
      const kafkaAdmin = new Kafka({ brokers: testServices().kafkaBrokers, clientId: `${ownTopics.prefix}-cfg`, logLevel: logLevel.NOTHING }).admin();
      await kafkaAdmin.connect();
      try {
        const account = await openAccount(alice);
        const oneEachAdmin = new Client(oneEach.url, await token('ops', 'ledger:read ledger:admin'));
        // 512 three-byte characters: a command of about 2 KB, in a request of its own.
        const items = ['1', '2', '3'].map((amount) => ({ kind: 'DEPOSIT', account_id: account, amount, currency: 'USD', ...(amount === '2' ? { description: '€'.repeat(512) } : {}) }));
        await kafkaAdmin.alterConfigs({
          validateOnly: false,
          resources: [{ type: ConfigResourceTypes.TOPIC, name: ownTopics.names.commands, configEntries: [{ name: 'max.message.bytes', value: '1500' }] }],
        });
        const answer = await oneEachAdmin.post('/v1/batch', { items }, randomUUID());
        expect(answer.status).toBe(202);
        expect(answer.body.results.map((r: { status: number; error?: { message: string } }) => [r.status, r.error?.message])).toEqual([
          [202, undefined],
          [503, 'kafka did not confirm this attempt, which it may still append; retry with the same Idempotency-Key and body'],
          [503, 'kafka unreachable; this attempt was not sent; retry with the same Idempotency-Key and body'],
        ]);
        // Counted as they were answered: one that may be in Kafka, one that certainly is not.
        const failures = await (await fetch(`${oneEach.url}/metrics`)).text();
        expect(failures.split('\n').filter((l) => l.startsWith('ledger_api_publish_failures_total{'))).toEqual(
          expect.arrayContaining(['ledger_api_publish_failures_total{reason="unknown"} 1', 'ledger_api_publish_failures_total{reason="unavailable"} 1']),
        );
      } finally {
        await oneEach.stop();
        await kafkaAdmin.disconnect();
        await ownTopics.delete();
      }
    });

    test('the batch claim binds its items: one claim row per batch, and a batch claimed before a crash is published by its retry, once', async () => {
      const from = await openAccount(alice);
      const to = await openAccount(bob);
      await deposit(from, '100');
      const items = [
        { kind: 'TRANSFER', from_account_id: from, to_account_id: to, amount: '30', currency: 'USD' },
        { kind: 'WITHDRAWAL', account_id: from, amount: '20', currency: 'USD' },
      ];
      const claimRows = async (key: string) =>
        (
          await db.pool.query('SELECT transfer_id::text AS id, request_hash FROM idempotency_keys WHERE transfer_id = ANY($1::uuid[])', [
            [batchIdFor('alice', key), ...items.map((_, i) => batchItemIdFor('alice', key, i))],
          ])
        ).rows as { id: string; request_hash: string }[];

      const firstKey = randomUUID();
      const first = await alice.post('/v1/batch', { items }, firstKey);
      expect(first.body.results.map((r: { status: number }) => r.status)).toEqual([202, 202]);
      for (const r of first.body.results) await settled(alice, r.resource.id);
      // The batch's claim is the only row: its items are bound by it.
      const rows = await claimRows(firstKey);
      expect(rows.map((r) => r.id)).toEqual([batchIdFor('alice', firstKey)]);

      // An API that claimed a batch and died before publishing anything leaves exactly that
      // row (the hash depends on the body only). The client's retry must publish every item.
      const crashedKey = randomUUID();
      await db.pool.query('INSERT INTO idempotency_keys (transfer_id, principal, request_hash) VALUES ($1, $2, $3)', [batchIdFor('alice', crashedKey), 'alice', rows[0]!.request_hash]);
      const retry = await alice.post('/v1/batch', { items }, crashedKey);
      expect(retry.status).toBe(202);
      expect(retry.body.results.map((r: { status: number }) => r.status)).toEqual([202, 202]);
      for (const r of retry.body.results) expect((await settled(alice, r.resource.id)).status).toBe('COMPLETED');
      // Its replay now finds both applied: 200 each, nothing moves twice.
      const replay = await alice.post('/v1/batch', { items }, crashedKey);
      expect(replay.body.results.map((r: { status: number; resource: { status: string } }) => [r.status, r.resource.status])).toEqual([
        [200, 'COMPLETED'],
        [200, 'COMPLETED'],
      ]);
      expect(await balance(alice, from)).toBe('0');
      expect(await balance(bob, to)).toBe('60');
    });

    test('admission: past the items in flight a batch waits its turn, then is refused with 429 before anything of it is claimed', async () => {
      const from = await openAccount(alice);
      const to = await openAccount(bob);
      await deposit(from, '100');
      const gated = new Client(gatedApi.url, await token('alice'));
      const item = (amount: string) => ({ kind: 'TRANSFER', from_account_id: from, to_account_id: to, amount, currency: 'USD' });
      const [heldKey, refusedKey] = [randomUUID(), randomUUID()];
      // Hold the first batch inside the API: its key's claim waits on a row this transaction inserted.
      const blocker = await db.pool.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query('INSERT INTO idempotency_keys (transfer_id, principal, request_hash) VALUES ($1, $2, $3)', [batchIdFor('alice', heldKey), 'alice', 'held']);
        const held = gated.post('/v1/batch', { items: [item('10')] }, heldKey);
        await waitFor('the held batch in flight', async () => (await metricValue(gatedApi.url, 'ledger_api_batch_items_in_flight')) === 1);

        // The next batch waits its turn (1.5 s) and is refused; meanwhile a third one finds a
        // full round waiting and is refused before its body is even parsed (malformed JSON,
        // never looked at: 429, not 400).
        const refused = gated.post('/v1/batch', { items: [item('20')] }, refusedKey);
        await waitFor('a full round waiting', async () => {
          const early = await gated.request('POST', '/v1/batch', { raw: '{"items": [', key: randomUUID() });
          return early.status === 429;
        });
        const answer = await refused;
        expect(answer.status).toBe(429);
        expect(answer.body.error.code).toBe('TOO_MANY_REQUESTS');
        expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(await metricValue(gatedApi.url, 'ledger_api_batch_admission_refused_total')).toBeGreaterThanOrEqual(2);
        // Nothing of the refused batch was claimed: its key is free, its item unknown.
        const claimed = await db.pool.query('SELECT count(*)::int AS n FROM idempotency_keys WHERE transfer_id = ANY($1::uuid[])', [
          [batchIdFor('alice', refusedKey), batchItemIdFor('alice', refusedKey, 0)],
        ]);
        expect(claimed.rows[0].n).toBe(0);

        await blocker.query('ROLLBACK');
        const first = await held;
        expect(first.status).toBe(202);
        expect(first.body.results[0].status).toBe(202);
      } finally {
        blocker.release();
      }
      // The client's retry with the same key is a first submission, and is accepted.
      const retry = await gated.post('/v1/batch', { items: [item('20')] }, refusedKey);
      expect(retry.status).toBe(202);
      expect(retry.body.results[0].status).toBe(202);
      expect((await settled(alice, retry.body.results[0].resource.id)).status).toBe('COMPLETED');
      await settled(alice, batchItemIdFor('alice', heldKey, 0));
      expect(await balance(alice, from)).toBe('70');
    });

    test.each([
      ['in one produce request', () => admin, () => api, (requests: number) => expect(requests).toBe(1)],
      ['in several produce requests', () => splittingAdmin, () => splittingApi, (requests: number) => expect(requests).toBeGreaterThan(1)],
    ])('items of one partition apply in batch order; items of other partitions are independent (%s)', async (_how, client, server, expectRequests) => {
      // Each withdrawal empties its account, so it only succeeds if the deposit before it in
      // the batch was applied first; each account's entries must follow the item order.
      const accounts = [0, 1, 2].map(() => '');
      for (let p = 0; p < 3; p++) accounts[p] = await openAccountOn(db.pool, routing, p, 'carol');
      const items: Record<string, string>[] = [];
      for (let round = 0; round < 8; round++) {
        for (const account of accounts) {
          const amount = String(10 + round);
          items.push({ kind: 'DEPOSIT', account_id: account, amount, currency: 'USD' });
          items.push({ kind: 'WITHDRAWAL', account_id: account, amount, currency: 'USD' });
        }
      }
      const before = await produced(server().url);
      const answer = await client().post('/v1/batch', { items }, randomUUID());
      expect(answer.status).toBe(202);
      // One produce round trip for the whole batch (not one per item), unless split by size.
      const after = await produced(server().url);
      expect(after.messages - before.messages).toBe(items.length);
      expectRequests(after.requests - before.requests);
      const ids: string[] = answer.body.results.map((r: { status: number; resource: { id: string } }) => {
        expect(r.status).toBe(202);
        return r.resource.id;
      });
      const outcomes = await Promise.all(ids.map((id) => settled(admin, id)));
      expect(outcomes.filter((o) => o.status !== 'COMPLETED')).toEqual([]);
      for (const account of accounts) {
        const expected = ids.filter((_, i) => items[i]!.account_id === account);
        const entries = await db.pool.query('SELECT transfer_id FROM entries WHERE account_id = $1 ORDER BY seq', [account]);
        expect(entries.rows.map((r) => r.transfer_id)).toEqual(expected);
        expect(await balance(admin, account)).toBe('0');
      }
    });

    test('a HOLD item is placed in batch order: the withdrawal after it sees the money held', async () => {
      const account = await openAccount(alice);
      await deposit(account, '100');
      const key = randomUUID();
      const items = [
        { kind: 'HOLD', account_id: account, amount: '80', currency: 'USD', expires_in_s: 3600 },
        { kind: 'WITHDRAWAL', account_id: account, amount: '50', currency: 'USD' },
        { kind: 'WITHDRAWAL', account_id: account, amount: '20', currency: 'USD' },
        { kind: 'HOLD', account_id: account, amount: '1', currency: 'USD', expires_in_s: 0 },
      ];
      const answer = await alice.post('/v1/batch', { items }, key);
      expect(answer.status).toBe(202);
      expect(answer.body.results.map((r: { status: number }) => r.status)).toEqual([202, 202, 202, 400]);
      const hold = answer.body.results[0].resource;
      expect(hold).toMatchObject({ id: batchItemIdFor('alice', key, 0), account_id: account, amount: '80', status: 'ACCEPTED' });
      const held = await alice.get(`/v1/holds/${hold.id}?wait_ms=15000`);
      expect(held.body.status).toBe('HELD');
      expect(await settled(alice, answer.body.results[1].resource.id)).toMatchObject({ status: 'REJECTED', reason: 'INSUFFICIENT_FUNDS' });
      expect((await settled(alice, answer.body.results[2].resource.id)).status).toBe('COMPLETED');
      expect((await alice.get(`/v1/accounts/${account}/balance`)).body).toMatchObject({ balance: '80', available: '0' });
      // Replayed, the hold answers 200 with its current state.
      const replay = await alice.post('/v1/batch', { items }, key);
      expect(replay.body.results[0]).toMatchObject({ status: 200, resource: { id: hold.id, status: 'HELD' } });
    });

    test('a batch costs one write per item of the principal\'s budget', async () => {
      // 1 write/s plus 9 borrowed per hour: from a cold start, 10 writes at once and then
      // about one per second. Deterministic: the second batch needs 3 at once whatever the clock.
      const limited = await startApi(
        { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${redisKeyPrefix}rl:` },
        { API_RATE_WRITES_PER_S: '1', API_RATE_WRITES_BURST: '10', API_RATE_BURST_WINDOW_S: '3600' },
      );
      try {
        const dora = new Client(limited.url, await token('dora'));
        const eve = new Client(limited.url, await token('eve'));
        const account = await openAccountOn(db.pool, routing, 0, 'dora');
        const item = { kind: 'WITHDRAWAL', account_id: account, amount: '1', currency: 'USD' };
        const tooBig = await dora.post('/v1/batch', { items: Array.from({ length: 11 }, () => item) });
        expect(tooBig.status).toBe(400);
        expect(tooBig.body.error.details).toEqual([expect.objectContaining({ path: 'items' })]);
        const spent = await dora.post('/v1/batch', { items: Array.from({ length: 9 }, () => item) });
        expect(spent.status).toBe(202);
        const over = await dora.post('/v1/batch', { items: [item, item, item] });
        expect(over.status).toBe(429);
        expect(over.body.error.code).toBe('RATE_LIMITED');
        expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        // A batch whose own request passes the budget and whose items' charge does not: its
        // 429 is counted as the request's would be, where the dashboard's "429s by cause"
        // reads it (an outside review saw it left out).
        const fay = new Client(limited.url, await token('fay'));
        const fays = await openAccountOn(db.pool, routing, 0, 'fay');
        const fayItem = { ...item, account_id: fays };
        const counted = await metricValue(limited.url, 'ledger_api_rate_limited_total{kind="write"}');
        expect((await fay.post('/v1/batch', { items: Array.from({ length: 8 }, () => fayItem) })).status).toBe(202);
        expect((await fay.post('/v1/batch', { items: [fayItem, fayItem, fayItem] })).status).toBe(429);
        expect((await metricValue(limited.url, 'ledger_api_rate_limited_total{kind="write"}')) - counted).toBe(1);
        // Another principal's budget is its own.
        expect((await eve.post('/v1/batch', { items: Array.from({ length: 10 }, () => item) })).status).toBe(202);
      } finally {
        await limited.stop();
      }
    });

    test("a batch only the burst allowance can take is told to retry when the allowance refills, not in a second", async () => {
      // 5 writes/s and an allowance of 5 more per hour. A 6-item batch costs 1 as it arrives
      // and 5 more, which a window already holding that 1 cannot take: only the allowance can.
      const limited = await startApi(
        { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${redisKeyPrefix}rl3:` },
        { API_RATE_WRITES_PER_S: '5', API_RATE_WRITES_BURST: '10', API_RATE_BURST_WINDOW_S: '3600' },
      );
      try {
        const heidi = new Client(limited.url, await token('heidi'));
        const account = await openAccountOn(db.pool, routing, 0, 'heidi');
        const items = Array.from({ length: 6 }, () => ({ kind: 'WITHDRAWAL', account_id: account, amount: '1', currency: 'USD' }));
        expect((await heidi.post('/v1/batch', { items })).status).toBe(202);
        await sleep(1_100); // a fresh one-second window: the next batch's first point passes
        const again = await heidi.post('/v1/batch', { items });
        expect(again.status).toBe(429);
        // The allowance refills an hour after it was first drawn on; a retry in 1 s would be refused again.
        expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(3_500);
      } finally {
        await limited.stop();
      }
    });

    test('a batch taken by the allowance does not count against the window: the next request is told the truth at once', async () => {
      // 5 writes/s and an allowance of 5 more per hour. The first 6-item batch's rest (5) is
      // taken by the allowance alone; the window holds only its first point. Right after it
      // (same second), a single write passes, and another 6-item batch is told to wait for the
      // allowance, not "1 s" (which, honoured, would only have been refused again).
      const limited = await startApi(
        { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${redisKeyPrefix}rl4:` },
        { API_RATE_WRITES_PER_S: '5', API_RATE_WRITES_BURST: '10', API_RATE_BURST_WINDOW_S: '3600' },
      );
      try {
        const ivan = new Client(limited.url, await token('ivan'));
        const account = await openAccountOn(db.pool, routing, 0, 'ivan');
        const item = { kind: 'WITHDRAWAL', account_id: account, amount: '1', currency: 'USD' };
        const items = Array.from({ length: 6 }, () => item);
        expect((await ivan.post('/v1/batch', { items })).status).toBe(202);
        const again = await ivan.post('/v1/batch', { items });
        expect([again.status, again.body.error.code]).toEqual([429, 'RATE_LIMITED']);
        expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(3_500);
        // The window holds the two batches' first points: room for a single write.
        expect((await ivan.post('/v1/withdrawals', { account_id: account, amount: '1', currency: 'USD' })).status).toBe(202);
      } finally {
        await limited.stop();
      }
    });

    test('a batch the write budget can never take at once is a 400, not a 429 forever', async () => {
      // 5 writes/s and an allowance of 5 more: a request's points come from the window or
      // from the allowance, never both, so 1 (as it arrives) + 5 is the most a batch can cost.
      const limited = await startApi(
        { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${redisKeyPrefix}rl2:` },
        { API_RATE_WRITES_PER_S: '5', API_RATE_WRITES_BURST: '10', API_RATE_BURST_WINDOW_S: '3600' },
      );
      try {
        const frank = new Client(limited.url, await token('frank'));
        const grace = new Client(limited.url, await token('grace'));
        const account = await openAccountOn(db.pool, routing, 0, 'frank');
        const item = { kind: 'WITHDRAWAL', account_id: account, amount: '1', currency: 'USD' };
        const never = await frank.post('/v1/batch', { items: Array.from({ length: 7 }, () => item) });
        expect([never.status, never.body.error.details]).toEqual([400, [{ path: 'items', message: expect.stringMatching(/at most 6 items/) }]]);
        expect((await grace.post('/v1/batch', { items: Array.from({ length: 6 }, () => item) })).status).toBe(202);
      } finally {
        await limited.stop();
      }
    });

    test('envelope: empty, too many items, too deep, too large, and a token that cannot write', async () => {
      const account = await openAccount(alice);
      const item = { kind: 'WITHDRAWAL', account_id: account, amount: '1', currency: 'USD' };
      expect((await alice.post('/v1/batch', { items: [] })).status).toBe(400);
      expect((await alice.post('/v1/batch', { items: Array.from({ length: 51 }, () => item) })).status).toBe(400);
      expect((await alice.post('/v1/batch', { items: [item], extra: 1 })).status).toBe(400);
      const deep = `{"items":[${'['.repeat(10_000)}"x"${']'.repeat(10_000)}]}`;
      const tooDeep = await alice.request('POST', '/v1/batch', { raw: deep });
      expect(tooDeep.status).toBe(400);
      expect(tooDeep.body.error.code).toBe('VALIDATION_FAILED');
      // Beyond the single routes' 16 KiB, within the batch route's 1 MiB: accepted for parsing.
      const big = await alice.post('/v1/batch', { items: Array.from({ length: 50 }, () => ({ ...item, pad: 'p'.repeat(400) })) });
      expect(big.status).toBe(202);
      expect(big.body.results.every((r: { status: number }) => r.status === 400)).toBe(true);
      const huge = await alice.request('POST', '/v1/batch', { raw: JSON.stringify({ items: [{ ...item, pad: 'p'.repeat(1_100_000) }] }) });
      expect(huge.status).toBe(413);
      const readOnly = new Client(api.url, await token('alice', 'ledger:read'));
      expect((await readOnly.post('/v1/batch', { items: [item] })).status).toBe(403);
      expect((await alice.post('/v1/batch', { items: [item] }, null)).status).toBe(400);
    });
  });

  describe('GET /v1/transfers (history)', () => {
    test('pages newest first through every movement of the account, with status and kind filters', async () => {
      const account = await openAccount(alice);
      const other = await openAccount(bob);
      const ids: string[] = [];
      for (const amount of ['100', '200', '300']) ids.push(await deposit(account, amount));
      for (const amount of ['10', '20', '30']) {
        const sent = await alice.post('/v1/transfers', { from_account_id: account, to_account_id: other, amount, currency: 'USD' });
        ids.push(sent.body.id);
        await settled(alice, sent.body.id);
      }
      for (const amount of ['5', '6']) {
        const back = await bob.post('/v1/transfers', { from_account_id: other, to_account_id: account, amount, currency: 'USD' });
        ids.push(back.body.id);
        await settled(bob, back.body.id);
      }
      const withdrawal = await alice.post('/v1/withdrawals', { account_id: account, amount: '1', currency: 'USD' });
      ids.push(withdrawal.body.id);
      await settled(alice, withdrawal.body.id);
      const tooMuch = await alice.post('/v1/transfers', { from_account_id: account, to_account_id: other, amount: '999999', currency: 'USD' });
      ids.push(tooMuch.body.id);
      expect((await settled(alice, tooMuch.body.id)).reason).toBe('INSUFFICIENT_FUNDS');
      // Someone else's movement must not show up.
      await deposit(other, '1');

      const expected = (
        await db.pool.query(
          `SELECT id FROM transfers WHERE from_account_id = $1 OR to_account_id = $1 ORDER BY created_at DESC, id DESC`,
          [account],
        )
      ).rows.map((r) => r.id);
      expect([...expected].sort()).toEqual([...ids].sort());

      const all = await pages(alice, `account_id=${account}&limit=3`);
      expect(all.map((t) => t.id)).toEqual(expected);
      expect(all.length).toBe(10);

      const rejected = await pages(alice, `account_id=${account}&status=REJECTED`);
      expect(rejected.map((t) => t.id)).toEqual([tooMuch.body.id]);
      expect(rejected[0]).toMatchObject({ status: 'REJECTED', reason: 'INSUFFICIENT_FUNDS', kind: 'TRANSFER' });
      const deposits = await pages(alice, `account_id=${account}&kind=DEPOSIT&limit=2`);
      expect(deposits.map((t) => t.id)).toEqual(expected.filter((id) => ids.slice(0, 3).includes(id)));
      const completedTransfers = await pages(alice, `account_id=${account}&kind=TRANSFER&status=COMPLETED&limit=4`);
      expect(completedTransfers.map((t) => t.id)).toEqual(expected.filter((id) => ids.slice(3, 8).includes(id)));

      // Owner or admin only; anyone else (or an unknown account) is a 404.
      expect((await admin.get(`/v1/transfers?account_id=${account}`)).status).toBe(200);
      expect((await bob.get(`/v1/transfers?account_id=${account}`)).status).toBe(404);
      expect((await alice.get(`/v1/transfers?account_id=${randomUUID()}`)).status).toBe(404);
      expect((await alice.get(`/v1/transfers?account_id=${account}&cursor=bm90LWEtY3Vyc29y`)).status).toBe(400);
      expect((await alice.get(`/v1/transfers?account_id=${account}&limit=201`)).status).toBe(400);
      expect((await alice.get(`/v1/transfers?account_id=${account}&status=ACCEPTED`)).status).toBe(400);
      expect((await alice.get(`/v1/transfers`)).status).toBe(400);
    });

    async function pages(client: Client, query: string): Promise<{ id: string; status: string }[]> {
      const seen: { id: string; status: string }[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 50; page++) {
        const answer = await client.get(`/v1/transfers?${query}${cursor ? `&cursor=${cursor}` : ''}`);
        expect(answer.status).toBe(200);
        seen.push(...answer.body.transfers);
        cursor = answer.body.next_cursor;
        if (!cursor) return seen;
      }
      throw new Error('history never ended');
    }
  });

  describe('point in time and time windows', () => {
    test('the balance between two known transfers, before the first, and now; never the cache', async () => {
      const account = await openAccount(alice);
      const first = await deposit(account, '100');
      const second = await deposit(account, '50');
      const [t1, t2] = await entryMicros(account, [first, second]);
      expect(t2! > t1!).toBe(true);

      const at = async (micros: bigint) => (await alice.get(`/v1/accounts/${account}/balance?at=${isoMicros(micros)}`)).body;
      expect(await at(t1! - 1n)).toMatchObject({ account_id: account, currency: 'USD', balance: '0', version: '0' });
      expect(await at(t1!)).toMatchObject({ balance: '100', version: '1' });
      expect(await at((t1! + t2!) / 2n)).toMatchObject({ balance: '100', version: '1' });
      expect(await at(t2!)).toMatchObject({ balance: '150', version: '2' });

      // A cached figure (here a forged, newer one) is what the plain read serves; `at` reads the ledger.
      const redis = createRedis(testServices().redisUrl);
      await new Promise((resolve) => redis.once('ready', resolve));
      try {
        await new BalanceCache(redis, redisKeyPrefix).refresh([{ accountId: account, currency: 'USD', balance: 424242n, seq: 99n, held: 0n, rev: 99n, asOf: new Date().toISOString() }]);
        expect(await balance(alice, account)).toBe('424242');
        const now = (await alice.get(`/v1/accounts/${account}/balance?at=${new Date().toISOString()}`)).body;
        expect(now).toMatchObject({ balance: '150', version: '2' });
      } finally {
        redis.disconnect();
      }

      const future = await alice.get(`/v1/accounts/${account}/balance?at=${new Date(Date.now() + 60_000).toISOString()}`);
      expect(future.status).toBe(400);
      expect(future.body.error.details).toEqual([expect.objectContaining({ path: 'at' })]);
      expect((await alice.get(`/v1/accounts/${account}/balance?at=yesterday`)).status).toBe(400);
      expect((await alice.get(`/v1/accounts/${account}/balance?at=2026-01-01T00:00:00`)).status).toBe(400); // no offset
      expect((await bob.get(`/v1/accounts/${account}/balance?at=${new Date().toISOString()}`)).status).toBe(404);
    });

    test('the times the API shows, given back as `at`, include what they were read from', async () => {
      const account = await openAccount(alice);
      await deposit(account, '100');
      await deposit(account, '50');
      // A balance's as_of is to the microsecond (the ledger's clock): given back, it is itself.
      const shown = (await alice.get(`/v1/accounts/${account}/balance`)).body;
      expect(shown).toMatchObject({ balance: '150', version: '2' });
      expect(shown.as_of).toMatch(/\.[0-9]{6}Z$/);
      expect((await alice.get(`/v1/accounts/${account}/balance?at=${shown.as_of}`)).body).toMatchObject({ balance: '150', version: '2', as_of: shown.as_of });
      // Cut to the millisecond (as an entry's created_at is shown), the entry's own time is
      // later than the shown time by up to 999 µs: the `at` stands for the whole millisecond.
      const millisecond = shown.as_of.replace(/([0-9]{3})[0-9]{3}Z$/, '$1Z');
      const atAsOf = (await alice.get(`/v1/accounts/${account}/balance?at=${millisecond}`)).body;
      // The figure's as_of is the last instant `at` stood for, to the microsecond: given back,
      // it reads the same figure (with `at` cut to milliseconds it read less).
      expect(atAsOf).toMatchObject({ balance: '150', version: '2', as_of: millisecond.replace(/Z$/, '999Z') });
      expect((await alice.get(`/v1/accounts/${account}/balance?at=${atAsOf.as_of}`)).body).toEqual(atAsOf);
      const second = shown.as_of.replace(/\.[0-9]+Z$/, 'Z');
      while (Date.now() <= Date.parse(second) + 1_000) await sleep(10); // until that second is over
      const atSecond = (await alice.get(`/v1/accounts/${account}/balance?at=${second}`)).body;
      expect(atSecond).toMatchObject({ balance: '150', version: '2', as_of: second.replace(/Z$/, '.999999Z') });
      expect((await alice.get(`/v1/accounts/${account}/balance?at=${atSecond.as_of}`)).body).toEqual(atSecond);
      const [latest] = (await alice.get(`/v1/accounts/${account}/entries?limit=1`)).body.entries;
      expect((await alice.get(`/v1/accounts/${account}/balance?at=${latest.created_at}`)).body).toMatchObject({ balance: '150', version: '2' });
      // Six digits are exact: the microsecond before the first entry is the empty account.
      const [t1] = await entryMicros(account, [latest.transfer_id]);
      expect((await alice.get(`/v1/accounts/${account}/balance?at=${isoMicros(t1! - 1n)}`)).body).toMatchObject({ balance: '100', version: '1' });
    });

    test('an `at` whose last instant has not passed is in the future: the current second is refused until it is over', async () => {
      const account = await openAccount(alice);
      // Early in a second, so that the request is answered within it.
      while (new Date().getMilliseconds() > 500) await sleep(10);
      const second = `${new Date().toISOString().slice(0, 19)}Z`;
      const early = await alice.get(`/v1/accounts/${account}/balance?at=${second}`);
      expect([early.status, early.body.error?.details]).toEqual([400, [{ path: 'at', message: 'must not be in the future' }]]);
      while (Date.now() <= Date.parse(second) + 1_000) await sleep(10);
      const after = await alice.get(`/v1/accounts/${account}/balance?at=${second}`);
      expect(after.status).toBe(200);
    });

    test('entries from/to select a half-open window and combine with the cursor', async () => {
      const account = await openAccount(alice);
      const ids: string[] = [];
      for (const amount of ['1', '2', '3', '4', '5']) ids.push(await deposit(account, amount));
      const micros = await entryMicros(account, ids);
      const from = isoMicros(micros[1]!);
      const to = isoMicros(micros[4]!);
      const page1 = await alice.get(`/v1/accounts/${account}/entries?from=${from}&to=${to}&limit=2`);
      expect(page1.status).toBe(200);
      expect(page1.body.entries.map((e: { amount: string }) => e.amount)).toEqual(['4', '3']);
      const page2 = await alice.get(`/v1/accounts/${account}/entries?from=${from}&to=${to}&limit=2&cursor=${page1.body.next_cursor}`);
      expect(page2.body.entries.map((e: { amount: string }) => e.amount)).toEqual(['2']);
      const since = await alice.get(`/v1/accounts/${account}/entries?from=${isoMicros(micros[3]!)}`);
      expect(since.body.entries.map((e: { amount: string }) => e.amount)).toEqual(['5', '4']);
      const before = await alice.get(`/v1/accounts/${account}/entries?to=${isoMicros(micros[0]!)}`);
      expect(before.body.entries).toEqual([]);
      expect((await alice.get(`/v1/accounts/${account}/entries?from=not-a-time`)).status).toBe(400);
      // A window that ends before it starts is a mistake, said as one (an outside review saw an
      // empty page); one microsecond apart across offsets and digit counts, and an empty window, are not.
      const backwards = await alice.get(`/v1/accounts/${account}/entries?from=${to}&to=${from}`);
      expect([backwards.status, backwards.body.error?.details]).toEqual([400, [{ path: 'to', message: 'must not be before from' }]]);
      const offsets = await alice.get(`/v1/accounts/${account}/entries?from=2026-01-01T10:00:00.5%2B01:00&to=2026-01-01T09:00:00.500001Z`);
      expect(offsets.status).toBe(200);
      const reversedOffsets = await alice.get(`/v1/accounts/${account}/entries?from=2026-01-01T09:00:00.500001Z&to=2026-01-01T10:00:00.5%2B01:00`);
      expect(reversedOffsets.status).toBe(400);
      expect((await alice.get(`/v1/accounts/${account}/entries?from=${from}&to=${from}`)).body.entries).toEqual([]);
    });
    // An outside audit built a statement the obvious way (balance at `from`, plus the window's
    // entries, against the balance at `to`) and it never added up: `at` includes its instant,
    // the window excludes `to`, and a batch's entries share one instant. docs/api.md gives the
    // recipe: both balances at the microsecond before each end.
    test('a statement adds up: the balance a microsecond before `from`, plus the window\'s entries, is the balance a microsecond before `to`', async () => {
      const account = await openAccount(alice);
      await deposit(account, '1');
      // One batch: its deposits are applied together and their entries share one created_at.
      const batch = await admin.post('/v1/batch', { items: ['10', '20', '30'].map((amount) => ({ kind: 'DEPOSIT', account_id: account, amount, currency: 'USD' })) });
      expect(batch.status).toBe(202);
      const batchIds = (batch.body.results as { resource: { id: string } }[]).map((r) => r.resource.id);
      for (const id of batchIds) expect((await settled(admin, id)).status).toBe('COMPLETED');
      const later = [await deposit(account, '100'), await deposit(account, '200')];
      const [batchStart] = await entryMicros(account, [batchIds[0]!]);
      const [laterEnd] = await entryMicros(account, [later[1]!]);
      const windows: [bigint, bigint][] = [[batchStart!, laterEnd!], [batchStart!, laterEnd! + 1n], [batchStart! + 1n, laterEnd!]];
      for (const [from, to] of windows) {
        const opening = BigInt((await alice.get(`/v1/accounts/${account}/balance?at=${isoMicros(from - 1n)}`)).body.balance);
        const closing = BigInt((await alice.get(`/v1/accounts/${account}/balance?at=${isoMicros(to - 1n)}`)).body.balance);
        const window = (await alice.get(`/v1/accounts/${account}/entries?from=${isoMicros(from)}&to=${isoMicros(to)}&limit=500`)).body.entries as { amount: string }[];
        expect(opening + window.reduce((sum, e) => sum + BigInt(e.amount), 0n)).toBe(closing);
      }
      // The obvious way counts the batch's entries twice: `at` = `from` includes them.
      const naive = BigInt((await alice.get(`/v1/accounts/${account}/balance?at=${isoMicros(batchStart!)}`)).body.balance);
      expect(naive).toBeGreaterThan(1n);
    });
  });

  /** The exact created_at (epoch microseconds) of each transfer's entry on `account`. */
  async function entryMicros(account: string, transferIds: string[]): Promise<bigint[]> {
    await waitFor('entries', async () => {
      const count = await db.pool.query('SELECT count(*)::int AS n FROM entries WHERE account_id = $1 AND transfer_id = ANY($2::uuid[])', [account, transferIds]);
      return count.rows[0].n === transferIds.length;
    });
    const result = await db.pool.query(
      `SELECT transfer_id, (extract(epoch FROM created_at) * 1000000)::int8 AS micros FROM entries WHERE account_id = $1`,
      [account],
    );
    const byTransfer = new Map(result.rows.map((r) => [r.transfer_id as string, BigInt(r.micros)]));
    return transferIds.map((id) => byTransfer.get(id)!);
  }
});

/** Produce requests and messages the API has sent so far (its /metrics, open to loopback). */
async function produced(url: string): Promise<{ requests: number; messages: number }> {
  return { requests: await metricValue(url, 'ledger_api_produce_batch_size_count'), messages: await metricValue(url, 'ledger_api_produce_batch_size_sum') };
}

/** One unlabelled series of the API's /metrics. */
async function metricValue(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^(\S+) (\S+)$/m.exec(text.split('\n').filter((l) => l.startsWith(`${name} `)).join('\n'))?.[2] ?? NaN);
}

/** RFC 3339 with all six fractional digits Postgres keeps. */
function isoMicros(micros: bigint): string {
  const ms = micros / 1000n;
  const base = new Date(Number(ms)).toISOString(); // ...:SS.mmmZ
  return `${base.slice(0, -1)}${(micros % 1000n).toString().padStart(3, '0')}Z`;
}
