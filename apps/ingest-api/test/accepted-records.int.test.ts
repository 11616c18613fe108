// Proves that Redis keeps an ACCEPTED record only while its command waits for a worker: the
// worker that commits a transfer's or hold's row replaces the record right after with a
// short-lived applied mark, so Redis holds about one record per command not yet applied
// instead of one per command of the last day (API_ACCEPTED_TTL_S; an outside review of what
// grows with traffic). packages/redis/test/redis.int.test.ts proves that a record the API
// writes after the mark is kept out. Every kind of
// movement that leaves a record, applied or refused, single or in a batch, same-partition or
// cross-partition, and each still answers from Postgres once its record is gone. Against the
// real API, a real worker, Kafka, Postgres through PgBouncer and Redis.
import { randomUUID } from 'node:crypto';
import type { RoutingTable } from '@ledgerline/domain';
import { loadRouting } from '@ledgerline/postgres';
import { APPLIED_MARK, APPLIED_MARK_TTL_S, type RedisClient, createRedis } from '@ledgerline/redis';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { type Answer, Client, startApi, token } from '../../../test/support/api';
import { testServices } from '../../../test/support/env';
import { openAccountOn } from '../../../test/support/ledger';
import { startWorker, waitFor } from '../../../test/support/worker';

describe('ACCEPTED records once their commands are applied', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let routing: RoutingTable;
  let redis: RedisClient;
  let api: Awaited<ReturnType<typeof startApi>>;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let prefix: string;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    routing = await loadRouting(db.pool);
    prefix = `${topics.prefix}:`;
    const target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: prefix };
    redis = createRedis(testServices().redisUrl);
    worker = await startWorker(target, { WORKER_HOLD_EXPIRY_SCAN_MS: '0' });
    api = await startApi(target);
  });

  afterAll(async () => {
    await api.stop();
    await worker.stop();
    redis.disconnect();
    expect(worker.fatal).toEqual([]);
    await topics.delete();
    await db.drop();
  });

  /** The ACCEPTED records Redis holds now (not the applied marks), by id. */
  async function recordsKept(): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}acc:*`, 'COUNT', 1000);
      keys.push(...found);
      cursor = next;
    } while (cursor !== '0');
    const values = keys.length ? await redis.mget(keys) : [];
    return keys.filter((_, i) => values[i] !== APPLIED_MARK).map((key) => key.slice(`${prefix}acc:`.length)).sort();
  }

  async function settled(client: Client, path: string, unsettled: readonly string[]): Promise<Answer['body']> {
    return waitFor(`${path} settled`, async () => {
      const answer = await client.get(`${path}?wait_ms=2000`);
      expect(answer.status).toBe(200);
      return unsettled.includes(answer.body.status) ? null : answer.body;
    });
  }
  const transferSettled = (client: Client, id: string) => settled(client, `/v1/transfers/${id}`, ['ACCEPTED', 'PROCESSING']);

  test('every movement that left one: removed once applied, and the resource still answers', async () => {
    const alice = new Client(api.url, await token('alice'));
    const bob = new Client(api.url, await token('bob'));
    const admin = new Client(api.url, await token('ops', 'ledger:admin'));
    const a0 = await openAccountOn(db.pool, routing, 0, 'alice');
    const a1 = await openAccountOn(db.pool, routing, 1, 'alice');
    const b1 = await openAccountOn(db.pool, routing, 1, 'bob');

    // Each answered 202 with its ACCEPTED record written; no record remains once all are applied.
    const accepted: { id: string; client: Client; kind: 'transfer' | 'hold' }[] = [];
    const post = async (client: Client, path: string, body: unknown, kind: 'transfer' | 'hold' = 'transfer') => {
      const answer = await client.post(path, body, randomUUID());
      expect([path, answer.status]).toEqual([path, 202]);
      accepted.push({ id: answer.body.id, client, kind });
      return answer.body.id as string;
    };
    const deposit = await post(admin, '/v1/deposits', { account_id: a0, amount: '1000', currency: 'USD' });
    expect(await transferSettled(admin, deposit)).toMatchObject({ status: 'COMPLETED' });
    const cross = await post(alice, '/v1/transfers', { from_account_id: a0, to_account_id: b1, amount: '100', currency: 'USD' });
    await post(alice, '/v1/transfers', { from_account_id: a1, to_account_id: b1, amount: '5', currency: 'USD' }); // refused: no funds
    await post(alice, '/v1/withdrawals', { account_id: a0, amount: '10', currency: 'USD' });
    const hold = await post(alice, '/v1/holds', { account_id: a0, amount: '50', currency: 'USD', expires_in_s: 600 }, 'hold');
    expect(await settled(alice, `/v1/holds/${hold}`, ['ACCEPTED'])).toMatchObject({ status: 'HELD' });
    await post(alice, `/v1/holds/${hold}/capture`, { to_account_id: b1, amount: '20' });
    expect(await transferSettled(alice, cross)).toMatchObject({ status: 'COMPLETED' });
    await post(bob, `/v1/transfers/${cross}/reversals`, { amount: '30' });
    const batch = await alice.post('/v1/batch', {
      items: [
        { kind: 'TRANSFER', from_account_id: a0, to_account_id: a1, amount: '1', currency: 'USD' },
        { kind: 'HOLD', account_id: a0, amount: '1', currency: 'USD', expires_in_s: 600 },
      ],
    }, randomUUID());
    expect(batch.status).toBe(202);
    const items = batch.body.results as { status: number; resource: { id: string } }[];
    expect(items.map((r) => r.status)).toEqual([202, 202]);
    accepted.push({ id: items[0]!.resource.id, client: alice, kind: 'transfer' }, { id: items[1]!.resource.id, client: alice, kind: 'hold' });

    for (const { id, client, kind } of accepted) {
      if (kind === 'hold') await settled(client, `/v1/holds/${id}`, ['ACCEPTED']);
      else await transferSettled(client, id);
    }
    // The mark follows the commit without being awaited by anything a client sees.
    const kept = await waitFor('no ACCEPTED record kept', async () => {
      const ids = await recordsKept();
      return ids.length === 0 ? ids : null;
    }, 10_000).catch(async () => recordsKept());
    expect(kept).toEqual([]);

    // Each still answers, from its row: applied, refused, held, captured, reversed.
    const statuses = [];
    for (const { id, client, kind } of accepted) {
      const answer = await client.get(`/v1/${kind === 'hold' ? 'holds' : 'transfers'}/${id}`);
      statuses.push([answer.status, answer.body.status]);
    }
    expect(statuses).toEqual([
      [200, 'COMPLETED'], // deposit
      [200, 'COMPLETED'], // cross-partition transfer
      [200, 'REJECTED'], // refused for lack of funds
      [200, 'COMPLETED'], // withdrawal
      [200, 'CAPTURED'], // captured (in part: the rest went back)
      [200, 'COMPLETED'], // capture
      [200, 'COMPLETED'], // reversal
      [200, 'COMPLETED'], // batch transfer
      [200, 'HELD'], // batch hold
    ]);
  });

  test('a replay of an applied request answers 200 with the row, its record replaced by the mark for a minute', async () => {
    const admin = new Client(api.url, await token('ops', 'ledger:admin'));
    const from = await openAccountOn(db.pool, routing, 0, 'alice');
    const key = randomUUID();
    const body = { account_id: from, amount: '7', currency: 'USD' };
    const first = await admin.post('/v1/deposits', body, key);
    expect(first.status).toBe(202);
    await transferSettled(admin, first.body.id);
    const recordKey = `${prefix}acc:${first.body.id}`;
    await waitFor('its record marked applied', async () => (await redis.get(recordKey)) === APPLIED_MARK, 10_000);
    const ttl = await redis.ttl(recordKey);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(APPLIED_MARK_TTL_S);
    const replay = await admin.post('/v1/deposits', body, key);
    expect([replay.status, replay.body.id, replay.body.status]).toEqual([200, first.body.id, 'COMPLETED']);
  });
});
