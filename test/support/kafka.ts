import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { type TopicNames, createKafka, SINGLE_BROKER_DURABILITY, ensureTopics, topicNames } from '@ledgerline/kafka';
import { testServices } from './env';

export interface TestTopics {
  kafka: Kafka;
  prefix: string;
  names: TopicNames;
  delete(): Promise<void>;
}

/** Topics of this test's own (a random prefix), created like production creates them. */
export async function createTestTopics(partitionCount: number): Promise<TestTopics> {
  const services = testServices();
  const prefix = `t${randomBytes(5).toString('hex')}`;
  const kafka = createKafka({ brokers: services.kafkaBrokers, clientId: `test-${prefix}` });
  const names = topicNames(prefix);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, names, partitionCount, SINGLE_BROKER_DURABILITY);
  } finally {
    await admin.disconnect();
  }
  return {
    kafka,
    prefix,
    names,
    async delete() {
      const cleaner = kafka.admin();
      await cleaner.connect();
      try {
        await cleaner.deleteTopics({ topics: [names.commands, names.events, names.deadLetter] });
      } catch {
        // Deleting is tidiness, not correctness: the prefix is unique to this run.
      } finally {
        await cleaner.disconnect();
      }
    },
  };
}
