/**
 * What stopping a Kafka client leaves behind.
 *
 * A stopped producer tells each caller it did not answer whether its message may still reach
 * Kafka (`maybeSent`, docs/design.md invariant 11): true once a produce request carried it,
 * false only when none did. The API gives an Idempotency-Key back on false alone.
 *
 * And a stopped client leaves no connection behind, whatever it was doing.
 *
 * - Stopped while still connecting: the connection used to complete afterwards and stay open,
 *   with nothing left to close it. It kept a test run's process alive after its last test
 *   (seen once in CI).
 * - A consumer stopped while it was starting: the start went on (connect, join, run), and the
 *   consumer ran, fetching, after `stop` had resolved.
 * - A consumer stopped while it joined the group: kafkajs's disconnect forgot the runner that
 *   was joining, which then joined and fetched with nothing left to stop it (its connection
 *   kept a CI run's process alive for the broker's 10-minute idle limit). Its stress
 *   counterpart, random stop moments over many rounds: scripts/consumer-stop-stress.ts.
 * - A probe closed during a check (an API or worker stopping while its readiness check ran):
 *   `close` disconnected under the check. Here the check then fails ("write after end"); in a
 *   CI run, at another moment of the same race, kafkajs connected again for the check's
 *   metadata request, and that connection stayed open (and the run failed on code loaded
 *   after Jest's teardown).
 * - Stopped during a produce request: `stop` disconnected under the request, and kafkajs,
 *   still refreshing metadata for it, connected again. That connection stayed open, and the
 *   request ran on after `stop` had resolved (a CI run failed on it: code loaded after Jest's
 *   teardown).
 *
 * Counted as this process's TCP sockets to the broker.
 */
import { Socket } from 'node:net';
import { BatchingProducer, BrokerUnavailableError, KafkaProbe, PartitionConsumer } from '@ledgerline/kafka';
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

/** How a publish ended: 'acked', or the error's name and its maybeSent. */
function outcome(publishing: Promise<void>): Promise<string> {
  return publishing.then(
    () => 'acked',
    (error: Error) => (error instanceof BrokerUnavailableError ? `${error.name} maybeSent=${error.maybeSent}` : error.name),
  );
}

describe('stopping a Kafka client', () => {
  let topics: TestTopics;
  beforeAll(async () => {
    topics = await createTestTopics(1);
  });
  afterAll(async () => {
    await topics.delete();
  });

  /** A consumer of the test topic in a group of its own, doing nothing with what it fetches. */
  const idleConsumer = (group: string) =>
    new PartitionConsumer({
      kafka: topics.kafka,
      topic: topics.names.commands,
      groupId: `${topics.prefix}.${group}`,
      partitionsConcurrentMax: 1,
      fetchBytesMax: 1_024,
      fetchWaitMs: 10,
      fetchBytesMin: 1,
      onAssignment: () => undefined,
      onFetch: async () => undefined,
      log: () => undefined,
    });

  test('a message no request carried yet is reported as not sent', async () => {
    const producer = new BatchingProducer({ kafka: topics.kafka, lingerMs: 0, batchSizeMax: 10, bufferMessagesMax: 10, ackTimeoutMs: 5_000 });
    // Not started: the send loop is still connecting when stop comes.
    const published = outcome(producer.publishAll([{ topic: topics.names.commands, partition: 0, key: 'k', value: 'v' }]));
    await new Promise((resolve) => setImmediate(resolve));
    await producer.stop();
    expect(await published).toBe('BrokerUnavailableError maybeSent=false');
  });

  test('a message a failed request carried is reported as maybe sent', async () => {
    const producer = new BatchingProducer({ kafka: topics.kafka, lingerMs: 0, batchSizeMax: 10, bufferMessagesMax: 10, ackTimeoutMs: 5_000 });
    let failed = 0;
    producer.onBatch = (_size, _ms, ok) => {
      if (!ok) failed++;
    };
    await producer.start();
    // No such topic: every request fails, and the producer keeps resending (no deadline).
    const published = outcome(producer.publishAll([{ topic: `${topics.prefix}.missing`, partition: 0, key: 'k', value: 'v' }]));
    const deadline = Date.now() + 30_000;
    while (failed === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(failed).toBeGreaterThan(0);
    await producer.stop();
    expect(await published).toBe('BrokerUnavailableError maybeSent=true');
  }, 40_000);

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

  test('BatchingProducer.stop during a produce request waits for it and closes everything', async () => {
    const before = brokerSockets();
    const producer = new BatchingProducer({ kafka: topics.kafka, lingerMs: 0, batchSizeMax: 10, bufferMessagesMax: 10, ackTimeoutMs: 5_000 });
    let requests = 0;
    producer.onBatch = () => {
      requests++;
    };
    await producer.start();
    // Metadata older than metadataMaxAge (5 s) makes the next produce request refresh it
    // first: the window in which a disconnect used to be followed by a reconnect.
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    const published = producer.publish({ topic: topics.names.commands, partition: 0, key: 'k', value: 'v' }).then(
      () => 'acked',
      (error: Error) => error.name,
    );
    await new Promise((resolve) => setImmediate(resolve)); // the request is now in flight
    await producer.stop();
    const answered = requests;
    await settle();
    expect(brokerSockets()).toBe(before);
    // The request in flight ran to its end before stop resolved, and nothing ran after it.
    expect(answered).toBe(1);
    expect(requests).toBe(1);
    expect(await published).toBe('acked');
  });

  test('PartitionConsumer.stop during its start leaves no consumer running', async () => {
    const before = brokerSockets();
    const consumer = idleConsumer('stop-while-starting');
    const starting = consumer.start().then(
      () => 'started',
      () => 'failed',
    );
    await new Promise((resolve) => setImmediate(resolve)); // connecting now
    await consumer.stop();
    await starting;
    await settle();
    expect(brokerSockets()).toBe(before);
  });

  test('PartitionConsumer.stop while it joins the group leaves no consumer running', async () => {
    // kafkajs's internal consumer group: the test stops the consumer at the moment its runner
    // starts to join (the race a random-timing stress run hit in 8 of 60 stop/start rounds).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup') as { prototype: { joinAndSync(): Promise<void> } };
    const joinAndSync = ConsumerGroup.prototype.joinAndSync;
    const before = brokerSockets();
    const consumer = idleConsumer('stop-while-joining');
    let stopping: Promise<void> | null = null;
    ConsumerGroup.prototype.joinAndSync = async function joinWhileStopping(this: unknown) {
      // stop() comes now; the join goes on once a disconnect would have had time to finish.
      stopping ??= consumer.stop();
      await new Promise((resolve) => setTimeout(resolve, 500));
      return joinAndSync.call(this);
    };
    try {
      await consumer.start().catch(() => undefined);
      await stopping;
    } finally {
      ConsumerGroup.prototype.joinAndSync = joinAndSync;
    }
    await settle();
    // A runner left joining holds a connection of its own (and fetches over it).
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

  test('KafkaProbe.close during a check lets the check finish, and leaves no connection behind', async () => {
    const before = brokerSockets();
    const probe = new KafkaProbe(topics.kafka);
    await probe.check(); // connected: the next check goes straight to its request
    const checking = probe.check().then(
      () => 'answered',
      (error: Error) => `failed: ${error.message}`,
    );
    await probe.close();
    expect(await checking).toBe('answered');
    await settle();
    expect(brokerSockets()).toBe(before);
  });
});
