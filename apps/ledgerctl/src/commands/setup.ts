/**
 * `ledgerctl migrate`: migrations, the initial routing table and the Kafka topics. Safe to
 * run from several processes at once and as often as you like.
 */
import { KafkaAdmin, createKafka, topicNames } from '@ledgerline/kafka';
import { silentLogger } from '@ledgerline/logging';
import { ensureRouting, migrate } from '@ledgerline/postgres';
import { type CtlConfig, ctlPool } from '../config';

export async function setup(config: CtlConfig, log: (line: string) => void): Promise<void> {
  const pool = ctlPool(config, 'owner', 2);
  let routed: number;
  try {
    const applied = await migrate(pool, undefined, {
      onLockWait: (migration, attempt) => log(`${migration}: a table it changes is in use (a long transaction); trying again (attempt ${attempt + 1})`),
    });
    log(applied.length ? `migrations applied: ${applied.join(', ')}` : 'migrations: up to date');
    const routing = await ensureRouting(pool, config.partitionCount);
    log(`routing table version ${routing.version}`);
    routed = Math.max(...routing.rows().map((row) => row.partition)) + 1;
  } finally {
    await pool.end();
  }
  // kafkajs's own lines (a refused connection, each retry) would repeat what ledgerctl says
  // itself when a dependency fails, naming it; a command that fails says why.
  const admin = new KafkaAdmin(createKafka({ brokers: config.kafkaBrokers, clientId: 'ledgerctl', security: config.kafkaSecurity, ...config.kafkaClient, logger: silentLogger }));
  try {
    const names = topicNames(config.topicPrefix);
    await admin.ensureTopics(names, config.partitionCount, config.kafkaDurability);
    const d = config.kafkaDurability;
    // The topic's own count: KAFKA_PARTITIONS only sizes a new topic (partitions add grows it).
    const partitions = await admin.partitionCount(names.commands);
    // A topic made earlier with fewer partitions than the routing table uses (created by hand,
    // or by a first migrate that failed after the topics and before the table): every command
    // of the buckets routed past its end would fail to publish (an outside review of ledgerctl).
    if (routed > partitions) {
      throw new Error(
        `${names.commands} has ${partitions} partitions but the routing table sends buckets to partitions up to ${routed - 1}: ` +
          `grow the topic to ${routed} (\`ledgerctl partitions add --to ${routed}\`, with the workers running) before the APIs take traffic`,
      );
    }
    log(
      `topics ready: ${names.commands} (${partitions} partitions), ${names.events}, ${names.deadLetter}` +
        ` (new topics: replication ${d.replicationFactor}, min.insync.replicas ${d.minInsyncReplicas})`,
    );
  } finally {
    await admin.close();
  }
}
