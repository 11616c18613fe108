/**
 * Readiness and lag for the ops endpoints: whether the cluster answers, each partition's
 * high watermark, and who is in the workers' consumer group. One admin client, connected on first use and reused between probes (a
 * probe every few seconds must not open a connection each time).
 */
import type { Admin } from 'kafkajs';
import type { KafkaClient } from './client';
import { kafkajsOf } from './kafkajs';
import { settledWithin } from './settled-within';
import { type CommandsTopicProblem, type TopicDurability, commandsTopicProblem } from './topics';

/**
 * How long close() lets probes in flight finish before it disconnects. A probe is a metadata
 * or offsets request: it answers within milliseconds, or the broker is down and it fails on
 * kafkajs's own timeouts; either way the close does not wait for more than this.
 */
const CLOSE_WAIT_FOR_PROBES_MS = 5_000;

export class KafkaProbe {
  private readonly admin: Admin;
  private connected: Promise<void> | null = null;
  private closed = false;
  /** Probes not yet answered: close() lets them finish (see close). */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(kafka: KafkaClient) {
    this.admin = kafkajsOf(kafka).admin();
  }

  /** Resolves when the cluster answers a metadata request; throws otherwise. */
  async check(): Promise<void> {
    await this.probe(() => this.admin.describeCluster());
  }

  /** The next offset to be written in each partition of `topic` (its high watermark). */
  async highWatermarks(topic: string): Promise<Map<number, bigint>> {
    const offsets = await this.probe(() => this.admin.fetchTopicOffsets(topic));
    return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  }

  /** The member ids of consumer group `groupId` as its coordinator lists them (none: the group is empty or unknown). */
  async groupMemberIds(groupId: string): Promise<string[]> {
    const { groups } = await this.probe(() => this.admin.describeGroups([groupId]));
    return (groups[0]?.members ?? []).map((member) => member.memberId);
  }

  /** Why the commands topic `topic` cannot take what is sent as configured, or null (topics.ts commandsTopicProblem). */
  async commandsTopicProblem(topic: string, durability: TopicDurability, requestBytesMax: number): Promise<CommandsTopicProblem | null> {
    return this.probe(() => commandsTopicProblem(this.admin, topic, durability, requestBytesMax));
  }

  /**
   * Disconnects, after a connect still in progress and the probes in flight have finished (at
   * most CLOSE_WAIT_FOR_PROBES_MS); no probe connects again afterwards. Disconnecting under a
   * probe leaves a connection behind: kafkajs retries the probe's request on a fresh one,
   * which then stays open with nothing left to close it (seen in CI: a readiness check in
   * flight as an API stopped).
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.connected?.catch(() => undefined);
    await settledWithin(Promise.allSettled([...this.inFlight]), CLOSE_WAIT_FOR_PROBES_MS);
    await this.admin.disconnect().catch(() => undefined);
  }

  /** Runs one probe on the connected admin, kept in `inFlight` until it settles. */
  private probe<T>(request: () => Promise<T>): Promise<T> {
    const probing = this.connect().then(request);
    this.inFlight.add(probing);
    const settled = () => this.inFlight.delete(probing);
    probing.then(settled, settled);
    return probing;
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
