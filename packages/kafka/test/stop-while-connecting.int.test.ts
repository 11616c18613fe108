/**
 * A Kafka client stopped while it is still connecting leaves no connection behind. The
 * connection a client was making when it was told to stop used to complete afterwards and
 * stay open: nothing would ever close it, and it kept a test run's process alive after its
 * last test (seen once in CI). Counted as this process's TCP sockets to the broker.
 */
import { Socket } from 'node:net';
import { BatchingProducer, KafkaProbe } from '@ledgerline/kafka';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { testServices } from '../../../test/support/env';

/** Open TCP sockets of this process to the broker. */
function brokerSockets(): number {
  const port = Number(testServices().kafkaBrokers[0]!.split(':').pop());
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h) => h instanceof Socket && !h.destroyed && h.remotePort === port).length;
}

/** Lets a connection that was still being made finish and, if it was leaked, show. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 1_500));

describe('stopped while connecting', () => {
  let topics: TestTopics;
  beforeAll(async () => {
    topics = await createTestTopics(1);
  });
  afterAll(async () => {
    await topics.delete();
  });

  test('BatchingProducer.stop during its connect closes that connection', async () => {
    const before = brokerSockets();
    const producer = new BatchingProducer({ kafka: topics.kafka, lingerMs: 0, batchSizeMax: 10, bufferMessagesMax: 10, ackTimeoutMs: 5_000 });
    const starting = producer.start().then(
      () => 'connected',
      (error: Error) => error.name,
    );
    await producer.stop();
    await settle();
    expect(await starting).toBe('BrokerUnavailableError');
    expect(brokerSockets()).toBe(before);
  });

  test('KafkaProbe.close during its connect closes that connection, and the probe stays closed', async () => {
    const before = brokerSockets();
    const probe = new KafkaProbe(topics.kafka);
    const checking = probe.check().then(
      () => 'answered',
      () => 'failed',
    );
    await probe.close();
    await checking;
    await settle();
    expect(brokerSockets()).toBe(before);
    await expect(probe.check()).rejects.toThrow(/closed/);
    await settle();
    expect(brokerSockets()).toBe(before);
  });
});
