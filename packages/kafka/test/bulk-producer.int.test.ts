/**
 * BulkProducer (the harnesses' backlog filler) against the real broker: each message lands in
 * the partition it names, and sends made one request at a time keep their order.
 */
import { BulkProducer, type OutgoingMessage } from '@ledgerline/kafka';
import { kafkajsOf } from '../src/kafkajs';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';

describe('BulkProducer', () => {
  let topics: TestTopics;

  beforeAll(async () => {
    topics = await createTestTopics(3);
  });

  afterAll(async () => {
    await topics.delete();
  });

  it('appends keyed messages to the partitions they name, in the order of the sends', async () => {
    const producer = new BulkProducer({ kafka: topics.kafka, idempotent: true, requestsInFlightMax: 1 });
    const topic = topics.names.commands;
    const message = (i: number): OutgoingMessage => ({ topic, partition: i % 3, key: `k${i}`, value: `v${i}` });
    try {
      for (let start = 0; start < 90; start += 30) await producer.send(Array.from({ length: 30 }, (_, i) => message(start + i)));
    } finally {
      await producer.close();
    }
    expect(await topics.admin.highWatermarks(topic)).toEqual(new Map([[0, 30n], [1, 30n], [2, 30n]]));

    const consumer = kafkajsOf(topics.kafka).consumer({ groupId: `${topics.prefix}.check` });
    const byPartition = new Map<number, string[]>();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      let seen = 0;
      void consumer.run({
        eachMessage: async ({ partition, message: m }) => {
          byPartition.set(partition, [...(byPartition.get(partition) ?? []), String(m.key)]);
          if (++seen === 90) resolve();
        },
      });
    });
    await consumer.disconnect();
    for (const partition of [0, 1, 2]) {
      expect(byPartition.get(partition)).toEqual(Array.from({ length: 30 }, (_, i) => `k${i * 3 + partition}`));
    }
  });
});
