// Proves `ledgerctl partitions add --to N` with the topics already at N moves nothing unless
// told to finish: it prints the moves that would level the buckets, and makes them only with
// --finish (a spread a crash cut short). An operator review re-ran it by mistake and it moved
// buckets the operator had put on a crowded partition by hand, each move with its hold.
// Against the real ledgerctl, a worker, Kafka and Postgres through PgBouncer.
import { listOpenMoves, loadRouting, startMoves } from '@ledgerline/postgres';
import { useTestLedger } from '../../../test/support/test-ledger';
import { ledgerctlFor } from '../../../test/support/ledgerctl';
import { startWorker, waitFor } from '../../../test/support/worker';

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

  // An operator review killed a spread after its first group: re-running it with --finish
  // planned one of the held buckets elsewhere, was refused, and left the bucket held (its
  // accounts answered 503) however often it was run. rebalance --apply did the same.
  test('moves a crash left open are shown as held, and finished where they were going before a spread or a rebalance plans', async () => {
    const ledgerctl = ledgerctlFor(ledger.target);
    const worker = await startWorker(ledger.target);
    try {
      const onZero = (await loadRouting(ledger.db.pool)).rows().filter((r) => r.partition === 0).map((r) => r.bucket);
      const [a, b, c] = onZero as [number, number, number];
      await startMoves(ledger.db.pool, [a, b], 1); // ...and the spread's process dies here, both buckets held
      const heldNote = `2 buckets held by 2 moves left open (${a} 0->1 HOLDING, ${b} 0->1 HOLDING)`;

      const preview = await ledgerctl(['partitions', 'add', '--to', '2']);
      expect([preview.code, preview.err]).toEqual([0, '']);
      // Each names the flag it has (an operator review: rebalance's note said --finish, which it refuses).
      expect(preview.out).toContain(`${heldNote}: their accounts get 503 BUCKET_MOVING until the moves finish (this command with --finish finishes them first`);
      expect(preview.out).toMatch(/would make the 2 moves above, after the 2 moves left open\. Nothing moved/);
      expect((await listOpenMoves(ledger.db.pool)).map((m) => m.bucket).sort((x, y) => x - y)).toEqual([a, b].sort((x, y) => x - y));

      const finished = await ledgerctl(['partitions', 'add', '--to', '2', '--finish']);
      expect([finished.code, finished.err]).toEqual([0, '']);
      expect(finished.out).toMatch(new RegExp(`^finishing 2 moves left open first \\(a crashed command's, or one still running\\): ${a} 0->1 HOLDING, ${b} 0->1 HOLDING\n`));
      expect(finished.out).toMatch(/\n2 of 2 finished; their buckets stood held up to \d+ ms\n/);
      expect(await listOpenMoves(ledger.db.pool)).toEqual([]);
      const routing = await loadRouting(ledger.db.pool);
      expect(routing.rows().filter((r) => r.partition === 0)).toHaveLength(512);
      expect(routing.heldBucketCount).toBe(0);

      // The same for rebalance: the preview names the held bucket, --apply finishes its move first.
      await startMoves(ledger.db.pool, [c], 1);
      const plan = await ledgerctl(['rebalance']);
      expect([plan.code, plan.err]).toEqual([0, '']);
      expect(plan.out).toContain(`1 bucket held by 1 move left open (${c} 0->1 HOLDING): their accounts get 503 BUCKET_MOVING until the moves finish (this command with --apply finishes them first`);
      const applied = await ledgerctl(['rebalance', '--apply']);
      expect([applied.code, applied.err]).toEqual([0, '']);
      expect(applied.out).toMatch(new RegExp(`^finishing 1 move left open first \\(a crashed command's, or one still running\\): ${c} 0->1 HOLDING\n`));
      expect(await listOpenMoves(ledger.db.pool)).toEqual([]);
      expect((await loadRouting(ledger.db.pool)).partitionOfBucket(c)).toBe(1);
      expect(worker.fatal).toEqual([]);
    } finally {
      await worker.stop();
    }
  }, 180_000);

  // An operator review started a second worker with the same WORKER_ID: `workers` showed
  // two owners both named "worker-1 /127.0.0.1", and nothing said why.
  test('workers tells apart two members that share one WORKER_ID, and says to give each its own', async () => {
    const ledgerctl = ledgerctlFor(ledger.target);
    const twins = [await startWorker(ledger.target, { WORKER_ID: 'twin' }), await startWorker(ledger.target, { WORKER_ID: 'twin' })];
    try {
      const listed = await waitFor('both twins to own a partition', async () => {
        const answer = await ledgerctl(['workers']);
        return /: Stable, 2 members\n/.test(answer.out) && (answer.out.match(/ twin \S+ \(member twin-[0-9a-f-]+\)/g) ?? []).length === 2 ? answer : undefined;
      });
      expect([listed.code, listed.err]).toEqual([0, 'ledgerctl workers: 2 members share the client id "twin": give each worker its own WORKER_ID\n']);
      const members = listed.out.match(/\(member (twin-[0-9a-f-]+)\)/g) ?? [];
      expect(new Set(members).size).toBe(2);
    } finally {
      for (const twin of twins) await twin.stop();
    }
  }, 120_000);

  // An outside runbook review ran 9 workers on 8 partitions: `workers` said "9 members" and
  // named only the 8 owners; the spare was nowhere.
  test('workers names a member holding no partition, a spare when there are more workers than partitions', async () => {
    const ledgerctl = ledgerctlFor(ledger.target);
    const three = [await startWorker(ledger.target, { WORKER_ID: 'w-a' }), await startWorker(ledger.target, { WORKER_ID: 'w-b' }), await startWorker(ledger.target, { WORKER_ID: 'w-c' })];
    try {
      const listed = await waitFor('three members, one of them named as holding nothing', async () => {
        const answer = await ledgerctl(['workers']);
        return /: Stable, 3 members\n/.test(answer.out) && /\nholding no partition /.test(answer.out) ? answer : undefined;
      });
      expect([listed.code, listed.err]).toEqual([0, '']);
      const spare = /\nholding no partition \(spare while the group has more members than partitions; ready, and given partitions when a member leaves\): (w-[abc]) \S+\n$/.exec(listed.out)?.[1];
      expect(spare).toBeDefined();
      const owners = ['w-a', 'w-b', 'w-c'].filter((id) => new RegExp(`\\n[01] +${id} `).test(listed.out));
      expect(owners.sort()).toEqual(['w-a', 'w-b', 'w-c'].filter((id) => id !== spare));
    } finally {
      for (const worker of three) await worker.stop();
    }
  }, 120_000);

  // An operator review moved a bucket with no worker running: the bucket stood held, its
  // accounts answering 503, for the 60 s the fence wait lasts, then the move rolled back.
  test('a move, a spread or a rebalance with no worker in the group is refused before anything is held', async () => {
    const ledgerctl = ledgerctlFor(ledger.target);
    await waitFor('the group to have no member left', async () => / 0 members\n/.test((await ledgerctl(['workers'])).out));
    const onOne = (await loadRouting(ledger.db.pool)).rows().find((r) => r.partition === 1)!.bucket;
    const refused = await ledgerctl(['buckets', 'move', String(onOne), '--to-partition', '0']);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/^ledgerctl: no partition worker is in group \S+: a move's fence is applied by the old partition's worker; start the workers/);
    expect((await ledgerctl(['partitions', 'add', '--to', '2', '--finish'])).err).toMatch(/no partition worker is in group/);
    expect(await listOpenMoves(ledger.db.pool)).toEqual([]);
    expect((await loadRouting(ledger.db.pool)).heldBucketCount).toBe(0);
  }, 120_000);

  // An operator review stopped Kafka: routing show, whose table is in Postgres, failed after
  // ~11 s of retries to learn the partition count.
  test('routing show reads the table from Postgres when Kafka does not answer, and says what it leaves out', async () => {
    const ledgerctl = ledgerctlFor(ledger.target);
    const shown = await ledgerctl(['routing', 'show'], { KAFKA_BROKERS: '127.0.0.1:1' });
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(/^routing table version \d+, 1024 buckets\npartition +buckets +commands\/min\n-+ +-+ +-+\n0 +\d+ /);
    expect(shown.err).toMatch(/^ledgerctl: Kafka \(127\.0\.0\.1:1\) could not tell the partition count \(.*\); partitions without buckets are not listed\n$/);
  });
});
