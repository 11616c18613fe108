/**
 * Builds a running worker from its config: the real adapters (kafkajs, pg, ioredis) wired
 * to the apply loop. main.ts calls it for the process; integration tests call it to run a
 * real worker in-process against the real services, with their own database and topics.
 */
import { BatchingProducer, createKafka, topicNames } from '@ledgerline/kafka';
import { RoutingWatcher, createPool, markOutboxPublished } from '@ledgerline/postgres';
import { BalanceCache, StatusNotifier, createRedis } from '@ledgerline/redis';
import type { BatchEffects } from '@ledgerline/domain';
import type { Pool } from 'pg';
import type { WorkerConfig } from './config';
import { OutboxRelay } from './outbox-relay';
import { PartitionWorker } from './partition-worker';
import { PublishedMarks } from './published-marks';

export interface WorkerHooks {
  log(message: string): void;
  onFatal(error: Error): void;
  afterCommit?(partition: number, committed: { commands: number; effects: BatchEffects; durationMs: number }): void;
  onDeadLetter?(partition: number, reason: 'malformed' | 'unprocessable'): void;
  onWriteRetry?(partition: number, attempt: number, error: Error): void;
}

export interface WorkerRuntime {
  worker: PartitionWorker;
  relay: OutboxRelay;
  pool: Pool;
  stop(): Promise<void>;
}

export async function startWorkerRuntime(config: WorkerConfig, hooks: WorkerHooks): Promise<WorkerRuntime> {
  const topics = topicNames(config.topicPrefix);
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: config.workerId });
  const pool = createPool({
    connectionString: config.databaseUrl,
    connectionsMax: config.pgConnectionsMax,
    connectTimeoutMs: 5_000,
    applicationName: config.workerId,
  });
  const redis = createRedis(config.redisUrl);
  const balances = new BalanceCache(redis, config.redisKeyPrefix);
  const notifier = new StatusNotifier(redis, config.redisKeyPrefix);
  const routing = new RoutingWatcher(pool, config.routingRefreshMs, (e) => hooks.log(`routing refresh failed: ${e.message}`));
  await routing.start();
  // The relay's producer: committed outbox rows must go out, so its buffer is large and a
  // publish waits long; the rows stay in Postgres for the sweeper whatever happens.
  const producer = new BatchingProducer({ kafka, lingerMs: 2, batchSizeMax: 1000, bufferMessagesMax: 1_000_000, ackTimeoutMs: 15_000 });
  await producer.start();
  const marks = new PublishedMarks({
    mark: (ids) => markOutboxPublished(pool, ids),
    intervalMs: config.outboxMarkIntervalMs,
    pendingMax: 1_000_000,
    log: hooks.log,
  });
  marks.start();
  const relay = new OutboxRelay({ producer, pool, marks, topics, routing: () => routing.current(), log: hooks.log, pendingRowsMax: 20_000 });

  const worker = new PartitionWorker({
    kafka,
    topic: topics.commands,
    groupId: config.groupId,
    workerId: config.workerId,
    batchCommandsMax: config.batchCommandsMax,
    partitionsConcurrentMax: config.partitionsConcurrentMax,
    accountCacheMax: config.accountCacheMax,
    fetchBytesMax: config.fetchBytesMax,
    fetchWaitMs: config.fetchWaitMs,
    fetchBytesMin: config.fetchBytesMin,
    offsetCommitIntervalMs: config.offsetCommitIntervalMs,
    outboxSweepIntervalMs: config.outboxSweepIntervalMs,
    outboxSweepAgeMs: config.outboxSweepAgeMs,
    relay,
    onFatal: hooks.onFatal,
    onWriteRetry: hooks.onWriteRetry,
    ports: {
      pool,
      routing: () => routing.current(),
      refreshRouting: () => routing.refresh(),
      now: () => new Date(),
      log: hooks.log,
      afterCommit: hooks.afterCommit,
      onDeadLetter: hooks.onDeadLetter,
      postCommit: {
        refreshBalances: (list) => balances.refresh(list),
        publishTerminal: (ids) => notifier.publishTerminal(ids),
        relay: (partition, rows) => relay.relay(partition, rows),
      },
    },
  });
  routing.onChange(() => worker.forgetAccounts());
  await worker.start();

  return {
    worker,
    relay,
    pool,
    async stop() {
      await worker.stop();
      await marks.stop();
      await producer.stop();
      routing.stop();
      redis.disconnect();
      await pool.end();
    },
  };
}
