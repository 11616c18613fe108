// A member whose view of the consumer group went stale (it still fetches partitions the group
// gave to someone else) leaves and joins again once another owner keeps fencing one of its
// partitions (fence-storm.ts). The "other owner" here is the test claiming the partition in
// Postgres, as a second worker assigned the same partition would. Without the rejoin the
// worker keeps its membership, re-claims after every fence, and the first test times out.
import { claimPartition, loadRouting } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { TestPublisher, allTerminal, deposit, openAccountOn } from '../../../test/support/ledger';
import { startWorker, waitFor } from '../../../test/support/worker';

const PARTITIONS = 2;

describe('a member fenced again and again while assigned rejoins the group', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let publisher: TestPublisher;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let groupId: string;

  beforeAll(async () => {
    db = await createTestDatabase(PARTITIONS);
    topics = await createTestTopics(PARTITIONS);
    publisher = await TestPublisher.create(topics, db.pool);
    worker = await startWorker({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` });
    groupId = `${topics.prefix}.partition-workers`;
  });

  afterAll(async () => {
    await worker.stop();
    expect(worker.fatal).toEqual([]);
    await publisher.stop();
    await topics.delete();
    await db.drop();
  });

  async function members(): Promise<string[]> {
    return (await topics.admin.describeGroup(groupId)).members.map((m) => m.memberId);
  }

  test('three fences of one assigned partition make it leave and join again; its commands are all applied', async () => {
    const routing = await loadRouting(db.pool);
    const account = await openAccountOn(db.pool, routing, 0, 'rejoin');
    const first = deposit(account, 1n);
    await publisher.publish(first);
    await waitFor('the first deposit applied', () => allTerminal(db.pool, [first.transferId]), 30_000);
    const [before] = await members();
    expect(before).toBeDefined();

    const applied = [first.transferId];
    for (let steal = 0; steal < 3; steal++) {
      // Another owner claims partition 0; the worker's next write there is fenced.
      await claimPartition(db.pool, topics.names.commands, 0, `another-member-${steal}`);
      const next = deposit(account, 1n);
      await publisher.publish(next);
      applied.push(next.transferId);
      await waitFor(`deposit ${steal + 2} applied`, () => allTerminal(db.pool, [next.transferId]), 30_000);
    }

    await waitFor('a new membership', async () => {
      const now = await members();
      return now.length === 1 && now[0] !== before;
    }, 30_000);
    // And it works on: a deposit after the rejoin is applied.
    const last = deposit(account, 1n);
    await publisher.publish(last);
    await waitFor('the deposit after the rejoin applied', () => allTerminal(db.pool, [...applied, last.transferId]), 30_000);
    const { rows } = await db.pool.query<{ balance: string }>('SELECT balance FROM accounts WHERE id = $1', [account]);
    expect(rows[0]!.balance).toBe('5');
  });
});
