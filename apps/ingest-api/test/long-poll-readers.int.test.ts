// Proves that a long poll shows what it woke to only to a reader of that: the read after the
// wait is checked as a plain read is. Found by an outside review: it was not, so a row that
// named other accounts than the ACCEPTED record the poll began with (a reversal recorded
// REJECTED without its destination; a record planted by someone who can write to Redis) was
// shown to the record's reader, who got 404 for it on a plain read. Against the real API,
// Kafka, Postgres through PgBouncer and Redis; no worker runs, the row is written directly.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadRouting } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { Client, startApi, token } from '../../../test/support/api';
import { openAccountOn } from '../../../test/support/ledger';

describe('a long poll that wakes to a row its reader may not read', () => {
  let db: TestDatabase;
  let topics: TestTopics;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
  });

  afterAll(async () => {
    await topics.delete();
    await db.drop();
  });

  test('answers 404, as a plain read of that row does, never the row', async () => {
    const api = await startApi({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` });
    try {
      const routing = await loadRouting(db.pool);
      const mallory = new Client(api.url, await token('mallory'));
      const own = await openAccountOn(db.pool, routing, 0, 'mallory');
      const payee = await openAccountOn(db.pool, routing, 1, 'mallory-payee');
      const [alice, bob] = [await openAccountOn(db.pool, routing, 0, 'alice'), await openAccountOn(db.pool, routing, 1, 'bob')];
      const accepted = await mallory.post('/v1/transfers', { from_account_id: own, to_account_id: payee, amount: '5', currency: 'USD' }, randomUUID());
      expect(accepted.status).toBe(202);
      const id = accepted.body.id as string;
      const polled = mallory.get(`/v1/transfers/${id}?wait_ms=10000`);
      await sleep(300);
      // The row the poll wakes to names alice's and bob's accounts, not mallory's.
      await db.pool.query(
        `INSERT INTO transfers (id, kind, status, from_account_id, to_account_id, amount, currency, principal, request_hash, source_partition, created_at, completed_at)
         VALUES ($1, 'TRANSFER', 'COMPLETED', $2, $3, 900, 'USD', 'alice', 'other', 0, now(), now())`,
        [id, alice, bob],
      );
      const answer = await polled;
      expect([answer.status, answer.body.error?.code]).toEqual([404, 'NOT_FOUND']);
      const plain = await mallory.get(`/v1/transfers/${id}`);
      expect(plain.status).toBe(404);
    } finally {
      await api.stop();
    }
  }, 60_000);
});
