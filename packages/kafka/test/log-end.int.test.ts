/**
 * Where a partition's log ends while a transaction is open on it. kafkajs's admin reads offsets
 * READ_COMMITTED, which stops at the last stable offset: the workers' lag read ~0 while another
 * client's open transaction hid every later record (an outside review). The port's offset reads
 * give the log end (READ_UNCOMMITTED, log-end.ts) beside the stable offset; this fails too if
 * kafkajs no longer lets log-end.ts choose the isolation level.
 */
import { Kafka, logLevel } from 'kafkajs';
import { KafkaProbe } from '@ledgerline/kafka';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { testServices } from '../../../test/support/env';
import { waitFor } from '../../../test/support/worker';

describe("a partition's ends", () => {
  let topics: TestTopics;
  beforeAll(async () => {
    topics = await createTestTopics(2);
  });
  afterAll(async () => {
    await topics.delete();
  });

  test('the log end runs past an open transaction, the stable offset stops at it; they meet when it ends', async () => {
    const foreign = new Kafka({ brokers: testServices().kafkaBrokers, clientId: `${topics.prefix}-ends`, logLevel: logLevel.NOTHING });
    const plain = foreign.producer();
    const transactional = foreign.producer({ transactionalId: `${topics.prefix}-ends`, idempotent: true, maxInFlightRequests: 1 });
    const probe = new KafkaProbe(topics.kafka);
    const topic = topics.names.commands;
    try {
      await Promise.all([plain.connect(), transactional.connect()]);
      await plain.send({ topic, messages: [{ partition: 1, value: 'a' }, { partition: 1, value: 'b' }] });
      const transaction = await transactional.transaction();
      await transaction.send({ topic, messages: [{ partition: 1, value: 'open' }] });
      await plain.send({ topic, messages: [{ partition: 1, value: 'behind' }] });

      expect(await probe.partitionEnds(topic)).toEqual(new Map([[0, { logEnd: 0n, stableOffset: 0n }], [1, { logEnd: 4n, stableOffset: 2n }]]));
      expect(await topics.admin.partitionEnds(topic)).toEqual(await probe.partitionEnds(topic));
      expect(await topics.admin.highWatermarks(topic)).toEqual(new Map([[0, 0n], [1, 4n]]));

      await transaction.abort();
      // The abort marker is written at the log end; the stable offset then reaches it. The
      // coordinator answers the abort before its markers reach the partition: waited for.
      const ended = await waitFor('the abort marker on the partition', async () => {
        const end = (await probe.partitionEnds(topic)).get(1);
        return end && end.stableOffset === end.logEnd ? end : undefined;
      });
      expect(ended).toEqual({ logEnd: 5n, stableOffset: 5n });
    } finally {
      await probe.close();
      await Promise.all([plain.disconnect(), transactional.disconnect()]);
    }
  });

  test('records appended while the ends are read never look like an open transaction (an outside operator review)', async () => {
    const foreign = new Kafka({ brokers: testServices().kafkaBrokers, clientId: `${topics.prefix}-busy`, logLevel: logLevel.NOTHING });
    const plain = foreign.producer();
    const probe = new KafkaProbe(topics.kafka);
    const topic = topics.names.commands;
    let producing = true;
    try {
      await plain.connect();
      // One small produce after another on both partitions, no transaction anywhere.
      const load = (async () => {
        for (let i = 0; producing; i++) await plain.send({ topic, messages: [{ partition: i % 2, value: `m${i}` }] });
      })();
      const gaps: string[] = [];
      for (let read = 0; read < 150; read++) {
        for (const [partition, end] of await probe.partitionEnds(topic)) {
          if (end.stableOffset < end.logEnd) gaps.push(`read ${read}, partition ${partition}: stable ${end.stableOffset} < end ${end.logEnd}`);
        }
      }
      producing = false;
      await load;
      expect(gaps).toEqual([]);
    } finally {
      producing = false;
      await probe.close();
      await plain.disconnect();
    }
  });
});
