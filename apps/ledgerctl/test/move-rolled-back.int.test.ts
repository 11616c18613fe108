// Proves a ledgerctl command whose bucket move another ledgerctl rolled back says so and exits 3,
// never "moved": `buckets move`, and `partitions add --finish` (a plan's step, counted from the
// moves that finished). Found by an outside review: both drivers of one move (the command that
// started it, and a second one finishing moves left open) are supported, and the second rolls
// the move back when its own wait runs out; the first then reported the bucket moved, exit 0.
// Against the real ledgerctl, Kafka and Postgres through PgBouncer. The consumer group's one
// member reads the commands and applies none (a worker stuck before the fence), so only the
// second command's short fence wait ends the move: no timing decides the outcome.
import { PartitionConsumer } from '@ledgerline/kafka';
import { listOpenMoves, loadRouting } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { type CliAnswer, ledgerctlFor } from '../../../test/support/ledgerctl';
import { waitFor } from '../../../test/support/worker';

describe('a bucket move rolled back by another ledgerctl', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let stuckWorker: PartitionConsumer;
  let ledgerctl: ReturnType<typeof ledgerctlFor>;
  /** The first driver never gives up by itself; the second gives up after a second. */
  const patient = { CTL_MOVE_FENCE_WAIT_MS: '600000' };
  const impatient = { CTL_MOVE_FENCE_WAIT_MS: '1000' };

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    ledgerctl = ledgerctlFor({ databaseUrl: db.url, topicPrefix: topics.prefix });
    let assigned = false;
    stuckWorker = new PartitionConsumer({
      kafka: topics.kafka,
      topic: topics.names.commands,
      groupId: `${topics.prefix}.partition-workers`, // ledgerctl's group for this prefix
      partitionsConcurrentMax: 2,
      fetchBytesMax: 1_048_576,
      fetchWaitMs: 100,
      fetchBytesMin: 1,
      onAssignment: (partitions) => void (assigned = partitions.length > 0),
      // Read, never applied: the fence is never marked FENCED.
      onFetch: async (fetched) => {
        const last = fetched.messages[fetched.messages.length - 1];
        if (last) fetched.markProcessed(BigInt(last.offset));
      },
      log: () => undefined,
    });
    await stuckWorker.start();
    await waitFor('the stuck worker holds the partitions', async () => assigned, 60_000);
  }, 120_000);

  afterAll(async () => {
    await stuckWorker.stop();
    await topics.delete();
    await db.drop();
  });

  /** The open move once it is HOLDING, as the first command left it. */
  async function holdingMove(): Promise<{ bucket: number; toPartition: number }> {
    return waitFor('the first command holds its bucket', async () => (await listOpenMoves(db.pool)).find((m) => m.state === 'HOLDING'));
  }

  test('buckets move: exit 3 naming the rolled-back bucket, no "moved"; the bucket stays, not held', async () => {
    const first = ledgerctl(['buckets', 'move', '1', '--to-partition', '0'], patient);
    const move = await holdingMove();
    expect(move).toMatchObject({ bucket: 1, toPartition: 0 });
    // The reviewer's second driver: rebalance --apply finishes the move left open and gives up on it.
    const second = await ledgerctl(['rebalance', '--apply', '--moves-max', '1'], impatient);
    expect(second.code).toBe(3);
    expect(second.out).toContain('finishing 1 move left open first');
    expect(second.err).toMatch(/the old partition did not apply the fence in time .*: 1 moves rolled back, .*bucket 1: ABORTED/);

    const answer: CliAnswer = await first;
    expect(answer.code).toBe(3);
    expect(answer.out).not.toMatch(/\nmoved /);
    expect(answer.out).toContain('bucket moves done: 0 of 1; rolled back meanwhile (by another ledgerctl driving them): bucket 1');
    expect(answer.err).toMatch(/^ledgerctl: 1 move rolled back, not made \(1 1->0 ABORTED\): another ledgerctl driving the same move gave up on it/);
    const after = await loadRouting(db.pool);
    expect([after.partitionOfBucket(1), after.heldBucketCount]).toEqual([1, 0]);
  }, 120_000);

  test('partitions add --finish: the plan counts the moves that finished (0 of 1), exit 3', async () => {
    // Partition 0 takes one of partition 1's buckets by hand: the spread moves one back.
    await db.pool.query('UPDATE routing_buckets SET partition = 0 WHERE bucket = 3');
    await db.pool.query('UPDATE routing_version SET version = version + 1');
    const first = ledgerctl(['partitions', 'add', '--to', '2', '--finish'], patient);
    const move = await holdingMove();
    const second = await ledgerctl(['buckets', 'move', String(move.bucket), '--to-partition', String(move.toPartition)], impatient);
    expect(second.code).toBe(3);
    expect(second.out).toContain('resuming 1 open move');

    const answer = await first;
    expect(answer.code).toBe(3);
    expect(answer.out).toContain('finishing the spread: 1 buckets to move');
    expect(answer.out).toContain('moved 0/1 buckets\n0 of 1 buckets moved before a step was rolled back');
    expect(answer.out).not.toMatch(/buckets moved in \d+ steps/);
    expect(answer.err).toMatch(new RegExp(`^ledgerctl: 1 move rolled back, not made \\(${move.bucket} 0->1 ABORTED\\)`));
    expect((await loadRouting(db.pool)).heldBucketCount).toBe(0);
  }, 120_000);
});
