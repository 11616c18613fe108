import type { Admin, ITopicConfig } from 'kafkajs';

/**
 * The project's topics. Kafka runs with auto.create.topics.enable=false, so these are
 * created explicitly (ledgerctl setup, npm start, the test harness), with the partition
 * count from config.
 */
export interface TopicNames {
  /** Client commands and saga legs, partitioned by routing(account). */
  commands: string;
  /** TransferCompleted / TransferRejected for downstream consumers, keyed by transfer id. */
  events: string;
  /** Poison messages with the reason and their original bytes. */
  deadLetter: string;
}

export function topicNames(prefix: string): TopicNames {
  return { commands: `${prefix}.commands`, events: `${prefix}.events`, deadLetter: `${prefix}.dead-letter` };
}

/** Outbox rows name topics logically; this maps them to the real names. */
export function topicForOutbox(names: TopicNames, logical: 'commands' | 'events' | 'dead-letter'): string {
  return logical === 'commands' ? names.commands : logical === 'events' ? names.events : names.deadLetter;
}

export async function ensureTopics(admin: Admin, names: TopicNames, partitionCount: number): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const wanted: ITopicConfig[] = [
    { topic: names.commands, numPartitions: partitionCount },
    { topic: names.events, numPartitions: partitionCount },
    { topic: names.deadLetter, numPartitions: 1 },
  ]
    .filter((t) => !existing.has(t.topic))
    .map((t) => ({ ...t, replicationFactor: 1, configEntries: [{ name: 'min.insync.replicas', value: '1' }] }));
  if (wanted.length > 0) {
    try {
      await admin.createTopics({ topics: wanted, waitForLeaders: true });
    } catch (error) {
      // Another process created them between our list and create: fine.
      if (!/already exists/i.test(String((error as Error).message))) throw error;
    }
  }
}

export async function partitionCountOf(admin: Admin, topic: string): Promise<number> {
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  const found = metadata.topics.find((t) => t.name === topic);
  if (!found) throw new Error(`topic ${topic} does not exist`);
  return found.partitions.length;
}
