// A partition whose writes keep failing for an operating reason is retried from its next
// offset, with backoff, and the worker's other partitions go on meanwhile. An on-call drill
// saw otherwise: the retries ran inside the fetch, kafkajs fetches a member's partitions again
// only once every partition of the last fetch is handled, so one partition's revoked grant
// (a deploy that does not match the schema) stopped three others with no log line of theirs.
// Here, against real Kafka, Postgres and Redis: the worker's role loses INSERT on
// account_changes, so partition 0's account close fails its write (42501, an operating error:
// retried, never blamed on the command) for as long as the grant is missing, while a deposit
// on partition 1 must apply; once the grant is back, partition 0 applies its commands in
// their order (the close, then a deposit it refuses as ACCOUNT_CLOSED).
import { loadRouting } from '@ledgerline/postgres';
import { TestPublisher, allTerminal, balanceOf, deposit, openAccountOn, ownerClose, transferStatuses } from '../../../test/support/ledger';
import { useTestLedger } from '../../../test/support/test-ledger';
import { startWorker, waitFor } from '../../../test/support/worker';

describe('a partition whose writes keep failing', () => {
  const ledger = useTestLedger(2);

  test('is retried from its next offset while the same worker applies its other partitions, in order once the cause is mended', async () => {
    const { db, topics, target } = ledger;
    const routing = await loadRouting(db.pool);
    const publisher = await TestPublisher.create(topics, db.pool);
    const warm = await openAccountOn(db.pool, routing, 0, 'retry-isolation-warm');
    const closing = await openAccountOn(db.pool, routing, 0, 'retry-isolation-closing');
    const other = await openAccountOn(db.pool, routing, 1, 'retry-isolation-other');
    const statusOf = async (accountId: string) => (await db.pool.query('SELECT status FROM accounts WHERE id = $1', [accountId])).rows[0].status as string;
    // Backoff long enough that a retry waiting inside its fetch would hold the other
    // partition's fetch for seconds at a time, and forever while the grant is missing.
    const worker = await startWorker(target, { WORKER_WRITE_RETRY_DELAY_FIRST_MS: '1000', WORKER_WRITE_RETRY_DELAY_MAX_MS: '2000' });
    let revoked = false;
    try {
      const warmup = [deposit(warm, 1n), deposit(other, 1n)];
      await Promise.all(warmup.map((c) => publisher.publish(c)));
      await waitFor('both partitions applying', () => allTerminal(db.pool, warmup.map((c) => c.transferId)), 30_000);
      await db.pool.query('REVOKE INSERT ON account_changes FROM ledgerline_worker');
      revoked = true;

      const close = ownerClose(closing, 'retry-isolation-closing');
      const behindClose = deposit(closing, 5n);
      await publisher.publish(close);
      await publisher.publish(behindClose);
      await waitFor('partition 0 retrying its write', async () => worker.worker.ownership().find((o) => o.partition === 0)?.writesFailing, 30_000);
      expect(worker.worker.ownership().find((o) => o.partition === 0)?.writesFailing?.error).toMatch(/42501/);

      const meanwhile = deposit(other, 7n);
      await publisher.publish(meanwhile);
      await waitFor('partition 1 applying while partition 0 retries', () => allTerminal(db.pool, [meanwhile.transferId]), 20_000);
      expect(await balanceOf(db.pool, other)).toBe(8n);
      // Partition 0 is still where it was: nothing of it skipped, nothing applied.
      expect(worker.worker.ownership().find((o) => o.partition === 0)?.writesFailing).not.toBeNull();
      expect(worker.worker.ownership().find((o) => o.partition === 1)?.writesFailing).toBeNull();
      expect(await allTerminal(db.pool, [behindClose.transferId])).toBe(false);
      expect(await statusOf(closing)).toBe('OPEN');

      await db.pool.query('GRANT INSERT ON account_changes TO ledgerline_worker');
      revoked = false;
      await waitFor('partition 0 applying again', () => allTerminal(db.pool, [behindClose.transferId]), 30_000);
      // In order: the close (the account is empty) before the deposit behind it, refused.
      expect(await statusOf(closing)).toBe('CLOSED');
      expect((await transferStatuses(db.pool, [behindClose.transferId])).get(behindClose.transferId)).toEqual({ status: 'REJECTED', reason: 'ACCOUNT_CLOSED' });
      expect(await balanceOf(db.pool, closing)).toBe(0n);
      await waitFor('partition 0 no longer failing', async () => worker.worker.ownership().find((o) => o.partition === 0)?.writesFailing === null, 10_000);
      expect(worker.fatal).toEqual([]);
    } finally {
      if (revoked) await db.pool.query('GRANT INSERT ON account_changes TO ledgerline_worker');
      await worker.stop();
      await publisher.stop();
    }
  }, 120_000);
});
