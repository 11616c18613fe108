// Proves that a partition's log applies to the same result however it is cut into batches,
// for a reversal that follows its original in the log: a deposit and its reversal fetched
// together. The reversal reads its original's row as the database holds it; in one batch with
// the deposit, or prepared while the deposit's batch commits (pipelining), it found no
// original and ended REJECTED TRANSFER_NOT_REVERSIBLE, where applied in later fetches it
// completes. In normal operation a reversal comes after its client read the original's end;
// a replay into a restored database brings them together (docs/operations.md). Here the
// batch write is held 300 ms before it is sent, so a reversal prepared beside it would read
// before its commit. Against real Postgres.
import type { RoutingTable } from '@ledgerline/domain';
import { loadRouting } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { balanceOf, deposit, openAccountOn, reversal, transferStatuses } from '../../../test/support/ledger';
import { messagesOf, realApplier, slowWriting } from './support/real-applier';

describe('a reversal fetched with its original', () => {
  let db: TestDatabase;
  let routing: RoutingTable;
  beforeAll(async () => {
    db = await createTestDatabase(1);
    routing = await loadRouting(db.pool);
  });
  afterAll(async () => {
    await db.drop();
  });

  // The batch before the reversal may end anywhere: at the reversal (decodeBatch cuts there), or
  // right before it because the batch is full (WORKER_BATCH_COMMANDS_MAX, or a leg tried alone
  // during a restore's replay). Either way the reversal's batch waits for that one's commit.
  test.each([
    ['a batch ending at the reversal', 1000],
    ['a full batch ending right before it', 1],
  ])('completes, as it does fetched after it: %s', async (_case, batchCommandsMax) => {
    const account = await openAccountOn(db.pool, routing, 0, 'reversal-order');
    const pool = slowWriting(db.pool);
    const applier = realApplier(pool, { topic: `reversal-order-${batchCommandsMax}`, routing, batchCommandsMax, ports: { pool } });
    const d = deposit(account, 100n);
    const r = reversal(d.transferId, account, 'reversal-order', 40n);
    expect(await applier.apply(messagesOf([d, r]))).toEqual({ kind: 'applied', nextOffset: 2n });
    const statuses = await transferStatuses(db.pool, [d.transferId, r.transferId]);
    expect(statuses.get(d.transferId)).toEqual({ status: 'COMPLETED', reason: null });
    expect(statuses.get(r.transferId)).toEqual({ status: 'COMPLETED', reason: null });
    expect(await balanceOf(db.pool, account)).toBe(60n);
  });
});
