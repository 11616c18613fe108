// Proves `ledgerctl partitions add --to N` with the topics already at N moves nothing unless
// told to finish: it prints the moves that would level the buckets, and makes them only with
// --finish (a spread a crash cut short). An operator review re-ran it by mistake and it moved
// buckets the operator had put on a crowded partition by hand, each move with its hold.
// Against the real ledgerctl, a worker, Kafka and Postgres through PgBouncer.
import { loadRouting } from '@ledgerline/postgres';
import { useTestLedger } from '../../../test/support/test-ledger';
import { ledgerctlFor } from '../../../test/support/ledgerctl';
import { startWorker } from '../../../test/support/worker';

describe('ledgerctl partitions add at the current count', () => {
  const ledger = useTestLedger(2);

  test('prints the leveling moves and makes none; --finish makes them', async () => {
    const ledgerctl = ledgerctlFor(ledger.target);
    const worker = await startWorker(ledger.target);
    try {
      const level = await ledgerctl(['partitions', 'add', '--to', '2']);
      expect([level.code, level.out]).toEqual([0, `${ledger.topics.names.commands} has 2 partitions and the buckets are spread: nothing to move\n`]);

      // The operator moves two of partition 0's buckets to partition 1 by hand.
      const start = await loadRouting(ledger.db.pool);
      expect([start.partitionOfBucket(0), start.partitionOfBucket(2)]).toEqual([0, 0]);
      const byHand = await ledgerctl(['buckets', 'move', '0', '2', '--to-partition', '1']);
      expect([byHand.code, byHand.out]).toEqual([0, expect.stringMatching(/\nmoved 2 buckets to partition 1; held \d+ ms\n$/)]);
      const moved = await loadRouting(ledger.db.pool);
      expect([moved.partitionOfBucket(0), moved.partitionOfBucket(2)]).toEqual([1, 1]);

      // Run again by mistake: the moves are shown, none is made.
      const mistaken = await ledgerctl(['partitions', 'add', '--to', '2']);
      expect(mistaken.code).toBe(0);
      expect(mistaken.out).toMatch(/leveling its buckets would make the 2 moves above\. Nothing moved: to finish a spread a crash cut short, run again with --finish\n$/);
      const after = await loadRouting(ledger.db.pool);
      expect(after.version).toBe(moved.version);
      expect([after.partitionOfBucket(0), after.partitionOfBucket(2)]).toEqual([1, 1]);

      // --finish levels them: two of partition 1's buckets go back to partition 0.
      const finished = await ledgerctl(['partitions', 'add', '--to', '2', '--finish']);
      expect([finished.code, finished.out]).toEqual([0, expect.stringMatching(/finishing the spread: 2 buckets to move\n[\s\S]*2 buckets moved in 1 steps/)]);
      const counts = (await loadRouting(ledger.db.pool)).rows().reduce((n, r) => (r.partition === 0 ? n + 1 : n), 0);
      expect(counts).toBe(512);
      expect(worker.fatal).toEqual([]);
    } finally {
      await worker.stop();
    }
  }, 120_000);
});
