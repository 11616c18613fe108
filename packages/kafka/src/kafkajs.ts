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

/** Messages grouped by topic, in their order, as one kafkajs `sendBatch` takes them. */
export function toTopicMessages(messages: Iterable<OutgoingMessage>): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const message of messages) {
    let list = byTopic.get(message.topic);
    if (!list) byTopic.set(message.topic, (list = []));
    const kafkaMessage: Message = { key: message.key, value: message.value };
    if (message.partition !== null) kafkaMessage.partition = message.partition;
    if (message.headers !== undefined) kafkaMessage.headers = message.headers;
    list.push(kafkaMessage);
  }
  return [...byTopic].map(([topic, list]) => ({ topic, messages: list }));
}
