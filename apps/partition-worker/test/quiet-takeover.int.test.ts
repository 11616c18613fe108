// Proves that what a partition's previous owner left unpublished goes out even when the
// partition stays quiet. A partition is claimed by its first fetch; after a stop that
// committed the group's offset past every command, the new owner has nothing to fetch, and
// before this test's fix the rows waited for the partition's next command (a transfer would
// have stayed PROCESSING for its credit leg; found by an outside review). Here the Kafka
// partition holds no message at all, so no fetch can be what sends them. Against the real
// Kafka, Postgres through PgBouncer and Redis.
import type { RoutingTable } from '@ledgerline/domain';
import { loadRouting } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { TestPublisher, allTerminal, deposit, openAccountOn } from '../../../test/support/ledger';
import { startWorker, waitFor } from '../../../test/support/worker';

describe('a quiet partition taken over', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let routing: RoutingTable;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    routing = await loadRouting(db.pool);
  });

  afterAll(async () => {
    await topics.delete();
    await db.drop();
  });

  const unpublished = async (partition: number) =>
    Number((await db.pool.query('SELECT count(*) AS n FROM outbox WHERE source_partition = $1 AND published_at IS NULL', [partition])).rows[0].n);
  const epochOf = async (partition: number) =>
    (await db.pool.query('SELECT epoch FROM partition_state WHERE topic = $1 AND partition = $2', [topics.names.commands, partition])).rows[0]?.epoch as string | undefined;

  test('rows its previous owner left unpublished are sent with no command to fetch', async () => {
    const target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
    // What a stop leaves when its relay cannot reach Kafka before the drain gives up: a
    // committed row of partition 0, unpublished. Partition 0 of the commands topic holds no
    // message at all, so no fetch can claim it: only the sweeper can.
    await db.pool.query(
      `INSERT INTO outbox (source_partition, topic, target_partition, message_key, payload) VALUES (0, 'events', NULL, $1, $2::jsonb)`,
      ['00000000-0000-4000-8000-00000000000a', JSON.stringify({ left: 'by the previous owner' })],
    );
    const epochBefore = await epochOf(0);
    const publisher = await TestPublisher.create(topics, db.pool);
    const worker = await startWorker(target);
    try {
      // The worker runs: a deposit on partition 1 is applied (that partition is claimed by its fetch).
      const account = await openAccountOn(db.pool, routing, 1, 'owner-quiet');
      const command = deposit(account, 100n);
      await publisher.publish(command);
      await waitFor('the deposit applied', () => allTerminal(db.pool, [command.transferId]));
      await waitFor('the leftover published by the new owner', async () => (await unpublished(0)) === 0, 30_000);
      // Claimed with no fetch: the sweeper took the partition before sending its rows.
      expect(BigInt((await epochOf(0)) ?? '-1')).toBeGreaterThan(BigInt(epochBefore ?? '-1'));
      expect(worker.fatal).toEqual([]);
    } finally {
      await worker.stop();
      await publisher.stop();
    }
  }, 120_000);
});
