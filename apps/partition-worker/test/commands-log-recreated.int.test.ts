// Proves that a partition whose Kafka log now ends below the offset already applied (the
// commands topic deleted and created again, or truncated) stops and says so, rather than take
// the new log's commands for applied ones. The applier skips messages below the stored
// next_offset as applied before (exactly-once); offsets that start again at 0 made every
// command acknowledged by Kafka after the topic came back, up to the old offset, be skipped
// without a word, readiness ok (an outside fault review). Now none is applied, /readyz names
// the partition, and once the operator has said where the new log starts (next_offset, as
// the schema owner), a worker that claims the partition applies them.
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaAdmin, SINGLE_BROKER_DURABILITY } from '@ledgerline/kafka';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { TestPublisher, balanceOf, deposit, openAccount } from '../../../test/support/ledger';
import { ledgerctlFor } from '../../../test/support/ledgerctl';
import { startWorker, waitFor } from '../../../test/support/worker';

describe('a commands topic created again under a partition that applied commands', () => {
  let db: TestDatabase;
  let topics: TestTopics;

  beforeAll(async () => {
    db = await createTestDatabase(1);
    topics = await createTestTopics(1);
  });

  afterAll(async () => {
    await topics.delete();
    await db.drop();
  });

  const nextOffset = async () => BigInt((await db.pool.query('SELECT next_offset FROM partition_state WHERE partition = 0')).rows[0].next_offset as string);

  test("the new log's commands are not skipped as applied: the partition stops, readiness fails on it", async () => {
    const target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
    const extra = { WORKER_WRITES_FAILING_UNREADY_MS: '1000', WORKER_WRITE_RETRY_DELAY_FIRST_MS: '50', WORKER_WRITE_RETRY_DELAY_MAX_MS: '200' };
    const account = await openAccount(db.pool, 'gina');
    let publisher = await TestPublisher.create(topics, db.pool);
    let worker = await startWorker(target, extra);
    for (const amount of [1n, 2n, 4n, 8n]) await publisher.publish(deposit(account, amount));
    await waitFor('four deposits applied', async () => (await balanceOf(db.pool, account)) === 15n);
    expect(await nextOffset()).toBe(4n);
    await worker.stop();
    await publisher.stop();

    // The topic goes and comes back empty: its offsets start at 0 again.
    const admin = new KafkaAdmin(topics.kafka);
    try {
      await admin.deleteTopics([topics.names.commands]);
      await waitFor('the topic gone', async () => {
        await sleep(200);
        await admin.ensureTopics(topics.names, 1, SINGLE_BROKER_DURABILITY);
        return true;
      });
    } finally {
      await admin.close();
    }
    publisher = await TestPublisher.create(topics, db.pool);
    for (const amount of [16n, 32n]) await publisher.publish(deposit(account, amount)); // offsets 0 and 1, acknowledged

    worker = await startWorker(target, extra);
    try {
      const readyz = await waitFor('readiness failing on the partition', async () => {
        const res = await fetch(`http://127.0.0.1:${worker.opsPort}/readyz`);
        const body = await res.text();
        return res.status === 503 ? body : null;
      });
      expect(readyz).toContain('partitions');
      // What the log line and the readiness check name as the partition's last error.
      expect(worker.worker.ownership().find((o) => o.partition === 0)?.writesFailing?.error).toContain('recreated or truncated');
      expect(await nextOffset()).toBe(4n);
      expect(await balanceOf(db.pool, account)).toBe(15n);
      // ledgerctl workers shows the log ending below the stored offset: lag 2 - 4 = -2 (it
      // was shown 0 for a while: an outside review).
      const listed = await ledgerctlFor(target)(['workers']);
      expect(listed.code).toBe(0);
      expect(listed.out).toMatch(/\n0 .* 4 +-2 +-\s*\n/);
    } finally {
      await worker.stop();
    }

    // The operator says where the new log starts; the next claim applies its commands.
    await db.pool.query('UPDATE partition_state SET next_offset = 0 WHERE partition = 0');
    worker = await startWorker(target, extra);
    try {
      await waitFor('the new log applied', async () => (await balanceOf(db.pool, account)) === 63n);
      expect(worker.fatal).toEqual([]);
    } finally {
      await worker.stop();
      await publisher.stop();
    }
  });
});
