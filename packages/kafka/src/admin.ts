/**
 * The administrative side of the Kafka port: topics, partitions, offsets and the consumer
 * group, as the operator CLI (ledgerctl) and the test and chaos harnesses need them, in
 * ledgerline's own terms (bigint offsets, decoded assignments). One admin connection, opened
 * on first use; `close` when done. kafkajs stays inside this package.
 */
import { type Admin, AssignerProtocol } from 'kafkajs';
import type { KafkaClient } from './client';
import { kafkajsOf } from './kafkajs';
import { type PartitionEnd, logEndAdmin, readPartitionEnds } from './log-end';
import { type TopicDurability, type TopicNames, ensureTopics, partitionCountOf } from './topics';

export interface GroupMember {
  /** The group's id for this membership: a member that leaves and joins again gets a new one. */
  memberId: string;
  clientId: string;
  host: string;
  /** Partitions of each topic assigned to it. */
  assignment: Record<string, number[]>;
}

export interface GroupDescription {
  state: string;
  members: GroupMember[];
}

export class KafkaAdmin {
  private readonly admin: Admin;
  /** Reads offsets READ_UNCOMMITTED: the log end (log-end.ts). */
  private readonly logEnds: Admin;
  private connected: Promise<void> | null = null;

  constructor(kafka: KafkaClient) {
    this.admin = kafkajsOf(kafka).admin();
    this.logEnds = logEndAdmin(kafka);
  }

  /** Creates the topics that do not exist yet (topics.ts `ensureTopics`). */
  async ensureTopics(names: TopicNames, partitionCount: number, durability: TopicDurability): Promise<void> {
    await this.connect();
    await ensureTopics(this.admin, names, partitionCount, durability);
  }

  async partitionCount(topic: string): Promise<number> {
    await this.connect();
    return partitionCountOf(this.admin, topic);
  }

  /** Grows every topic in `topics` to `count` partitions. */
  async addPartitions(topics: readonly string[], count: number): Promise<void> {
    await this.connect();
    await this.admin.createPartitions({ topicPartitions: topics.map((topic) => ({ topic, count })) });
  }

  /**
   * The next offset to be written in each partition of `topic` (its high watermark, the log
   * end): past the records of a transaction still open, which kafkajs's own offsets stop before.
   */
  async highWatermarks(topic: string): Promise<Map<number, bigint>> {
    await this.connect();
    const offsets = await this.logEnds.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  }

  /** Each partition of `topic`'s log end and last stable offset (log-end.ts). */
  async partitionEnds(topic: string): Promise<Map<number, PartitionEnd>> {
    await this.connect();
    return readPartitionEnds(this.admin, this.logEnds, topic);
  }

  /** The group's committed offset per partition of `topic`; null where it committed none. */
  async groupOffsets(groupId: string, topic: string): Promise<Map<number, bigint | null>> {
    await this.connect();
    const [found] = await this.admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((found?.partitions ?? []).map((p) => [p.partition, p.offset === '-1' ? null : BigInt(p.offset)]));
  }

  /** The group's state and members, each with its decoded assignment. */
  async describeGroup(groupId: string): Promise<GroupDescription> {
    await this.connect();
    const { groups } = await this.admin.describeGroups([groupId]);
    const group = groups[0];
    return {
      state: group?.state ?? 'unknown',
      members: (group?.members ?? []).map((member) => ({
        memberId: member.memberId,
        clientId: member.clientId,
        host: member.clientHost,
        assignment: AssignerProtocol.MemberAssignment.decode(member.memberAssignment)?.assignment ?? {},
      })),
    };
  }

  async listTopics(): Promise<string[]> {
    await this.connect();
    return this.admin.listTopics();
  }

  async deleteTopics(topics: readonly string[]): Promise<void> {
    if (topics.length === 0) return;
    await this.connect();
    await this.admin.deleteTopics({ topics: [...topics], timeout: 30_000 });
  }

  async deleteGroups(groupIds: readonly string[]): Promise<void> {
    if (groupIds.length === 0) return;
    await this.connect();
    await this.admin.deleteGroups([...groupIds]);
  }

  async close(): Promise<void> {
    await Promise.all([this.admin.disconnect().catch(() => undefined), this.logEnds.disconnect().catch(() => undefined)]);
    this.connected = null;
  }

  private connect(): Promise<void> {
    this.connected ??= Promise.all([this.admin.connect(), this.logEnds.connect()]).then(() => undefined, (error: unknown) => {
      this.connected = null;
      throw error;
    });
    return this.connected;
  }
}
