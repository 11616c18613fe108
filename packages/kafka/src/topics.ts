import { type Admin, ConfigResourceTypes, type ITopicConfig } from 'kafkajs';

/**
 * The project's topics. Kafka runs with auto.create.topics.enable=false, so these are
 * created explicitly (ledgerctl setup, npm start, the test harness), with the partition
 * count from config.
 */
export interface TopicNames {
  /** Client commands and saga legs, partitioned by routing(account). */
  commands: string;
  /**
   * Events for downstream consumers (docs/events.md): a transfer's terminal event keyed by
   * the transfer id, hold events by the hold id, account change events by the account id.
   */
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

/**
 * How the topics are created: replicas, how many must have a write before acks=all
 * acknowledges it, and retention. Apps take them from config (KAFKA_REPLICATION_FACTOR,
 * KAFKA_MIN_INSYNC_REPLICAS, KAFKA_RETENTION_MS, KAFKA_DEAD_LETTER_RETENTION_MS).
 */
export interface TopicDurability {
  replicationFactor: number;
  minInsyncReplicas: number;
  retentionMs: number;
  deadLetterRetentionMs: number;
}

/** The local single-broker stack (tests, chaos, bench): one copy, a week of commands. */
export const SINGLE_BROKER_DURABILITY: TopicDurability = {
  replicationFactor: 1,
  minInsyncReplicas: 1,
  retentionMs: 7 * 86_400_000,
  deadLetterRetentionMs: 30 * 86_400_000,
};

/**
 * The commands topic's compression.type: the broker stores every batch uncompressed, however
 * its producer compressed it. kafkajs reads gzip and uncompressed batches only (ledgerline
 * registers no codec); a batch another client compressed with Snappy, LZ4 or ZSTD would fail
 * every fetch of its partition before the worker saw a record, so it could not even be
 * dead-lettered, and each restart and rebalance would stop every partition (invariant 10).
 * Our own producers send uncompressed: for them the broker has nothing to redo. Only the
 * commands topic is read by ledgerline; events and dead letters are read by others (dead
 * letters by ledgerctl from Postgres), who choose what they read.
 */
const COMMANDS_COMPRESSION = 'uncompressed';

/** What the commands topic may store: what kafkajs reads without a codec of ours. */
const COMPRESSIONS_READABLE = new Set([COMMANDS_COMPRESSION, 'gzip']);

/**
 * Creates the topics that do not exist yet. An existing topic is left as it is (its
 * replication, record size and compression are checked by the API at start:
 * `commandsTopicProblem`).
 */
export async function ensureTopics(admin: Admin, names: TopicNames, partitionCount: number, durability: TopicDurability): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const configOf = (retentionMs: number) => [
    { name: 'min.insync.replicas', value: String(durability.minInsyncReplicas) },
    { name: 'retention.ms', value: String(retentionMs) },
    // Never compacted, whatever the broker's default: compaction keeps one record per key, and
    // a command is keyed by its account, so an account's earlier commands would go.
    { name: 'cleanup.policy', value: 'delete' },
    // A leader that is not in sync never takes over: acknowledged writes are never dropped.
    { name: 'unclean.leader.election.enable', value: 'false' },
  ];
  const wanted: ITopicConfig[] = [
    {
      topic: names.commands,
      numPartitions: partitionCount,
      configEntries: [...configOf(durability.retentionMs), { name: 'compression.type', value: COMMANDS_COMPRESSION }],
    },
    { topic: names.events, numPartitions: partitionCount, configEntries: configOf(durability.retentionMs) },
    { topic: names.deadLetter, numPartitions: 1, configEntries: configOf(durability.deadLetterRetentionMs) },
  ]
    .filter((t) => !existing.has(t.topic))
    .map((t) => ({ ...t, replicationFactor: durability.replicationFactor }));
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

/**
 * Why the commands topic cannot take what the API sends as configured, or null when it can:
 * - a partition with fewer replicas than `replicationFactor` (acks=all would then mean fewer
 *   disks than the operator asked for), or a topic min.insync.replicas below the configured one;
 * - a max.message.bytes too small for a produce request of `requestBytesMax` bytes of values
 *   (with room for keys and record framing): the broker would refuse such a request, and the
 *   producer, which resends a failed request until it is taken, would resend it forever while
 *   every publish behind it waited;
 * - a compression.type no worker can read (snappy, lz4, zstd: every batch stored so): refused;
 *   or `producer`, the broker's default, which lets another client's compressed batch through
 *   as it is (a topic created before ledgerline set COMMANDS_COMPRESSION): said, not refused.
 *   Never altered, as the rest: ledgerline never changes an existing topic; the message says how to.
 * - a cleanup.policy that compacts: Kafka keeps only the latest record per key, and a command
 *   is keyed by its account, so an account's accepted commands not yet applied would be
 *   deleted, and the workers would step over the holes (an outside review): refused.
 */
export async function commandsTopicProblem(admin: Admin, topic: string, durability: TopicDurability, requestBytesMax: number): Promise<CommandsTopicProblem | null> {
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  const found = metadata.topics.find((t) => t.name === topic);
  if (!found || found.partitions.length === 0) return { check: 'exists', refuses: true, message: `topic ${topic} does not exist (run ledgerctl migrate)` };
  const replicas = Math.min(...found.partitions.map((p) => p.replicas.length));
  if (replicas < durability.replicationFactor) {
    return { check: 'replicas', refuses: true, message: `topic ${topic} has partitions with ${replicas} replica(s); KAFKA_REPLICATION_FACTOR is ${durability.replicationFactor}` };
  }
  const configs = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['min.insync.replicas', 'max.message.bytes', 'compression.type', 'cleanup.policy'] }],
    includeSynonyms: false,
  });
  const entries = configs.resources[0]?.configEntries ?? [];
  const valueOf = (name: string) => entries.find((e) => e.configName === name)?.configValue;
  const minInsync = valueOf('min.insync.replicas');
  if (minInsync !== undefined && Number(minInsync) < durability.minInsyncReplicas) {
    return { check: 'replicas', refuses: true, message: `topic ${topic} has min.insync.replicas=${minInsync}; KAFKA_MIN_INSYNC_REPLICAS is ${durability.minInsyncReplicas}` };
  }
  const recordBatchMax = valueOf('max.message.bytes');
  if (recordBatchMax !== undefined && requestBytesMax + RECORD_BATCH_HEADROOM_BYTES > Number(recordBatchMax)) {
    return {
      check: 'record-size',
      refuses: true,
      message: `topic ${topic} has max.message.bytes=${recordBatchMax}; produce requests of up to ${requestBytesMax} bytes of values need at least ${requestBytesMax + RECORD_BATCH_HEADROOM_BYTES}`,
    };
  }
  const cleanup = valueOf('cleanup.policy');
  if (cleanup !== undefined && cleanup.split(',').some((policy) => policy.trim() === 'compact')) {
    return {
      check: 'cleanup',
      refuses: true,
      message:
        `topic ${topic} has cleanup.policy=${cleanup}: compaction keeps one command per account and deletes the others before they are applied; ` +
        `set it with: kafka-configs.sh --bootstrap-server <broker> --alter --entity-type topics --entity-name ${topic} --add-config cleanup.policy=delete`,
    };
  }
  const compression = valueOf('compression.type');
  const setIt = `set it with: kafka-configs.sh --bootstrap-server <broker> --alter --entity-type topics --entity-name ${topic} --add-config compression.type=${COMMANDS_COMPRESSION}`;
  if (compression === 'producer') {
    // The broker's default, and what ledgerline created before it set COMMANDS_COMPRESSION:
    // our own producers send uncompressed, so only another client's compressed batch would
    // stop the workers. Refusing would stop every upgraded API until an operator acts (an
    // outside review of the change); so it is said at every start instead, with the command.
    return {
      check: 'compression',
      refuses: false,
      message: `topic ${topic} has compression.type=producer: a batch another client compressed with Snappy, LZ4 or ZSTD would be stored as it is, and no worker could read its partition; ${setIt}`,
    };
  }
  if (compression !== undefined && !COMPRESSIONS_READABLE.has(compression)) {
    return {
      check: 'compression',
      refuses: true,
      message: `topic ${topic} has compression.type=${compression}: the broker stores every batch so, and no worker can read it (kafkajs reads uncompressed and gzip); ${setIt}`,
    };
  }
  return null;
}

/** Which check of commandsTopicProblem failed, and how, in words. */
export interface CommandsTopicProblem {
  check: 'exists' | 'replicas' | 'record-size' | 'cleanup' | 'compression';
  message: string;
  /** The API does not start on it (false: it starts, and says so at every start). */
  refuses: boolean;
}

/** Room above a request's values for its keys and record framing (the 1 MiB default minus the 768 KiB request cap). */
const RECORD_BATCH_HEADROOM_BYTES = 262_144;
