// Proves reconcile() finds nothing on a ledger real workers wrote with every kind of movement
// that posts entries (a deposit, a withdrawal, a cross-partition transfer with its credit leg,
// a hold's capture, a reversal, and a refund of a credit the destination refused), so that
// balance-after-chained and entry-transfers-exist hold for all of them, each entry's transfer
// row included; and that the same ledger, one of its entries rewritten or one of its transfers
// rows deleted by the schema owner, is reported under that one check only.
// reconcile.int.test.ts plants each check's violation on a ledger written in SQL.
import { createHash, randomUUID } from 'node:crypto';
import type { Command } from '@ledgerline/domain';
import { type ReconcileReport, loadRouting, reconcile } from '../src';
import { useTestLedger } from '../../../test/support/test-ledger';
import {
  TestPublisher,
  accountOnPartition,
  allTerminal,
  balanceOf,
  deposit,
  openAccountOn,
  reversal,
  transfer,
  transferStatuses,
  withdrawal,
} from '../../../test/support/ledger';
import { startWorker, waitFor } from '../../../test/support/worker';

const hash = (text: string) => createHash('sha256').update(text).digest('hex');

function violations(report: ReconcileReport): Record<string, number> {
  return Object.fromEntries(report.checks.map((c) => [c.name, c.violations]));
}

/** Every check of `report` at 0 but the `planted` ones (a misspelt name there is an extra key). */
function only(report: ReconcileReport, planted: Record<string, number>): Record<string, number> {
  return { ...Object.fromEntries(report.checks.map((c) => [c.name, 0])), ...planted };
}

describe('reconcile() on a ledger of every kind of movement, written by real workers', () => {
  const ledger = useTestLedger(2);

  test('reconciles clean; a rewritten balance_after and a lost transfers row are each named by their own check', async () => {
    const { pool } = ledger.db;
    const routing = await loadRouting(pool);
    const alice = await openAccountOn(pool, routing, 0, 'alice');
    const bob = await openAccountOn(pool, routing, 1, 'bob');
    // Routes to partition 1 and was never opened: the credit there is refused, the money refunded.
    const nobody = accountOnPartition(routing, 1);

    const worker = await startWorker(ledger.target);
    const publisher = await TestPublisher.create(ledger.topics, pool);
    const settle = async (what: string, commands: Command[]) => {
      for (const command of commands) await publisher.publish(command);
      const ids = commands.flatMap((c) => ('transferId' in c ? [c.transferId] : []));
      await waitFor(what, () => allTerminal(pool, ids), 60_000);
    };
    const funding = deposit(alice, 1000n);
    const payOut = withdrawal(alice, 'alice', 100n);
    const crossing = transfer(alice, bob, 'alice', 200n);
    const refunded = transfer(alice, nobody, 'alice', 30n);
    const holdId = randomUUID();
    const common = { currency: 'USD', admin: false, acceptedAt: new Date().toISOString() };
    const capture: Command = {
      type: 'CAPTURE', transferId: randomUUID(), holdId, accountId: alice, toAccountId: bob, amount: 120n, principal: 'alice', requestHash: hash('capture'), ...common,
    };
    const payBack = reversal(crossing.transferId, bob, 'bob', 50n);
    try {
      await settle('the deposit', [funding]);
      await settle('the withdrawal and the transfers', [payOut, crossing, refunded]);
      await publisher.publish({
        type: 'HOLD', holdId, accountId: alice, amount: 150n, principal: 'alice', requestHash: hash('hold'), description: null,
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(), ...common,
      });
      await waitFor('the hold placed', async () => (await pool.query('SELECT status FROM holds WHERE id = $1', [holdId])).rows[0]?.status === 'HELD', 60_000);
      await settle('the capture and the reversal', [capture, payBack]);
      await waitFor('the outbox drained', async () => (await pool.query('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL')).rows[0].n === '0', 60_000);
    } finally {
      await publisher.stop();
      await worker.stop();
    }
    expect(worker.fatal).toEqual([]);

    // What happened is what each movement was meant to do, and every kind posted entries.
    const ids = [funding, payOut, crossing, refunded, capture, payBack].map((c) => c.transferId);
    const statuses = await transferStatuses(pool, ids);
    expect(ids.map((id) => statuses.get(id))).toEqual([
      ...Array(3).fill({ status: 'COMPLETED', reason: null }),
      { status: 'REJECTED', reason: 'DESTINATION_NOT_FOUND' },
      ...Array(2).fill({ status: 'COMPLETED', reason: null }),
    ]);
    expect([await balanceOf(pool, alice), await balanceOf(pool, bob)]).toEqual([1000n - 100n - 200n - 120n + 50n, 200n + 120n - 50n]);
    const kinds = await pool.query(
      `SELECT DISTINCT t.kind || ' ' || e.leg || ' ' || e.partition AS posted FROM entries e JOIN transfers t ON t.id = e.transfer_id ORDER BY 1`,
    );
    expect(kinds.rows.map((r) => r.posted)).toEqual([
      'CAPTURE CREDIT 1', // its credit leg, at bob's partition
      'CAPTURE DEBIT 0',
      'DEPOSIT CREDIT 0',
      'DEPOSIT DEBIT 0',
      'REVERSAL CREDIT 0', // its credit leg, at alice's partition
      'REVERSAL DEBIT 1',
      'TRANSFER CREDIT 1',
      'TRANSFER DEBIT 0',
      'TRANSFER REFUND 0', // the refund of the credit partition 1 refused
      'WITHDRAWAL CREDIT 0',
      'WITHDRAWAL DEBIT 0',
    ]);

    const run = () => reconcile(pool, { outboxAgeMaxMs: 3_600_000 });
    const clean = await run();
    expect(violations(clean)).toEqual(only(clean, {}));
    expect(clean.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['balance-after-chained', 'entry-transfers-exist']));

    // Alice's second entry (the withdrawal's debit, 900) says 905: entries are append-only for
    // every role, so the schema owner switches the trigger off for this one statement.
    const rewrite = async (balanceAfter: bigint) => {
      await pool.query('ALTER TABLE entries DISABLE TRIGGER entries_append_only');
      try {
        await pool.query('UPDATE entries SET balance_after = $2 WHERE account_id = $1 AND seq = 2', [alice, balanceAfter.toString()]);
      } finally {
        await pool.query('ALTER TABLE entries ENABLE TRIGGER entries_append_only');
      }
    };
    await rewrite(905n);
    const rewritten = await run();
    expect(violations(rewritten)).toEqual(only(rewritten, { 'balance-after-chained': 1 }));
    expect(rewritten.checks.find((c) => c.name === 'balance-after-chained')!.examples).toEqual([
      `${alice}: seq 2: balance_after 905, previous 1000 + amount -100 (2 entries off the chain)`,
    ]);
    await rewrite(900n);
    expect(violations(await run())).toEqual(only(clean, {}));

    // The withdrawal's row lost: nothing refers to it (no leg, hold or reversal), so its two
    // entries are all that is left, and only entry-transfers-exist can see them.
    await pool.query('DELETE FROM transfers WHERE id = $1', [payOut.transferId]);
    const lost = await run();
    expect(violations(lost)).toEqual(only(lost, { 'entry-transfers-exist': 1 }));
    expect(lost.checks.find((c) => c.name === 'entry-transfers-exist')!.examples).toEqual([`${payOut.transferId} has 2 entries and no transfer`]);
  });
});
