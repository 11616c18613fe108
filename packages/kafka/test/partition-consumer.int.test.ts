// The conformance suite of the Kafka port's consumer side, against the real broker: what the
// partition worker relies on, whatever client library sits behind PartitionConsumer. It
// reports its assignment, hands over each partition's messages in offset order, moves the
// fetch position on only past what was marked processed, seeks, and commits group offsets.
import { Kafka, logLevel } from 'kafkajs';
import { BatchingProducer, type ConsumedMessage, type PartitionFetch, PartitionConsumer } from '../src';
import { testServices } from '../../../test/support/env';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { waitFor } from '../../../test/support/worker';

const PARTITIONS = 2;

describe('PartitionConsumer (the Kafka port, consumer side)', () => {
  let topics: TestTopics;
  let producer: BatchingProducer;

  beforeAll(async () => {
    topics = await createTestTopics(PARTITIONS);
    producer = new BatchingProducer({ kafka: topics.kafka, lingerMs: 1, batchSizeMax: 100, bufferMessagesMax: 10_000, ackTimeoutMs: 10_000 });
    await producer.start();
  });

  afterAll(async () => {
    await producer.stop();
    await topics.delete();
  });

  const publish = (partition: number, values: string[]) =>
    Promise.all(values.map((value) => producer.publish({ topic: topics.names.commands, partition, key: `k${partition}`, value })));

  function consumerFor(groupId: string, onFetch: (fetched: PartitionFetch) => Promise<void>, assignments: number[][] = []) {
    return new PartitionConsumer({
      kafka: topics.kafka,
      topic: topics.names.commands,
      groupId,
      partitionsConcurrentMax: PARTITIONS,
      fetchBytesMax: 1_024,
      fetchWaitMs: 10,
      fetchBytesMin: 1,
      onAssignment: (partitions) => assignments.push(partitions),
      onFetch,
      log: () => undefined,
    });
  }

  test('reports its assignment and hands over each partition in offset order, each message once when marked processed', async () => {
    await publish(0, Array.from({ length: 30 }, (_, i) => `a${i}`));
    await publish(1, Array.from({ length: 30 }, (_, i) => `b${i}`));
    const seen = new Map<number, string[]>([[0, []], [1, []]]);
    const assignments: number[][] = [];
    const consumer = consumerFor(`${topics.prefix}-order`, async (fetched) => {
      expect(fetched.isActive()).toBe(true);
      for (const m of fetched.messages) seen.get(fetched.partition)!.push(m.value!.toString());
      fetched.markProcessed(BigInt(fetched.messages[fetched.messages.length - 1]!.offset));
      await fetched.heartbeat();
    }, assignments);
    await consumer.start();
    try {
      await waitFor('all 60 consumed', async () => seen.get(0)!.length >= 30 && seen.get(1)!.length >= 30, 30_000);
      await new Promise((resolve) => setTimeout(resolve, 500)); // nothing comes twice meanwhile
      expect(seen.get(0)).toEqual(Array.from({ length: 30 }, (_, i) => `a${i}`));
      expect(seen.get(1)).toEqual(Array.from({ length: 30 }, (_, i) => `b${i}`));
      expect(assignments.at(-1)).toEqual([0, 1]);
    } finally {
      await consumer.stop();
    }
  });

  test('a fetch not marked processed is fetched again; seek restarts a partition where asked; commits store the group offset', async () => {
    const group = `${topics.prefix}-seek`;
    const offsets: string[] = [];
    let refusals = 1;
    let sought = false;
    const consumer = consumerFor(group, async (fetched) => {
      if (fetched.partition !== 0) {
        fetched.markProcessed(BigInt(fetched.messages[fetched.messages.length - 1]!.offset));
        return;
      }
      const first = fetched.messages[0] as ConsumedMessage;
      offsets.push(first.offset);
      if (refusals-- > 0) return; // not marked: the same messages come again
      if (!sought && BigInt(first.offset) === 0n) {
        sought = true;
        fetched.seek(10n);
        return;
      }
      fetched.markProcessed(BigInt(fetched.messages[fetched.messages.length - 1]!.offset));
    });
    await consumer.start();
    try {
      await waitFor('partition 0 read after the seek', async () => offsets.includes('10'), 30_000);
      expect(offsets.slice(0, 2)).toEqual(['0', '0']);
      expect(await consumer.commitOffsets([{ partition: 0, offset: 30n }])).toBe(true);
    } finally {
      await consumer.stop();
    }
    expect((await topics.admin.groupOffsets(group, topics.names.commands)).get(0)).toBe(30n);
  });

  // The worker applies a fetch that starts past its next offset only when the fetch was read
  // from that offset (fetchedFrom): what lies between then holds no record a consumer is given.
  // Another client's transactional write leaves its commit marker at such an offset.
  test('fetchedFrom is the offset a fetch was read from: a transaction marker before its first message', async () => {
    const foreign = new Kafka({ brokers: testServices().kafkaBrokers, clientId: `${topics.prefix}-tx`, logLevel: logLevel.NOTHING });
    const transactional = foreign.producer({ transactionalId: `${topics.prefix}-tx`, idempotent: true, maxInFlightRequests: 1 });
    await transactional.connect();
    const before = (await topics.admin.highWatermarks(topics.names.commands)).get(1)!;
    const tx = await transactional.transaction();
    await tx.send({ topic: topics.names.commands, messages: [{ partition: 1, key: 'k1', value: 'in a transaction' }] });
    await tx.commit(); // the message at offset n, its commit marker at n + 1
    await transactional.disconnect();
    // The coordinator writes the marker after the commit returns: wait for it, so that the
    // next message lands after it (on a fresh cluster it once landed before).
    await waitFor('the commit marker written', async () => (await topics.admin.highWatermarks(topics.names.commands)).get(1)! >= before + 2n, 30_000);

    await publish(1, ['after the marker']);
    const fetches: { fetchedFrom: bigint; messages: { offset: string; value: string }[] }[] = [];
    let marker: bigint | null = null;
    let sought = false;
    const consumer = consumerFor(`${topics.prefix}-gap`, async (fetched) => {
      fetched.markProcessed(BigInt(fetched.messages.at(-1)!.offset));
      if (fetched.partition !== 1) return;
      const messages = fetched.messages.map((m) => ({ offset: m.offset, value: m.value!.toString() }));
      fetches.push({ fetchedFrom: fetched.fetchedFrom, messages });
      const transactional = messages.find((m) => m.value === 'in a transaction');
      if (transactional) marker = BigInt(transactional.offset) + 1n;
      // As the worker does when its next offset is the marker's: read from there again.
      if (marker !== null && !sought && messages.some((m) => m.value === 'after the marker')) {
        sought = true;
        fetched.seek(marker);
      }
    });
    await consumer.start();
    try {
      const reread = () => (sought ? fetches.filter((f) => f.messages[0]?.value === 'after the marker').at(-1) : undefined);
      await waitFor('the fetch read from the marker', async () => reread() !== undefined && reread()!.fetchedFrom === marker, 30_000);
      // Read from the marker's offset; the marker is not handed over, the next message is.
      expect(reread()!.messages[0]!.offset).toBe(String(marker! + 1n));
    } finally {
      await consumer.stop();
    }
  });
  // The worker hands back a partition whose write failed for an operating reason, to be
  // retried after a backoff; its other partitions must not wait for that (a handler that
  // waited inside its fetch held back the member's next fetch, so all of them).
  test('retryLater: the partition is not fetched again before the delay, then from the offset given; the others are fetched meanwhile', async () => {
    await publish(0, ['r0-a', 'r0-b']);
    await publish(1, ['r1-a']);
    const p0: { at: number; first: bigint }[] = [];
    const p1: { at: number; values: string[] }[] = [];
    let handedBackAt = 0;
    const consumer = consumerFor(`${topics.prefix}-retry-later`, async (fetched) => {
      const last = BigInt(fetched.messages.at(-1)!.offset);
      if (fetched.partition === 1) {
        p1.push({ at: Date.now(), values: fetched.messages.map((m) => m.value!.toString()) });
        fetched.markProcessed(last);
        return;
      }
      const first = BigInt(fetched.messages[0]!.offset);
      p0.push({ at: Date.now(), first });
      if (p0.length === 1) {
        handedBackAt = Date.now();
        fetched.retryLater(first, 3_000);
        return;
      }
      fetched.markProcessed(last);
    });
    await consumer.start();
    try {
      await waitFor('partition 0 handed back', async () => handedBackAt > 0, 30_000);
      await publish(1, ['r1-during']);
      await waitFor('partition 1 fetched while partition 0 waits', async () => p1.some((f) => f.values.includes('r1-during')), 30_000);
      const during = p1.find((f) => f.values.includes('r1-during'))!;
      expect(p0).toHaveLength(1);
      await waitFor('partition 0 fetched again', async () => p0.length >= 2, 30_000);
      expect(during.at).toBeLessThan(p0[1]!.at);
      expect(p0[1]!.at - handedBackAt).toBeGreaterThanOrEqual(3_000);
      expect(p0[1]!.first).toBe(p0[0]!.first);
    } finally {
      await consumer.stop();
    }
  });
  test('retryLater: a new group generation ends the wait (kafkajs would keep the partition paused)', async () => {
    await publish(0, ['g0']);
    const group = `${topics.prefix}-retry-generation`;
    const assignments: number[][] = [];
    const p0: number[] = [];
    const consumer = consumerFor(group, async (fetched) => {
      const last = BigInt(fetched.messages.at(-1)!.offset);
      if (fetched.partition === 0) {
        p0.push(Date.now());
        if (p0.length === 1) return fetched.retryLater(BigInt(fetched.messages[0]!.offset), 120_000);
      }
      fetched.markProcessed(last);
    }, assignments);
    const other = consumerFor(group, async (fetched) => fetched.markProcessed(BigInt(fetched.messages.at(-1)!.offset)));
    await consumer.start();
    try {
      await waitFor('partition 0 handed back for two minutes', async () => p0.length === 1, 30_000);
      const generations = assignments.length;
      await other.start();
      await waitFor('a second member joined', async () => assignments.length > generations && assignments.at(-1)!.length === 1, 60_000);
      await other.stop();
      await waitFor('both partitions back', async () => assignments.at(-1)!.length === 2, 60_000);
      await waitFor('partition 0 fetched again long before its two minutes', async () => p0.length >= 2, 30_000);
    } finally {
      await other.stop();
      await consumer.stop();
    }
  }, 180_000);
  // kafkajs can rejoin the group from inside one broker's fetch while another broker's
  // handler still runs (an outside review of the change): that handler's retryLater, made
  // after the new generation began, must not pause the partition in it.
  test('retryLater from a fetch of an ended generation does nothing', async () => {
    const group = `${topics.prefix}-retry-stale`;
    const assignments: number[][] = [];
    let stale: PartitionFetch | null = null;
    const seen: string[] = [];
    const consumer = consumerFor(group, async (fetched) => {
      if (fetched.partition === 0) {
        stale ??= fetched;
        for (const m of fetched.messages) seen.push(m.value!.toString());
      }
      fetched.markProcessed(BigInt(fetched.messages.at(-1)!.offset));
    }, assignments);
    const other = consumerFor(group, async (fetched) => fetched.markProcessed(BigInt(fetched.messages.at(-1)!.offset)));
    await publish(0, ['s0']);
    await consumer.start();
    try {
      await waitFor('a fetch of partition 0 kept', async () => stale !== null, 30_000);
      const generations = assignments.length;
      await other.start();
      await waitFor('a second member joined', async () => assignments.length > generations && assignments.at(-1)!.length === 1, 60_000);
      await other.stop();
      await waitFor('both partitions back', async () => assignments.at(-1)!.length === 2, 60_000);
      (stale as unknown as PartitionFetch).retryLater(0n, 120_000);
      await publish(0, ['s1-after']);
      await waitFor('partition 0 still fetched in the new generation', async () => seen.includes('s1-after'), 30_000);
    } finally {
      await other.stop();
      await consumer.stop();
    }
  }, 180_000);
});
