// Proves, against a real worker, Kafka, Postgres through PgBouncer and Redis, that an account
// with money still out cannot close (docs/api.md, ACCOUNT_NOT_EMPTY): a refund of a saga in
// flight comes home to its source whatever that account's status, so a close applied before
// it would leave a CLOSED account holding money. The worker learns of the saga from the batch
// that sent it, or from its PROCESSING transfer row (loadOutgoingInFlight) when an earlier
// batch did.
import { randomUUID } from 'node:crypto';
import type { RoutingTable } from '@ledgerline/domain';
import { loadRouting } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { TestPublisher, allTerminal, balanceOf, deposit, openAccountOn, ownerClose, transfer, transferStatuses } from '../../../test/support/ledger';
import { startWorker, waitFor } from '../../../test/support/worker';

describe('an account with a saga in flight cannot close', () => {
  // Its own hooks, not useTestLedger's: the worker stops before the database and topics go.
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
    worker = await startWorker({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` });
  });

  afterAll(async () => {
    await worker.stop();
    expect(worker.fatal).toEqual([]);
    await publisher.stop();
    await topics.delete();
    await db.drop();
  });

  async function changeOutcome(changeId: string): Promise<{ outcome: string; reason: string | null }> {
    return waitFor(`account change ${changeId} applied`, async () => {
      const { rows } = await db.pool.query('SELECT outcome, reason FROM account_changes WHERE id = $1', [changeId]);
      return rows[0] as { outcome: string; reason: string | null } | undefined;
    });
  }

  const statusOf = async (accountId: string) => (await db.pool.query('SELECT status FROM accounts WHERE id = $1', [accountId])).rows[0].status as string;

  test('a close right behind a transfer to a closed account elsewhere is refused, and the refund comes home to an open account', async () => {
    const source = await openAccountOn(db.pool, routing, 0, 'closer');
    const closed = await openAccountOn(db.pool, routing, 1, 'gone');
    await db.pool.query(`UPDATE accounts SET status = 'CLOSED' WHERE id = $1`, [closed]);
    const funding = deposit(source, 20n);
    await publisher.publish(funding);
    await waitFor('the deposit', () => allTerminal(db.pool, [funding.transferId]));

    // One produce request, in this order: partition 0 applies the close before the refund
    // can reach it (the refund needs partition 1 to answer first).
    const out = transfer(source, closed, 'closer', 20n);
    const close = ownerClose(source, 'closer');
    await Promise.all([publisher.publish(out), publisher.publish(close)]);

    expect(await changeOutcome(close.changeId)).toEqual({ outcome: 'REJECTED', reason: 'ACCOUNT_NOT_EMPTY' });
    await waitFor('the transfer refunded', () => allTerminal(db.pool, [out.transferId]));
    expect((await transferStatuses(db.pool, [out.transferId])).get(out.transferId)).toEqual({ status: 'REJECTED', reason: 'ACCOUNT_CLOSED' });
    expect(await balanceOf(db.pool, source)).toBe(20n);
    expect(await statusOf(source)).toBe('OPEN');
  });

  test("a close while an earlier batch's transfer from the account is still PROCESSING is refused; once it ended, the close applies", async () => {
    const source = await openAccountOn(db.pool, routing, 0, 'waiting');
    // A saga an earlier batch sent, its credit leg not answered yet: the money is in transit.
    const inFlight = randomUUID();
    await db.pool.query(
      `INSERT INTO transfers (id, kind, status, from_account_id, to_account_id, amount, currency, principal, request_hash, source_partition, created_at)
       VALUES ($1, 'TRANSFER', 'PROCESSING', $2, $3, 5, 'USD', 'waiting', 'h', 0, now())`,
      [inFlight, source, randomUUID()],
    );
    const early = ownerClose(source, 'waiting');
    await publisher.publish(early);
    expect(await changeOutcome(early.changeId)).toEqual({ outcome: 'REJECTED', reason: 'ACCOUNT_NOT_EMPTY' });
    expect(await statusOf(source)).toBe('OPEN');

    await db.pool.query(`UPDATE transfers SET status = 'COMPLETED', completed_at = now() WHERE id = $1`, [inFlight]);
    const later = ownerClose(source, 'waiting');
    await publisher.publish(later);
    expect(await changeOutcome(later.changeId)).toEqual({ outcome: 'APPLIED', reason: null });
    expect(await statusOf(source)).toBe('CLOSED');
  });
});
