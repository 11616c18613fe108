/**
 * Readiness and lag for the ops endpoints: whether the cluster answers, each partition's
 * log end and last stable offset (log-end.ts), and who is in the workers' consumer group. Two
 * admin clients (the second reads the log end: READ_UNCOMMITTED), connected on first use and
 * reused between probes (a probe every few seconds must not open a connection each time).
 */
import type { Admin } from 'kafkajs';
import type { KafkaClient } from './client';
import { kafkajsOf } from './kafkajs';
import { type PartitionEnd, logEndAdmin, readPartitionEnds } from './log-end';
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
  /** Reads offsets READ_UNCOMMITTED (log-end.ts); connected on first use of partitionEnds only (the API never reads them). */
  private readonly logEnds: Admin;
  private connected: Promise<void> | null = null;
  private logEndsConnected: Promise<void> | null = null;
  private closed = false;
  /** Probes not yet answered: close() lets them finish (see close). */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(kafka: KafkaClient) {
    this.admin = kafkajsOf(kafka).admin();
    this.logEnds = logEndAdmin(kafka);
  }

  /** Resolves when the cluster answers a metadata request; throws otherwise. */
  async check(): Promise<void> {
    await this.probe(() => this.admin.describeCluster());
  }

  /** Each partition of `topic`'s log end and last stable offset (log-end.ts). */
  async partitionEnds(topic: string): Promise<Map<number, PartitionEnd>> {
    return this.probe(async () => {
      await this.connectLogEnds();
      return readPartitionEnds(this.admin, this.logEnds, topic);
    });
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
    await this.logEndsConnected?.catch(() => undefined);
    await settledWithin(Promise.allSettled([...this.inFlight]), CLOSE_WAIT_FOR_PROBES_MS);
    await Promise.all([this.admin.disconnect().catch(() => undefined), this.logEnds.disconnect().catch(() => undefined)]);
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

  private connectLogEnds(): Promise<void> {
    this.logEndsConnected ??= this.logEnds.connect().catch((error: unknown) => {
      this.logEndsConnected = null;
      throw error;
    });
    return this.logEndsConnected;
  }
}
