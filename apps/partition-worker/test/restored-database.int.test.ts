// Proves that a worker fetches each partition from the next offset Postgres stored for it, even
// when the consumer group's committed offset (only a hint) stands past it: Postgres restored
// from a backup taken before commands Kafka still holds. The worker used to seek back to the
// stored offset only when a fetch came, and with the hint at the log's end none came until a
// new command did: a ws1 restore left ~2,700 accepted commands unapplied for minutes, readiness
// ok, lag shown by `ledgerctl workers` (docs/operations.md).
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { insertUserAccount } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { TestPublisher, balanceOf, deposit } from '../../../test/support/ledger';
import { startWorker, waitFor } from '../../../test/support/worker';

describe('a database restored from a backup older than the group offset', () => {
  let live: TestDatabase;
  let restored: TestDatabase;
  let topics: TestTopics;

  beforeAll(async () => {
    [live, restored] = await Promise.all([createTestDatabase(1), createTestDatabase(1)]);
    topics = await createTestTopics(1);
  });

  afterAll(async () => {
    await topics.delete();
    await Promise.all([live.drop(), restored.drop()]);
  });

  const nextOffset = async (db: TestDatabase) =>
    BigInt((await db.pool.query('SELECT next_offset FROM partition_state WHERE partition = 0')).rows[0]?.next_offset ?? '-1');

  test('the commands past the restored offset are applied again, once, with no new command to wake the fetch', async () => {
    // The same account in both: `restored` is the backup, taken before the deposits.
    const account = randomUUID();
    for (const db of [live, restored]) {
      await insertUserAccount(db.pool, { id: account, owner: 'hana', currency: 'USD', overdraftLimit: 0n, metadata: {}, requestHash: 'test' });
    }
    // The backup's partition had been claimed, with nothing applied yet: its stored offset is 0.
    await restored.pool.query('INSERT INTO partition_state (topic, partition, next_offset, epoch) VALUES ($1, 0, 0, 1)', [topics.names.commands]);
    const publisher = await TestPublisher.create(topics, live.pool);
    const target = { topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
    try {
      // Applied by the live database's worker, whose stop commits the group's offset (4).
      const first = await startWorker({ ...target, databaseUrl: live.url });
      try {
        for (const amount of [1n, 2n, 4n, 8n]) await publisher.publish(deposit(account, amount));
        await waitFor('four deposits applied', async () => (await balanceOf(live.pool, account)) === 15n);
      } finally {
        await first.stop();
      }
      expect(await nextOffset(live)).toBe(4n);

      // The restored database has applied none of them; no command arrives after the restore.
      const second = await startWorker({ ...target, databaseUrl: restored.url });
      try {
        await waitFor('the four deposits applied again from Kafka', async () => (await balanceOf(restored.pool, account)) === 15n, 20_000);
        await sleep(500); // a copy applied twice would show by now
        expect(await balanceOf(restored.pool, account)).toBe(15n);
        expect(await nextOffset(restored)).toBe(4n);
        expect(second.fatal).toEqual([]);
      } finally {
        await second.stop();
      }
    } finally {
      await publisher.stop();
    }
  });
});
