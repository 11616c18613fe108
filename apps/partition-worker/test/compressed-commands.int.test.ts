// Proves that a batch another client compressed with a codec kafkajs does not have (Snappy
// here; LZ4 and ZSTD alike) cannot stop a partition (docs/design.md invariant 10), against a
// real worker, Kafka, Postgres and Redis. The commands topic's compression.type=uncompressed
// (packages/kafka/src/topics.ts) has the broker store the batch uncompressed, so the worker
// reads its records like any others: a valid command in it is applied, one that does not
// decode is dead-lettered with its bytes, and the next command of the partition is applied.
// Without it kafkajs fails the whole fetch ("Snappy compression not implemented"), before
// the worker sees a record, again at every restart: the partition, and with each rebalance
// every partition, stops.
import type { RoutingTable } from '@ledgerline/domain';
import { listDeadLetters, loadRouting } from '@ledgerline/postgres';
import { encodeCommand } from '@ledgerline/schemas';
import { CompressionCodecs, CompressionTypes, Kafka, type Message, logLevel } from 'kafkajs';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { testServices } from '../../../test/support/env';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { TestPublisher, allTerminal, balanceOf, deposit, openAccountOn, testSeal, transferStatuses } from '../../../test/support/ledger';
import { startWorker, waitFor } from '../../../test/support/worker';

const PARTITIONS = 2;

/**
 * Sends `messages` as one record batch compressed with Snappy, as a Java producer with
 * compression.type=snappy does: kafkajs itself, not ledgerline's Kafka port, since it plays
 * a client that is not ledgerline's (no producer of ours compresses). kafkajs keeps its codecs in one table for the whole process,
 * so the Snappy codec (kafkajs-snappy, a test-only devDependency) is lent for this send only
 * and taken back before any worker starts: the worker must read without it, as in production.
 */
async function sendSnappyBatch(topic: string, messages: Message[]): Promise<void> {
  const unimplemented = CompressionCodecs[CompressionTypes.Snappy];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  CompressionCodecs[CompressionTypes.Snappy] = require('kafkajs-snappy') as () => unknown; // it has no types
  const producer = new Kafka({ brokers: testServices().kafkaBrokers, clientId: 'snappy-producer', logLevel: logLevel.NOTHING }).producer();
  try {
    await producer.connect();
    await producer.send({ topic, compression: CompressionTypes.Snappy, messages });
  } finally {
    await producer.disconnect();
    CompressionCodecs[CompressionTypes.Snappy] = unimplemented;
  }
}

describe('a compressed batch from another client cannot stop a partition', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let routing: RoutingTable;
  let publisher: TestPublisher;
  let worker: Awaited<ReturnType<typeof startWorker>> | null = null;

  beforeAll(async () => {
    db = await createTestDatabase(PARTITIONS);
    topics = await createTestTopics(PARTITIONS);
    routing = await loadRouting(db.pool);
    publisher = await TestPublisher.create(topics, db.pool);
  });

  afterAll(async () => {
    await worker?.stop();
    expect(worker?.fatal).toEqual([]);
    await publisher.stop();
    await topics.delete();
    await db.drop();
  });

  test('a Snappy batch is read uncompressed: its command applied, its garbage dead-lettered, and the partition keeps applying', async () => {
    const account = await openAccountOn(db.pool, routing, 0, 'owner-snappy');
    const elsewhere = await openAccountOn(db.pool, routing, 1, 'owner-elsewhere');
    const compressed = deposit(account, 5n);
    const garbage = 'not a command';
    await sendSnappyBatch(topics.names.commands, [
      { partition: 0, key: account, value: encodeCommand(compressed, testSeal) },
      { partition: 0, key: 'garbage', value: garbage },
    ]);
    worker = await startWorker({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` });
    const after = deposit(account, 7n);
    const other = deposit(elsewhere, 3n);
    await publisher.publish(after);
    await publisher.publish(other);
    const ids = [compressed.transferId, after.transferId, other.transferId];
    await waitFor('the commands around the Snappy batch applied', () => allTerminal(db.pool, ids), 30_000);

    expect(await transferStatuses(db.pool, ids)).toEqual(new Map(ids.map((id) => [id, { status: 'COMPLETED', reason: null }])));
    expect(await balanceOf(db.pool, account)).toBe(12n);
    expect(await balanceOf(db.pool, elsewhere)).toBe(3n);
    const letters = (await listDeadLetters(db.pool, { limit: 100 })).map((row) => row.letter);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.reason).toMatch(/^not JSON/);
    expect(Buffer.from(letters[0]!.value_base64 as string, 'base64').toString()).toBe(garbage);
  });
});
