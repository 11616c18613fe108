// Proves that a worker replaying with WORKER_LEG_WAIT_FOR_SOURCE_MS (docs/operations.md, a
// restore) waits only for a leg that can still apply: one whose transfer has already ended
// (the replay decided it otherwise, its payer's account lost with the restore) is
// dead-lettered at once, and the partition goes on. Found by an outside review: such a leg
// held its partition for the whole wait (ten minutes in the runbook), each one in turn, and a
// genuine leg behind it on another partition could run out of its own wait meanwhile.
// Against a real worker, Kafka, Postgres through PgBouncer and Redis.
import { randomUUID } from 'node:crypto';
import { type RoutingTable, creditLegOf } from '@ledgerline/domain';
import { listDeadLetters, loadRouting } from '@ledgerline/postgres';
import { encodeCommand } from '@ledgerline/schemas';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { TestPublisher, allTerminal, balanceOf, deposit, openAccountOn, transferStatuses } from '../../../test/support/ledger';
import { startWorker, waitFor } from '../../../test/support/worker';

describe('a worker waiting for legs’ sources', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let routing: RoutingTable;
  let publisher: TestPublisher;
  let worker: Awaited<ReturnType<typeof startWorker>>;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    routing = await loadRouting(db.pool);
    publisher = await TestPublisher.create(topics, db.pool);
    // Ten minutes, as the runbook says: a test that waited for it would time out.
    worker = await startWorker({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` }, { WORKER_LEG_WAIT_FOR_SOURCE_MS: '600000' });
  });

  afterAll(async () => {
    await worker.stop();
    expect(worker.fatal).toEqual([]);
    await publisher.stop();
    await topics.delete();
    await db.drop();
  });

  test('a credit leg whose transfer ended REJECTED is dead-lettered at once, and the commands behind it apply', async () => {
    const payer = await openAccountOn(db.pool, routing, 0, 'ended-payer');
    const payee = await openAccountOn(db.pool, routing, 1, 'ended-payee');
    // The replay refused the transfer on its source partition (as it does when its payer's
    // account was opened after the backup); the first run's credit leg is still in Kafka.
    const id = randomUUID();
    await db.pool.query(
      `INSERT INTO transfers (id, kind, status, reason, from_account_id, to_account_id, amount, currency, principal, request_hash, source_partition, created_at, completed_at)
       VALUES ($1, 'TRANSFER', 'REJECTED', 'ACCOUNT_NOT_FOUND', $2, $3, 40, 'USD', 'ended-payer', 'test', 0, now(), now())`,
      [id, payer, payee],
    );
    const leg = creditLegOf({ id, kind: 'TRANSFER', fromAccountId: payer, toAccountId: payee, amount: 40n, currency: 'USD', sourcePartition: 0, holdId: null, reverses: null });
    await publisher.publishRaw(1, encodeCommand(leg));
    const behind = deposit(payee, 5n);
    await publisher.publish(behind);
    await waitFor('the deposit behind the leg', () => allTerminal(db.pool, [behind.transferId]), 30_000);
    expect(await balanceOf(db.pool, payee)).toBe(5n);
    expect((await transferStatuses(db.pool, [id])).get(id)).toEqual({ status: 'REJECTED', reason: 'ACCOUNT_NOT_FOUND' });
    const letters = (await listDeadLetters(db.pool, { limit: 100 })).map((r) => r.letter);
    expect(letters.map((l) => [l.sqlstate, String(l.reason).slice(0, 15)])).toEqual([['LL003', 'UNPROCESSABLE: ']]);
  }, 60_000);
});
