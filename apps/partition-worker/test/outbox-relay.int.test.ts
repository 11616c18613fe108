// Proves that the outbox relay never lets a later row overtake an earlier one of the same
// partition, across a real publish failure: the broker is paused (SIGSTOP) while rows are being
// relayed, its requests time out, and once it is back every row arrives, in commit order,
// none skipped. Against the real Kafka (and Postgres for the published marks).
import { RoutingTable } from '@ledgerline/domain';
import { BatchingProducer, PartitionConsumer, createKafka } from '@ledgerline/kafka';
import { type OutboxRow, markOutboxPublished } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { testServices } from '../../../test/support/env';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { stack } from '../../../test/support/stack';
import { waitFor } from '../../../test/support/worker';
import { OutboxRelay } from '../src/outbox-relay';
import { PublishedMarks } from '../src/published-marks';

const ROWS = 60;

describe('outbox relay order across a publish failure', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let paused = false;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
  });

  afterAll(async () => {
    if (paused) stack('resume-service', 'kafka');
    await topics.delete();
    await db.drop();
  });

  test('rows relayed while the broker is paused arrive after it resumes, all of them, in commit order', async () => {
    // Short request timeouts, so the paused broker makes produce requests fail (and be resent).
    const kafka = createKafka({ brokers: testServices().kafkaBrokers, clientId: `${topics.prefix}-relay`, requestTimeoutMs: 1_000 });
    const producer = new BatchingProducer({ kafka, lingerMs: 1, batchSizeMax: 7, bufferMessagesMax: 10_000, ackTimeoutMs: 1_000 });
    await producer.start();
    let failedRequests = 0;
    producer.onBatch = (_size, _ms, ok) => {
      if (!ok) failedRequests++;
    };
    const marks = new PublishedMarks({ mark: (ids) => markOutboxPublished(db.pool, ids), intervalMs: 100, pendingMax: 10_000, idsPerFlushMax: 1_000, log: () => undefined });
    marks.start();
    const routing = RoutingTable.initial(2);
    const key = '00000000-0000-4000-8000-000000000001';
    const target = routing.partitionOf(key);
    const relay = new OutboxRelay({ producer, pool: db.pool, marks, topics: topics.names, routing: () => routing, log: () => undefined, pendingRowsMax: 10_000 });
    const row = (i: number): OutboxRow => ({ id: BigInt(i + 1), topic: 'commands', targetPartition: target, key, payload: JSON.stringify({ n: i }) });

    try {
      // A first handful go out normally; the rest are committed (relayed) while the broker is
      // paused, in several commits, as the apply loop would hand them over.
      relay.relay(0, Array.from({ length: 5 }, (_, i) => row(i)));
      await waitFor('first rows published', async () => relay.published >= 5);
      stack('pause-service', 'kafka');
      paused = true;
      for (let i = 5; i < ROWS; i += 11) relay.relay(0, Array.from({ length: Math.min(11, ROWS - i) }, (_, j) => row(i + j)));
      // Long enough for kafkajs's own retries to give up: produce requests really fail.
      await waitFor('a produce request failed', async () => failedRequests > 0, 30_000);
      expect(relay.published).toBe(5);
      stack('resume-service', 'kafka');
      paused = false;
      await waitFor('every row published', async () => relay.published >= ROWS, 60_000);
    } finally {
      await relay.drain();
      await marks.stop();
      await producer.stop();
    }

    const seen = await readPartition(topics, target, ROWS);
    // Resends may repeat a row (consumers dedupe), but never out of order and never a gap:
    // dropping repeats leaves 0..ROWS-1 exactly.
    const firsts = seen.filter((n, i) => seen.indexOf(n) === i);
    expect(firsts).toEqual(Array.from({ length: ROWS }, (_, i) => i));
    for (let i = 1; i < seen.length; i++) {
      if (seen[i]! < seen[i - 1]!) expect(seen.slice(0, i)).toContain(seen[i]); // a repeat, not an overtaking
    }
  }, 120_000);
});

/** The payload numbers on one partition of the commands topic, in offset order. */
async function readPartition(topics: TestTopics, partition: number, atLeast: number): Promise<number[]> {
  const seen: number[] = [];
  const consumer = new PartitionConsumer({
    kafka: topics.kafka,
    topic: topics.names.commands,
    groupId: `${topics.prefix}-reader`,
    partitionsConcurrentMax: 1,
    fetchBytesMax: 1_048_576,
    fetchWaitMs: 50,
    fetchBytesMin: 1,
    onAssignment: () => undefined,
    onFetch: async (fetched) => {
      if (fetched.partition === partition) for (const m of fetched.messages) seen.push((JSON.parse(m.value!.toString()) as { n: number }).n);
      if (fetched.messages.length > 0) fetched.markProcessed(BigInt(fetched.messages[fetched.messages.length - 1]!.offset));
    },
    log: () => undefined,
  });
  await consumer.start();
  try {
    await waitFor(`${atLeast} messages read`, async () => new Set(seen).size >= atLeast, 60_000);
  } finally {
    await consumer.stop();
  }
  return seen;
}
