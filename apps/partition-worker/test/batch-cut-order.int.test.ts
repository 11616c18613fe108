// A partition's log applies to the same result however it is cut into batches (decodeBatch),
// for the reads a command makes of committed state that `Ahead` does not carry:
//
// - An owner's close reads which of its account's transfers are still PROCESSING
//   (loadOutgoingInFlight). A REFUND_LEG that ends one, in the same batch or in the batch
//   committing beside it, is not seen: the close is refused ACCOUNT_NOT_EMPTY, where applied
//   after that refund's commit it is APPLIED. A replay into a restored database brings such
//   commands together (refund, the owner's withdrawal, the close, seconds apart when live).
// - A capture reads its hold: a hold placed and expired in the batch committing beside it is
//   not carried by the overlay (only a HELD one is), so the capture is refused
//   HOLD_NOT_ACTIVE, where applied in one batch or after it, HOLD_EXPIRED. One accepted before
//   the hold's expires_at takes it, however late it is applied, in one batch or in several.
//
// The batch write is held 300 ms before it is sent, so a batch prepared beside it reads
// before its commit. Against real Postgres.
import { createHash, randomUUID } from 'node:crypto';
import type { CaptureCommand, Command, ClientCommand, ExpireHoldCommand, HoldCommand, RefundLegCommand, RoutingTable } from '@ledgerline/domain';
import { loadRouting } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { deposit, openAccountOn, ownerClose, transfer, transferStatuses, withdrawal } from '../../../test/support/ledger';
import { messagesOf, realApplier, slowWriting } from './support/real-applier';

const hash = (text: string) => createHash('sha256').update(text).digest('hex');
const asMessages = (commands: readonly Command[], first: number) => messagesOf(commands as unknown as ClientCommand[], first);

/** Partition 0's applier on the real database, its batch writes held 300 ms (slowWriting), at most `batchCommandsMax` commands a batch. */
function slowApplier(db: TestDatabase, routing: RoutingTable, topic: string, batchCommandsMax: number) {
  const pool = slowWriting(db.pool);
  return realApplier(pool, { topic: `${topic}-${randomUUID()}`, routing, batchCommandsMax, ports: { pool } });
}

/** `commands` from offset `first`: each in a fetch of its own (as live), or all in one. */
async function applyFrom(applier: ReturnType<typeof realApplier>, commands: readonly Command[], first: number, separate: boolean): Promise<void> {
  if (separate) {
    for (let i = 0; i < commands.length; i++) await applier.apply(asMessages([commands[i]!], first + i));
  } else {
    expect(await applier.apply(asMessages(commands, first))).toEqual({ kind: 'applied', nextOffset: BigInt(first + commands.length) });
  }
}

