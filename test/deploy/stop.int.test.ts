// How a partition worker stops, as a process of its own (real Kafka, PgBouncer, Postgres and
// Redis), in the cases an outside review of shutdown found hanging or cut:
// - an outbox sweep whose publish Kafka never acknowledges no longer holds the stop (it hung,
//   the worker still in the group, until Kafka took the rows); its rows stay in Postgres;
// - the same stop signal a second time exits at once (further signals were ignored);
// - a scheduled reconcile in progress is cut, not waited for (up to its 10 min deadline);
// - a SIGTERM while the worker is still joining the group stops it once it has joined, and it
//   leaves the group (without a handler yet, it died at once and sent no LeaveGroup).
// No timing is asserted: each test proves that the process exits, and how; a stop that hangs
// fails by the test's timeout.
import { BatchingProducer, CONSUMER_GROUP_DEFAULTS, PartitionConsumer } from '@ledgerline/kafka';
import { type AppProcess, logLines } from '../support/app-process';
import { type TestDatabase, createTestDatabase } from '../support/database';
import { type TestTopics, createTestTopics } from '../support/kafka';
import { exited, freePort, spawnWorker, waitFor } from '../support/worker';

const logged = (worker: AppProcess, text: string) => logLines(worker).some((l) => l.msg.includes(text));

