/**
 * A publish whose deadline passed before any request carried it is told "not sent"
 * (publishMayHaveReachedKafka false), and the API then gives its Idempotency-Key back
 * (docs/design.md invariant 11). So it must never be sent afterwards. An outside review found
 * that a producer without a connection yet (Kafka unreachable when the API started, or a
 * session just reset) sent such a message once the connection came up. Against the real
 * Kafka, paused (SIGSTOP) so that the producer's first connection waits: without the check in
 * BatchingProducer.send, the partition ends with the refused message and the marker after it.
 */
import { BatchingProducer, publishMayHaveReachedKafka } from '@ledgerline/kafka';
import { kafkajsOf } from '../src/kafkajs';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { stack } from '../../../test/support/stack';

describe('a publish refused as not sent', () => {
  let topics: TestTopics;
  let producer: BatchingProducer | null = null;
  let paused = false;

  beforeAll(async () => {
    topics = await createTestTopics(1);
  });

  afterAll(async () => {
    if (paused) stack('resume-service', 'kafka');
    await producer?.stop();
    await topics.delete();
  });

  async function recordsOnPartition0(): Promise<string> {
    const admin = kafkajsOf(topics.kafka).admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(topics.names.commands);
      return offsets.find((o) => o.partition === 0)!.high;
    } finally {
      await admin.disconnect();
    }
  }

  test('is never sent once the connection comes up', async () => {
    const message = (key: string) => ({ topic: topics.names.commands, partition: 0, key, value: key });
    // No request before the pause: the producer connects on its first send.
    producer = new BatchingProducer({ kafka: topics.kafka, lingerMs: 0, batchSizeMax: 100, bufferMessagesMax: 1_000, ackTimeoutMs: 1_000 });
    stack('pause-service', 'kafka');
    paused = true;
    let refusal: unknown;
    try {
      refusal = await producer.publish(message('refused')).then(
        () => null,
        (error: unknown) => error,
      );
    } finally {
      stack('resume-service', 'kafka');
      paused = false;
    }
    expect(refusal).toBeInstanceOf(Error);
    expect(publishMayHaveReachedKafka(refusal)).toBe(false);

    // Everything the producer still meant to send goes out before a later message does.
    await producer.publishAll([message('marker')]);
    expect(await recordsOnPartition0()).toBe('1');
  });
});
