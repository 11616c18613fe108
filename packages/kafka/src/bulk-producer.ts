/**
 * Many messages, fast, for the harnesses that fill a topic before anything consumes it (the
 * bench's drain backlog, its fixture when there is no API). Not the API's path (that is
 * BatchingProducer, with its deadlines, backpressure and resend-until-acked): each `send` is
 * one produce request of exactly the caller's messages, acks=all, and a failure is thrown to
 * the caller once kafkajs's own retries give up (or when kafkajs resolved without some of
 * them: produce-acknowledgement.ts).
 *
 * Order: with `requestsInFlightMax` 1 successive sends are appended in the order they were
 * made; above 1 a later request may overtake an earlier one (fine for a backlog whose order
 * between requests does not matter).
 */
import type { Producer } from 'kafkajs';
import type { KafkaClient } from './client';
import { groupByTopic, kafkajsOf, toKafkaMessage } from './kafkajs';
import type { OutgoingMessage } from './messages';
import { PartitionPlan, PartlyUnwrittenError } from './produce-acknowledgement';

export interface BulkProducerOptions {
  kafka: KafkaClient;
  /** Produce requests outstanding at once (the caller may have more sends waiting). */
  requestsInFlightMax: number;
  /** An idempotent producer session: a request resent after a lost answer is appended once. */
  idempotent: boolean;
}

export class BulkProducer {
  private readonly producer: Producer;
  private readonly plan = new PartitionPlan();
  private connected: Promise<void> | null = null;

  constructor(options: BulkProducerOptions) {
    this.producer = kafkajsOf(options.kafka).producer({
      idempotent: options.idempotent,
      maxInFlightRequests: options.requestsInFlightMax,
      allowAutoTopicCreation: false,
      createPartitioner: this.plan.createPartitioner,
    });
  }

  /** Appends `messages` (any topics, explicit partitions or by key) in one request; resolves when all are acked. */
  async send(messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.connect();
    const sent = messages.map((m) => ({ topic: m.topic, message: toKafkaMessage(m) }));
    const acknowledged = await this.producer.sendBatch({ topicMessages: groupByTopic(sent), acks: -1 });
    const unwritten = this.plan.unacknowledged(sent, acknowledged).length;
    // kafkajs may resolve with part of the request unwritten (produce-acknowledgement.ts).
    if (unwritten > 0) throw new PartlyUnwrittenError(unwritten, sent.length);
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
    this.connected = null;
  }

  private connect(): Promise<void> {
    this.connected ??= this.producer.connect().catch((error: unknown) => {
      this.connected = null;
      throw error;
    });
    return this.connected;
  }
}
