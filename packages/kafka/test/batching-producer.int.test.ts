/**
 * BatchingProducer without a linger (lingerMs 0, the outbox relay's default): against the
 * real Kafka, what one event-loop turn publishes goes out as one produce request, what is
 * published while a request is in flight waits for it and forms the next one, and the
 * partition receives everything in publish order.
 */
import { BatchingProducer } from '@ledgerline/kafka';
import { kafkajsOf } from '../src/kafkajs';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';

describe('BatchingProducer with lingerMs 0 (smart batching)', () => {
  let topics: TestTopics;
  let producer: BatchingProducer;
  const requests: number[] = [];

  beforeAll(async () => {
    topics = await createTestTopics(1);
    producer = new BatchingProducer({ kafka: topics.kafka, lingerMs: 0, batchSizeMax: 1000, bufferMessagesMax: 10_000, ackTimeoutMs: 15_000 });
    producer.onBatch = (size, _ms, ok) => {
      if (ok) requests.push(size);
    };
    await producer.start();
  });

  afterAll(async () => {
    await producer.stop();
    await topics.delete();
  });

  const message = (i: number) => ({ topic: topics.names.commands, partition: 0, key: `k${i}`, value: `v${i}` });

  it('sends what one turn published as one request, and what arrives meanwhile as the next, in order', async () => {
    // One turn: 50 publishes -> one request.
    await Promise.all(Array.from({ length: 50 }, (_, i) => producer.publish(message(i))));
    expect(requests).toEqual([50]);

    // One message goes out alone; the 20 published once its request is in flight wait for it.
    const first = producer.publish(message(50));
    await new Promise((resolve) => setImmediate(resolve));
    const rest = Array.from({ length: 20 }, (_, i) => producer.publish(message(51 + i)));
    await Promise.all([first, ...rest]);
    expect(requests).toEqual([50, 1, 20]);

    // The partition holds all 71, in publish order.
    const consumer = kafkajsOf(topics.kafka).consumer({ groupId: `${topics.prefix}.check` });
    const keys: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: topics.names.commands, fromBeginning: true });
    const all = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message: m }) => {
          keys.push(String(m.key));
          if (keys.length === 71) resolve();
        },
      });
    });
    await all;
    await consumer.disconnect();
    expect(keys).toEqual(Array.from({ length: 71 }, (_, i) => `k${i}`));
  });

  it('a request carries at most requestBytesMax bytes: large messages published at once go out in several requests, all of them acknowledged', async () => {
    // 24 messages of 100 KB to one partition: 2.4 MB in one record batch would be refused by
    // the broker (message.max.bytes, 1 MiB) and, as a refused request is sent again until it
    // is taken, would never be acknowledged.
    requests.length = 0;
    const big = 'x'.repeat(100_000);
    await Promise.all(Array.from({ length: 24 }, (_, i) => producer.publish({ ...message(100 + i), value: big })));
    expect(requests.reduce((a, b) => a + b, 0)).toBe(24);
    expect(Math.max(...requests)).toBeLessThanOrEqual(7); // 7 x ~100 KB <= 768 KiB < 8 x ~100 KB
  }, 60_000);
});

