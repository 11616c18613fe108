import { randomBytes } from 'node:crypto';
import { KafkaAdmin, type KafkaClient, type TopicNames, createKafka, SINGLE_BROKER_DURABILITY, topicNames } from '@ledgerline/kafka';
import { testServices } from './env';

export interface TestTopics {
  kafka: KafkaClient;
  /** Offsets, groups and topics of this test's cluster (closed by `delete`). */
  admin: KafkaAdmin;
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
  const admin = new KafkaAdmin(kafka);
  await admin.ensureTopics(names, partitionCount, SINGLE_BROKER_DURABILITY);
  return {
    kafka,
    admin,
    prefix,
    names,
    async delete() {
      try {
        await admin.deleteTopics([names.commands, names.events, names.deadLetter]);
      } catch {
        // Deleting is tidiness, not correctness: the prefix is unique to this run.
      } finally {
        await admin.close();
      }
    },
  };
}
