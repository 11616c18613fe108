/**
 * The seams between ledgerline's Kafka types and kafkajs's, for this package's own modules
 * (not exported by index.ts): the client handle behind the opaque `KafkaClient`, and outgoing
 * messages as kafkajs's produce request wants them.
 */
import type { Kafka, Message, TopicMessages } from 'kafkajs';
import type { KafkaClient } from './client';
import type { OutgoingMessage } from './messages';

/** The kafkajs client behind a `KafkaClient` (createKafka makes every one of them). */
export function kafkajsOf(client: KafkaClient): Kafka {
  return client as unknown as Kafka;
}

/** One outgoing message as kafkajs takes it: a new object each call (PartitionPlan tells them apart). */
export function toKafkaMessage(message: OutgoingMessage): Message {
  const kafkaMessage: Message = { key: message.key, value: message.value };
  if (message.partition !== null) kafkaMessage.partition = message.partition;
  if (message.headers !== undefined) kafkaMessage.headers = message.headers;
  return kafkaMessage;
}

/** `sent`'s kafkajs messages grouped by topic, in their order: one `sendBatch`'s `topicMessages`. */
export function groupByTopic(sent: Iterable<{ topic: string; message: Message }>): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const { topic, message } of sent) {
    let list = byTopic.get(topic);
    if (!list) byTopic.set(topic, (list = []));
    list.push(message);
  }
  return [...byTopic].map(([topic, list]) => ({ topic, messages: list }));
}
