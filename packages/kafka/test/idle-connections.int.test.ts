/**
 * An idle client costs nothing between requests: against the real broker, a producer that has
 * published and an admin that has listed topics run no request-queue checks while they wait
 * (kafkajs 2.2.4 ran one about every millisecond on each connection; src/idle-timer-fix.ts,
 * which createKafka installs).
 */
import { BatchingProducer } from '@ledgerline/kafka';
import { kafkajsRequestQueue } from '../src/idle-timer-fix';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';

describe('idle Kafka connections', () => {
  let topics: TestTopics;
  let producer: BatchingProducer;

  beforeAll(async () => {
    topics = await createTestTopics(1);
    producer = new BatchingProducer({ kafka: topics.kafka, lingerMs: 0, batchSizeMax: 100, bufferMessagesMax: 100, ackTimeoutMs: 15_000 });
    await producer.start();
  });

  afterAll(async () => {
    await producer.stop();
    await topics.delete();
  });

  it('run no request-queue checks while nothing is sent', async () => {
    await producer.publish({ topic: topics.names.commands, partition: 0, key: 'k', value: 'v' });
    await topics.admin.highWatermarks(topics.names.commands);

    const prototype = kafkajsRequestQueue().prototype;
    const check = prototype.checkPendingRequests;
    let checks = 0;
    prototype.checkPendingRequests = function counted(this: typeof prototype) {
      checks += 1;
      check.call(this);
    };
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      prototype.checkPendingRequests = check;
    }
    // Unfixed, each of the producer's and the admin's connections checks ~300 times here.
    expect(checks).toBe(0);
  });
});
