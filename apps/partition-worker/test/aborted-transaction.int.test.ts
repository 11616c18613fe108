// Another client's transactional write that is aborted leaves aborted records and an abort
// marker: offsets no consumer is given. kafkajs resolves a fetch that holds only such records
// itself (runner.js, isEmptyDueToFiltering) and hands the worker nothing; when they fill more
// than one fetch (WORKER_FETCH_BYTES_MAX), the worker's next fetch is read from past its
// next offset, and it must still apply from there, not seek back to them forever.
import { Kafka, logLevel } from 'kafkajs';
import { listPartitionStates, loadRouting } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { TestPublisher, allTerminal, balanceOf, deposit, openAccountOn } from '../../../test/support/ledger';
import { testServices } from '../../../test/support/env';
import { startWorker, waitFor } from '../../../test/support/worker';

describe('an aborted transaction larger than a fetch', () => {
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

  test('does not stop the partition: the deposit after it is applied', async () => {
    const target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
    const publisher = await TestPublisher.create(topics, db.pool);
    const routing = await loadRouting(db.pool);
    const account = await openAccountOn(db.pool, routing, 0, 'aborted-owner');
    const foreign = new Kafka({ brokers: testServices().kafkaBrokers, clientId: `${topics.prefix}-abort`, logLevel: logLevel.NOTHING });
    const producer = foreign.producer({ transactionalId: `${topics.prefix}-abort`, idempotent: true, maxInFlightRequests: 1 });
    const worker = await startWorker(target, { WORKER_FETCH_BYTES_MAX: '1024' });
    try {
      const first = deposit(account, 1n);
      await publisher.publish(first);
      await waitFor('the first deposit applied', () => allTerminal(db.pool, [first.transferId]), 30_000);
      // Five record batches of ~700 bytes each, aborted: each fetch of 1 KiB holds one.
      await producer.connect();
      const tx = await producer.transaction();
      for (let i = 0; i < 5; i++) await tx.send({ topic: topics.names.commands, messages: [{ partition: 0, key: 'foreign', value: 'x'.repeat(700) }] });
      await tx.abort();
      const start = (await listPartitionStates(db.pool, topics.names.commands))[0]!.nextOffset;
      await waitFor('the abort marker written', async () => (await topics.admin.highWatermarks(topics.names.commands)).get(0)! >= start + 6n, 30_000);
      const after = deposit(account, 5n);
      await publisher.publish(after);
      await waitFor('the deposit after the aborted transaction applied', () => allTerminal(db.pool, [after.transferId]), 30_000);
      expect(await balanceOf(db.pool, account)).toBe(6n);
    } finally {
      await producer.disconnect();
      await worker.stop();
      await publisher.stop();
    }
  }, 90_000);
});
