// A capture the API accepted a moment before its hold's expires_at, and produced a moment
// after it, takes the hold: the expiry scan leaves a hold WORKER_HOLD_EXPIRY_GRACE_MS past its
// expires_at before it publishes the EXPIRE_HOLD, so the capture stands first in the
// partition's order and is decided by when it was accepted. An outside review of the money
// lifecycle found the window: the scan's EXPIRE_HOLD published in between reached the
// partition first, and the capture, sent in time, ended REJECTED HOLD_EXPIRED.
// Against real Kafka, Postgres and Redis: a worker scanning every 500 ms with a 2 s grace; the
// capture is published 1 s after expires_at (without the grace the scan has published the
// expiry by then). A hold nobody captures still expires.
import { createHash, randomUUID } from 'node:crypto';
import type { CaptureCommand, HoldCommand } from '@ledgerline/domain';
import { loadRouting } from '@ledgerline/postgres';
import { TestPublisher, allTerminal, deposit, openAccountOn, transferStatuses } from '../../../test/support/ledger';
import { useTestLedger } from '../../../test/support/test-ledger';
import { startWorker, waitFor } from '../../../test/support/worker';

const hash = (text: string) => createHash('sha256').update(text).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('hold expiry leaves a grace after expires_at', () => {
  const ledger = useTestLedger(1);

  test('a capture accepted before expires_at and produced after it takes the hold; an uncaptured hold still expires', async () => {
    const { db, topics, target } = ledger;
    const routing = await loadRouting(db.pool);
    const publisher = await TestPublisher.create(topics, db.pool);
    const owner = `grace-${randomUUID()}`;
    const payer = await openAccountOn(db.pool, routing, 0, owner);
    const merchant = await openAccountOn(db.pool, routing, 0, 'grace-merchant');
    const worker = await startWorker(target, { WORKER_HOLD_EXPIRY_SCAN_MS: '500', WORKER_HOLD_EXPIRY_GRACE_MS: '2000' });
    const holdStatus = async (id: string) => (await db.pool.query('SELECT status, captured_amount FROM holds WHERE id = $1', [id])).rows[0];
    try {
      const funding = deposit(payer, 100n);
      await publisher.publish(funding);
      await waitFor('funded', () => allTerminal(db.pool, [funding.transferId]), 30_000);

      const expiresAt = Date.now() + 1_500;
      const holdOf = (holdId: string): HoldCommand => ({
        type: 'HOLD', holdId, accountId: payer, amount: 40n, currency: 'USD', principal: owner, admin: false,
        requestHash: hash(holdId), acceptedAt: new Date().toISOString(), expiresAt: new Date(expiresAt).toISOString(), description: null,
      });
      const captured = holdOf(randomUUID());
      const uncaptured = holdOf(randomUUID());
      await publisher.publish(captured);
      await publisher.publish(uncaptured);
      await waitFor('both holds HELD', async () => (await holdStatus(captured.holdId))?.status === 'HELD' && (await holdStatus(uncaptured.holdId))?.status === 'HELD', 30_000);

      // Accepted 200 ms before expires_at; its produce ends 1 s after it.
      await sleep(expiresAt + 1_000 - Date.now());
      const capture: CaptureCommand = {
        type: 'CAPTURE', transferId: randomUUID(), holdId: captured.holdId, accountId: payer, toAccountId: merchant, amount: 30n, currency: 'USD',
        principal: owner, admin: false, requestHash: hash(`capture-${captured.holdId}`), acceptedAt: new Date(expiresAt - 200).toISOString(),
      };
      await publisher.publish(capture);

      await waitFor('the capture applied', () => allTerminal(db.pool, [capture.transferId]), 30_000);
      expect((await transferStatuses(db.pool, [capture.transferId])).get(capture.transferId)).toEqual({ status: 'COMPLETED', reason: null });
      expect(await holdStatus(captured.holdId)).toEqual({ status: 'CAPTURED', captured_amount: '30' });
      await waitFor('the uncaptured hold expired', async () => (await holdStatus(uncaptured.holdId))?.status === 'EXPIRED', 30_000);
      const balances = (await db.pool.query('SELECT id, balance, held FROM accounts WHERE id = ANY($1::uuid[])', [[payer, merchant]])).rows;
      expect(new Map(balances.map((r) => [r.id, [r.balance, r.held]]))).toEqual(new Map([[payer, ['70', '0']], [merchant, ['30', '0']]]));
      expect(worker.fatal).toEqual([]);
    } finally {
      await worker.stop();
      await publisher.stop();
    }
  }, 90_000);
});
