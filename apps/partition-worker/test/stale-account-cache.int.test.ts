// A write that fails deterministically is bisected from Postgres's state, not from the worker's
// cached accounts: a cache out of step with the ledger (a row changed behind the worker's back,
// as an operator's repair in SQL would) is not blamed on the commands that happen to touch
// the account. Since migration 0035 the database refuses a balances row whose status or limit
// differs from the stored one without an account change saying so; a worker that kept
// preparing from its stale copy (OPEN, where the row says FROZEN) had every good command on
// the account fail alone twice and be isolated, until a restart (an outside review of that
// migration). Take out the applier's forgetAccounts() before bisecting and both deposits
// below end REJECTED UNPROCESSABLE.
import { randomUUID } from 'node:crypto';
import type { RoutingTable } from '@ledgerline/domain';
import { loadRouting } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { deposit, openAccountOn, transferStatuses } from '../../../test/support/ledger';
import { messagesOf, realApplier } from './support/real-applier';

describe('a deterministic write failure is bisected from the ledger, not from the cache', () => {
  let db: TestDatabase;
  let routing: RoutingTable;
  beforeAll(async () => {
    db = await createTestDatabase(1);
    routing = await loadRouting(db.pool);
  });
  afterAll(async () => {
    await db.drop();
  });

  test('an account frozen behind the worker takes its deposits, and stays frozen', async () => {
    const a = await openAccountOn(db.pool, routing, 0, 'stale-cache');
    const applier = realApplier(db.pool, { topic: `stale-cache-${randomUUID()}`, routing });
    expect(await applier.apply(messagesOf([deposit(a, 100n)]))).toEqual({ kind: 'applied', nextOffset: 1n });
    // Behind the worker's back: the status changes, the row's rev does not.
    await db.pool.query(`UPDATE accounts SET status = 'FROZEN' WHERE id = $1`, [a]);
    const [ten, twenty] = [deposit(a, 10n), deposit(a, 20n)];
    expect(await applier.apply(messagesOf([ten, twenty], 1))).toEqual({ kind: 'applied', nextOffset: 3n });
    const statuses = await transferStatuses(db.pool, [ten.transferId, twenty.transferId]);
    expect([statuses.get(ten.transferId), statuses.get(twenty.transferId)]).toEqual([
      { status: 'COMPLETED', reason: null },
      { status: 'COMPLETED', reason: null },
    ]);
    expect((await db.pool.query('SELECT status, balance FROM accounts WHERE id = $1', [a])).rows).toEqual([{ status: 'FROZEN', balance: '130' }]);
  });
});
