/**
 * Readiness and lag for the ops endpoints: whether the cluster answers, and each partition's
 * high watermark. One admin client, connected on first use and reused between probes (a
 * probe every few seconds must not open a connection each time).
 */
import type { Admin } from 'kafkajs';
import type { KafkaClient } from './client';
import { kafkajsOf } from './kafkajs';
import { type TopicDurability, commandsReplicationProblem } from './topics';

export class KafkaProbe {
  private readonly admin: Admin;
  private connected: Promise<void> | null = null;
  private closed = false;

  constructor(kafka: KafkaClient) {
    this.admin = kafkajsOf(kafka).admin();
  }

  /** Resolves when the cluster answers a metadata request; throws otherwise. */
  async check(): Promise<void> {
    await this.connect();
    await this.admin.describeCluster();
  }

  /** The next offset to be written in each partition of `topic` (its high watermark). */
  async highWatermarks(topic: string): Promise<Map<number, bigint>> {
    await this.connect();
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  }

  /** Why `topic` is less durable than `durability` asks, or null (topics.ts commandsReplicationProblem). */
  async durabilityProblem(topic: string, durability: TopicDurability): Promise<string | null> {
    await this.connect();
    return commandsReplicationProblem(this.admin, topic, durability);
  }

  /**
   * Disconnects, after a connect still in progress has finished (disconnecting in the middle
   * of it would leave the connection it is making open); no probe connects again afterwards.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.connected?.catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
  }

  private connect(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the Kafka probe is closed'));
    this.connected ??= this.admin.connect().catch((error: unknown) => {
      this.connected = null;
      throw error;
    });
    return this.connected;
  }
}
