// Proves that a bucket move rolled back at the fence deadline leaves no bucket held and says
// truthfully what it left: a move whose fence was applied in time cannot be undone, so it is
// finished (switched, hold lifted); one whose fence never came is rolled back. Against real
// Postgres through PgBouncer and Kafka, with no worker running to apply the second fence.
import { bucketOf } from '@ledgerline/domain';
import { BatchingProducer } from '@ledgerline/kafka';
import { abortMoves, listOpenMoves, loadRouting, startMoves } from '@ledgerline/postgres';
import { MOVE_DEFAULTS, MoveAbortedError, finishOpenMoves, moveBuckets } from '../src/rebalance/move-buckets';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { accountOnPartition } from '../../../test/support/ledger';
import { waitFor } from '../../../test/support/worker';

describe('a bucket move aborted at the fence deadline', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let producer: BatchingProducer;

  beforeAll(async () => {
    db = await createTestDatabase(4);
    topics = await createTestTopics(4);
    producer = new BatchingProducer({ kafka: topics.kafka, lingerMs: 1, batchSizeMax: 100, bufferMessagesMax: 1000, ackTimeoutMs: 10_000 });
    await producer.start();
  });

  afterAll(async () => {
    await producer.stop();
    await topics.delete();
    await db.drop();
  });

  test('finishes the fenced move, rolls back the other, holds nothing, and reports both', async () => {
    const routing = await loadRouting(db.pool);
    const fencedBucket = bucketOf(accountOnPartition(routing, 0));
    const lateBucket = bucketOf(accountOnPartition(routing, 1));
    const moving = moveBuckets(
      { pool: db.pool, producer, commandsTopic: topics.names.commands, log: () => undefined },
      [fencedBucket, lateBucket],
      3,
      { ...MOVE_DEFAULTS, routersWaitMs: 5_000, routerFreshMs: 3_000, fenceWaitMs: 3_000, pollMs: 20 },
    );
    const outcome = moving.then(
      () => null,
      (error: unknown) => error,
    );
    // Partition 0's owner applies its fence in time (as its batch transaction would); nobody
    // applies partition 1's.
    await waitFor('the moves are holding', async () => {
      const r = await db.pool.query(`UPDATE bucket_moves SET state = 'FENCED', fenced_at = now() WHERE bucket = $1 AND state = 'HOLDING' RETURNING id`, [fencedBucket]);
      return r.rowCount === 1;
    });
    const error = await outcome;
    expect(error).toBeInstanceOf(MoveAbortedError);
    expect((error as Error).message).toMatch(/1 moves rolled back, 1 already fenced and finished/);

    const moves = await db.pool.query('SELECT bucket, state FROM bucket_moves ORDER BY bucket');
    expect(Object.fromEntries(moves.rows.map((r) => [r.bucket, r.state]))).toEqual({ [fencedBucket]: 'DONE', [lateBucket]: 'ABORTED' });
    const buckets = await db.pool.query('SELECT bucket, partition, held FROM routing_buckets WHERE bucket = ANY($1::int[]) ORDER BY bucket', [[fencedBucket, lateBucket]]);
    expect(Object.fromEntries(buckets.rows.map((r) => [r.bucket, [r.partition, r.held]]))).toEqual({ [fencedBucket]: [3, false], [lateBucket]: [1, false] });
  });

  // partitions add --finish and rebalance --apply finish the moves they listed open. One
  // rolled back between that listing and the finishing (its own command's fence wait ran
  // out) must stay rolled back: starting it again would hold its bucket anew, unasked.
  test('finishing listed open moves never starts one that was rolled back meanwhile', async () => {
    const bucket = bucketOf(accountOnPartition(await loadRouting(db.pool), 2, 'rolled-back'));
    await startMoves(db.pool, [bucket], 0);
    const listed = (await listOpenMoves(db.pool)).filter((m) => m.bucket === bucket);
    expect(listed).toHaveLength(1);
    await abortMoves(db.pool, listed.map((m) => m.id));
    const result = await finishOpenMoves({ pool: db.pool, producer, commandsTopic: topics.names.commands, log: () => undefined }, listed, {
      ...MOVE_DEFAULTS,
      routersWaitMs: 2_000,
      fenceWaitMs: 2_000,
      pollMs: 20,
    });
    expect(result.moved).toEqual([]);
    expect(result.rolledBack.map((m) => [m.bucket, m.state])).toEqual([[bucket, 'ABORTED']]);
    expect(await listOpenMoves(db.pool)).toEqual([]);
    const after = await loadRouting(db.pool);
    expect([after.partitionOfBucket(bucket), after.heldBucketCount]).toEqual([2, 0]);
    const rows = await db.pool.query('SELECT state FROM bucket_moves WHERE bucket = $1', [bucket]);
    expect(rows.rows).toEqual([{ state: 'ABORTED' }]);
  }, 60_000);

  // Found by an outside review: a second ledgerctl driving the same move (finishing moves left
  // open) rolls it back when its own wait runs out. The first one's fence wait then ends (no
  // move is HOLDING) and it reported the ABORTED move as moved, although the bucket never left.
  test('a move another ledgerctl rolls back while this one waits for the fence is reported rolled back, not moved', async () => {
    const bucket = bucketOf(accountOnPartition(await loadRouting(db.pool), 2, 'rolled-back-by-another'));
    // No worker runs: the fence is never applied, so only the other driver ends the wait.
    const moving = moveBuckets({ pool: db.pool, producer, commandsTopic: topics.names.commands, log: () => undefined }, [bucket], 0, {
      ...MOVE_DEFAULTS,
      fenceWaitMs: 600_000,
      pollMs: 20,
    });
    const holding = await waitFor('the move is holding', async () => {
      const open = (await listOpenMoves(db.pool)).filter((m) => m.bucket === bucket && m.state === 'HOLDING');
      return open.length > 0 ? open : null;
    });
    expect(holding).toHaveLength(1);
    // What the other driver's rollback does (rolledBack: abort what is still HOLDING).
    expect(await abortMoves(db.pool, holding.map((m) => m.id))).toBe(1);
    const result = await moving;
    expect(result.moved).toEqual([]);
    expect(result.rolledBack.map((m) => [m.bucket, m.state])).toEqual([[bucket, 'ABORTED']]);
    expect(result.holdMs).toBe(0);
    const after = await loadRouting(db.pool);
    expect([after.partitionOfBucket(bucket), after.heldBucketCount]).toEqual([2, 0]);
  }, 60_000);

  // Found by an outside review: a resumed move (its first run published the fence, then died)
  // waits for the APIs again; its old fence lands meanwhile. When an API stayed behind, the
  // move was reported "rolled back" although nothing was (it was FENCED, not HOLDING): its
  // bucket stayed held, every command of its accounts 503, with nothing saying to finish it.
  test('a move fenced while an API stays behind is finished, not reported rolled back and left held', async () => {
    const routing = await loadRouting(db.pool);
    const bucket = bucketOf(accountOnPartition(routing, 2, 'fenced-while-routers-lag'));
    await db.pool.query(`INSERT INTO routing_observers (instance, role, version, seen_at) VALUES ('api-behind', 'api', 0, now())`);
    const refresh = setInterval(() => void db.pool.query(`UPDATE routing_observers SET seen_at = now() WHERE instance = 'api-behind'`).catch(() => undefined), 200);
    try {
      const outcome = moveBuckets({ pool: db.pool, producer, commandsTopic: topics.names.commands, log: () => undefined }, [bucket], 0, {
        ...MOVE_DEFAULTS,
        routersWaitMs: 1_500,
        routerFreshMs: 3_000,
        fenceWaitMs: 3_000,
        pollMs: 20,
      }).then(
        () => null,
        (error: unknown) => error,
      );
      // The fence of an earlier run of this move is applied while it waits for the APIs.
      await waitFor('the move is holding, then fenced', async () => {
        const r = await db.pool.query(`UPDATE bucket_moves SET state = 'FENCED', fenced_at = now() WHERE bucket = $1 AND state = 'HOLDING' RETURNING id`, [bucket]);
        return r.rowCount === 1;
      });
      const error = await outcome;
      expect(error).toBeInstanceOf(MoveAbortedError);
      expect((error as Error).message).toMatch(/0 moves rolled back, 1 already fenced and finished/);
    } finally {
      clearInterval(refresh);
      await db.pool.query(`DELETE FROM routing_observers WHERE instance = 'api-behind'`);
    }
    const rows = await db.pool.query('SELECT state FROM bucket_moves WHERE bucket = $1', [bucket]);
    expect(rows.rows).toEqual([{ state: 'DONE' }]);
    const after = await loadRouting(db.pool);
    expect([after.partitionOfBucket(bucket), after.isHeld(accountOnPartition(routing, 2, 'fenced-while-routers-lag'))]).toEqual([0, false]);
  }, 60_000);

  test('finishing open moves, one already FENCED and one HOLDING, while an API stays behind: the fenced one is finished too, nothing left held', async () => {
    const routing = await loadRouting(db.pool);
    const fencedBucket = bucketOf(accountOnPartition(routing, 1, 'open-fenced'));
    const holdingBucket = bucketOf(accountOnPartition(routing, 2, 'open-holding'));
    await startMoves(db.pool, [fencedBucket, holdingBucket], 3);
    // An earlier run's fence landed for one of them before this run began.
    await db.pool.query(`UPDATE bucket_moves SET state = 'FENCED', fenced_at = now() WHERE bucket = $1 AND state = 'HOLDING'`, [fencedBucket]);
    const open = (await listOpenMoves(db.pool)).filter((m) => m.bucket === fencedBucket || m.bucket === holdingBucket);
    expect(open.map((m) => m.state).sort()).toEqual(['FENCED', 'HOLDING']);
    await db.pool.query(`INSERT INTO routing_observers (instance, role, version, seen_at) VALUES ('api-behind-2', 'api', 0, now())`);
    const refresh = setInterval(() => void db.pool.query(`UPDATE routing_observers SET seen_at = now() WHERE instance = 'api-behind-2'`).catch(() => undefined), 200);
    let error: unknown = null;
    try {
      await finishOpenMoves({ pool: db.pool, producer, commandsTopic: topics.names.commands, log: () => undefined }, open, {
        ...MOVE_DEFAULTS,
        routersWaitMs: 1_000,
        routerFreshMs: 3_000,
        fenceWaitMs: 3_000,
        pollMs: 20,
      });
    } catch (thrown) {
      error = thrown;
    } finally {
      clearInterval(refresh);
      await db.pool.query(`DELETE FROM routing_observers WHERE instance = 'api-behind-2'`);
    }
    expect(error).toBeInstanceOf(MoveAbortedError);
    expect((error as Error).message).toMatch(/1 moves rolled back, 1 already fenced and finished/);
    const rows = await db.pool.query('SELECT bucket, state FROM bucket_moves WHERE bucket = ANY($1::int[])', [[fencedBucket, holdingBucket]]);
    expect(Object.fromEntries(rows.rows.map((r) => [r.bucket, r.state]))).toEqual({ [fencedBucket]: 'DONE', [holdingBucket]: 'ABORTED' });
    const after = await loadRouting(db.pool);
    expect([after.partitionOfBucket(fencedBucket), after.partitionOfBucket(holdingBucket), after.heldBucketCount]).toEqual([3, 2, 0]);
  }, 60_000);
});