describe('a partition worker stopping', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  const running: AppProcess[] = [];

  beforeEach(async () => {
    db = await createTestDatabase(1);
    topics = await createTestTopics(1);
  }, 60_000);
  afterEach(async () => {
    for (const worker of running.splice(0)) {
      if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
      await exited(worker);
    }
    await topics.delete();
    await db.drop();
  });

  const start = (extra: Record<string, string> = {}): AppProcess => {
    const worker = spawnWorker({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` }, { WORKER_ID: `stop-${topics.prefix}`, ...extra });
    running.push(worker);
    return worker;
  };

  /** An events row as old as the sweeper takes, of partition 0; its id. */
  const leaveEventRow = async (type: string): Promise<string> => {
    const { rows } = await db.pool.query(
      `INSERT INTO outbox (source_partition, topic, message_key, payload, created_at)
       VALUES (0, 'events', $1, jsonb_build_object('type', $1::text), now() - interval '1 minute') RETURNING id`,
      [type],
    );
    return String(rows[0].id);
  };
  const outboxIds = async () => (await db.pool.query('SELECT id FROM outbox ORDER BY id')).rows.map((r) => String(r.id));

  /**
   * A worker whose outbox sweep is publishing a row Kafka refuses for as long as the events
   * topic is gone (every resend: "This server does not host this topic-partition"): the
   * reviewer's reproduction. Partition 0 is claimed first (a row that goes out), so that the
   * sweeper, not the claim, takes the second row.
   */
  const workerWithSweepPublishing = async (): Promise<{ worker: AppProcess; stuckRow: string }> => {
    const worker = start();
    await leaveEventRow('FIRST');
    await waitFor('the first row published and deleted', async () => logged(worker, 'nothing to fetch, and rows its previous owner left unpublished') && (await outboxIds()).length === 0, 60_000, 200);
    await topics.admin.deleteTopics([topics.names.events]);
    const stuckRow = await leaveEventRow('STUCK');
    await waitFor('the sweeper publishing the row', async () => logged(worker, 'outbox sweeper: republishing 1 rows left behind'), 60_000, 200);
    return { worker, stuckRow };
  };

  test('a SIGTERM is not held by a sweep whose publish Kafka does not acknowledge; its row stays in Postgres', async () => {
    const { worker, stuckRow } = await workerWithSweepPublishing();
    worker.kill('SIGTERM');
    expect(await exited(worker)).toEqual({ code: 0, signal: null });
    expect(logLines(worker).at(-1)).toMatchObject({ msg: 'stopped', signal: 'SIGTERM' });
    // Not marked published: the next owner's sweep sends it.
    expect(await outboxIds()).toEqual([stuckRow]);
  }, 120_000);

  test('the same stop signal a second time exits at once, with the code of a death by it', async () => {
    const { worker, stuckRow } = await workerWithSweepPublishing();
    worker.kill('SIGINT');
    await waitFor('the stop under way', async () => logged(worker, 'stopping'), 30_000, 50);
    // Another stop signal is not a second request (npm start's Ctrl-C sends SIGINT, then its launcher SIGTERM).
    worker.kill('SIGTERM');
    worker.kill('SIGINT');
    expect(await exited(worker)).toEqual({ code: 130, signal: null });
    expect(logLines(worker).some((l) => l.msg.startsWith('stop cut short') && l.signal === 'SIGINT')).toBe(true);
    expect(logged(worker, 'stopped')).toBe(false);
    expect(await outboxIds()).toEqual([stuckRow]);
  }, 120_000);

  test('a SIGTERM cuts a scheduled reconcile in progress instead of waiting for it', async () => {
    // A lock on accounts stands in for a reconcile that reads for minutes: its first statement waits on it.
    // Taken once the worker has started and runs reconcile (every second): its next run waits.
    const worker = start({ WORKER_RECONCILE_INTERVAL_MS: '1000' });
    await waitFor('the worker running reconcile', async () => logged(worker, 'this worker runs the scheduled reconcile'), 60_000, 100);
    const locker = await db.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE');
      await waitFor('the reconcile waiting on the lock', async () => {
        // pg_locks, not pg_stat_activity: another role's statements are not shown there.
        const { rows } = await db.pool.query(`SELECT 1 FROM pg_locks WHERE relation = 'accounts'::regclass AND NOT granted`);
        return rows.length > 0;
      }, 60_000, 200);
      worker.kill('SIGTERM');
      // Exits while the lock is still held: the run was not waited for.
      expect(await exited(worker)).toEqual({ code: 0, signal: null });
      expect(logLines(worker).at(-1)).toMatchObject({ msg: 'stopped', signal: 'SIGTERM' });
      expect(logged(worker, 'the scheduled reconcile in progress is cut short')).toBe(true);
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      locker.release();
    }
  }, 120_000);

  test('a SIGTERM while the worker is still joining the group stops it once joined, and it leaves the group', async () => {
    const groupId = `${topics.prefix}.partition-workers`;
    // A member already in the group that does not rejoin while it holds a fetch: the group
    // waits for it (its rebalance timeout) before the worker's join can complete.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let fetching = false;
    const member = new PartitionConsumer({
      kafka: topics.kafka,
      topic: topics.names.commands,
      groupId,
      partitionsConcurrentMax: 1,
      fetchBytesMax: 1_000_000,
      fetchWaitMs: 100,
      fetchBytesMin: 1,
      group: { ...CONSUMER_GROUP_DEFAULTS, sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 60_000 },
      onAssignment: () => undefined,
      onFetch: async () => {
        fetching = true;
        await held;
      },
      log: () => undefined,
    });
    const producer = new BatchingProducer({ kafka: topics.kafka, lingerMs: 0, batchSizeMax: 10, bufferMessagesMax: 10, ackTimeoutMs: 5_000 });
    try {
      await member.start();
      await producer.start();
      await producer.publish({ topic: topics.names.commands, partition: 0, key: 'held', value: Buffer.from('not a command') });
      await waitFor('the member holding a fetch', async () => fetching, 30_000, 50);

      const opsPort = await freePort();
      const worker = start({ WORKER_OPS_PORT: String(opsPort) });
      // The ops server is up before the consumer joins (runtime.ts): the worker is joining now.
      await waitFor('the worker joining', async () => (await fetch(`http://127.0.0.1:${opsPort}/healthz`)).ok, 60_000, 50);
      worker.kill('SIGTERM');
      await waitFor('the SIGTERM taken', async () => worker.exitCode !== null || worker.signalCode !== null || (await topics.admin.describeGroup(groupId)).state === 'PreparingRebalance', 10_000, 50);
      release();
      expect(await exited(worker)).toEqual({ code: 0, signal: null });
      expect(logLines(worker).at(-1)).toMatchObject({ msg: 'stopped', signal: 'SIGTERM' });
      // It sent a LeaveGroup: only the test's member is left (a worker that died would stay a member for its session timeout).
      const group = await topics.admin.describeGroup(groupId);
      expect(group.members.map((m) => m.clientId).filter((id) => id.includes('stop-'))).toEqual([]);
    } finally {
      release();
      await producer.stop();
      await member.stop();
    }
  }, 180_000);
});