describe('commands that read committed state, however the log is cut into batches', () => {
  let db: TestDatabase;
  let routing: RoutingTable;
  beforeAll(async () => {
    db = await createTestDatabase(2);
    routing = await loadRouting(db.pool);
  });
  afterAll(async () => {
    await db.drop();
  });

  // 'separate': each command its own fetch (as live); 'one batch'; 'beside': [refund, withdrawal] committing while [close] is prepared.
  test.each([
    ['separate fetches', 1000, true],
    ['one batch', 1000, false],
    ['the close prepared beside the refund’s commit', 2, false],
  ])("an owner's close after a refund and a withdrawal is APPLIED: %s", async (_case, batchCommandsMax, separate) => {
    const owner = `closer-${randomUUID()}`;
    const a = await openAccountOn(db.pool, routing, 0, owner);
    const b = await openAccountOn(db.pool, routing, 1, 'payee');
    const applier = slowApplier(db, routing, 'close-order', batchCommandsMax);
    const t = transfer(a, b, owner, 60n);
    expect(await applier.apply(messagesOf([deposit(a, 60n), t]))).toEqual({ kind: 'applied', nextOffset: 2n });
    expect((await transferStatuses(db.pool, [t.transferId])).get(t.transferId)?.status).toBe('PROCESSING');
    // Partition 1 refused the credit (b closed, say): its row, as that batch writes it, and its refund.
    await db.pool.query(`INSERT INTO transfer_legs (transfer_id, leg, partition, outcome, reason) VALUES ($1, 'CREDIT', 1, 'REJECTED', 'ACCOUNT_CLOSED')`, [t.transferId]);
    const refund: RefundLegCommand = {
      type: 'REFUND_LEG', transferId: t.transferId, kind: 'TRANSFER', reverses: null, holdId: null,
      fromAccountId: a, toAccountId: b, amount: 60n, currency: 'USD', reason: 'ACCOUNT_CLOSED', sourcePartition: 1,
    };
    const close = ownerClose(a, owner);
    await applyFrom(applier, [refund, withdrawal(a, owner, 60n), close], 2, separate);
    expect((await transferStatuses(db.pool, [t.transferId])).get(t.transferId)).toEqual({ status: 'REJECTED', reason: 'ACCOUNT_CLOSED' });
    const change = await db.pool.query('SELECT outcome, reason FROM account_changes WHERE id = $1', [close.changeId]);
    expect(change.rows).toEqual([{ outcome: 'APPLIED', reason: null }]);
  });

  /**
   * A funded holder on partition 0 with a hold of 50 that expired 5 s ago (placed 10 s ago), a
   * merchant beside it, the applier (past the deposit), and a capture of `amount` to the
   * merchant accepted `acceptedAgoMs` ago, with the scan's EXPIRE_HOLD of that hold.
   */
  async function expiredHoldAndCapture(topic: string, batchCommandsMax: number, amount: bigint, acceptedAgoMs: number) {
    const owner = `holder-${randomUUID()}`;
    const a = await openAccountOn(db.pool, routing, 0, owner);
    const c = await openAccountOn(db.pool, routing, 0, 'merchant');
    const applier = slowApplier(db, routing, topic, batchCommandsMax);
    expect(await applier.apply(messagesOf([deposit(a, 100n)]))).toEqual({ kind: 'applied', nextOffset: 1n });
    const holdId = randomUUID();
    const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
    const hold: HoldCommand = {
      type: 'HOLD', holdId, accountId: a, amount: 50n, currency: 'USD', principal: owner, admin: false,
      requestHash: hash(holdId), acceptedAt: ago(10_000), expiresAt: ago(5_000), description: null,
    };
    const expire: ExpireHoldCommand = { type: 'EXPIRE_HOLD', holdId, accountId: a };
    const capture: CaptureCommand = {
      type: 'CAPTURE', transferId: randomUUID(), holdId, accountId: a, toAccountId: c, amount, currency: 'USD',
      principal: owner, admin: false, requestHash: hash(`capture-${holdId}`), acceptedAt: ago(acceptedAgoMs),
    };
    return { a, c, applier, hold, expire, capture };
  }

  test.each([
    ['separate fetches', 1000, true],
    ['one batch', 1000, false],
    ['the capture prepared beside the expiry’s commit', 2, false],
  ])('a capture after its hold expired is refused HOLD_EXPIRED: %s', async (_case, batchCommandsMax, separate) => {
    const { applier, hold, expire, capture } = await expiredHoldAndCapture('capture-order', batchCommandsMax, 50n, 0);
    await applyFrom(applier, [hold, expire, capture], 1, separate);
    expect((await transferStatuses(db.pool, [capture.transferId])).get(capture.transferId)).toEqual({ status: 'REJECTED', reason: 'HOLD_EXPIRED' });
  });

  // A capture is late by when the API accepted it (an outside review: one acknowledged before
  // expires_at, applied once paused workers resumed, was refused HOLD_EXPIRED); the scan's
  // expiry behind it in the log then finds the hold ended and changes nothing.
  test.each([
    ['separate fetches', 1000, true],
    ['one batch', 1000, false],
  ])('a capture accepted before its hold expired, applied after, takes the hold: %s', async (_case, batchCommandsMax, separate) => {
    const { a, c, applier, hold, expire, capture } = await expiredHoldAndCapture('capture-in-time', batchCommandsMax, 30n, 6_000);
    await applyFrom(applier, [hold, capture, expire], 1, separate);
    expect((await transferStatuses(db.pool, [capture.transferId])).get(capture.transferId)).toEqual({ status: 'COMPLETED', reason: null });
    const ended = await db.pool.query('SELECT status, captured_amount FROM holds WHERE id = $1', [hold.holdId]);
    expect(ended.rows).toEqual([{ status: 'CAPTURED', captured_amount: '30' }]);
    const balances = await db.pool.query('SELECT id, balance, held FROM accounts WHERE id = ANY($1) ORDER BY balance', [[a, c]]);
    expect(balances.rows).toEqual([{ id: c, balance: '30', held: '0' }, { id: a, balance: '70', held: '0' }]);
  });
});
