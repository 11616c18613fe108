/**
 * Builds a running worker from its config: the real adapters (kafkajs, pg, ioredis) wired
 * to the apply loop, its metrics and its ops server. main.ts calls it for the process;
 * integration tests call it to run a real worker in-process against the real services, with
 * their own database and topics.
 */
import type { Database } from '@ledgerline/postgres';
import type { Server } from 'node:http';
import { UnsafeConfigError } from '@ledgerline/config';
import { BatchingProducer, KafkaProbe, createKafka, flushKafkaLog, topicNames } from '@ledgerline/kafka';
import { type Logger, lineLog } from '@ledgerline/logging';
import { GroupCommitWriter, type OutboxMark, RoutingWatcher, appLoginProblem, assertSchemaCurrent, createPool, markOutboxPublished } from '@ledgerline/postgres';
import { AcceptedTransfers, BalanceCache, RedisCircuitOpenError, StatusNotifier, createRedis, reportBreakerChanges, ping } from '@ledgerline/redis';
import { BalanceRefresher } from './balance-refresher';
import { CatchUpPasses } from './cache-mark';
import { type BatchEffects, systemClock } from '@ledgerline/domain';
import { CommandSeal } from '@ledgerline/schemas';
import type { WorkerConfig } from './config';
import { batchTracing } from './batch-tracing';
import { WorkerHealth } from './health';
import { type WorkerMetrics, createWorkerMetrics } from './metrics';
import { startOpsServer } from './ops-server';
import { HoldExpiry } from './hold-expiry';
import { OutboxRelay } from './outbox-relay';
import type { DeadLetterReason } from './partition-applier';
import { PartitionWorker } from './partition-worker';
import { PublishedMarks } from './published-marks';

export interface WorkerHooks {
  logger: Logger;
  onFatal(error: Error): void;
  afterCommit?(partition: number, committed: { commands: number; effects: BatchEffects; durationMs: number }): void;
  onDeadLetter?(partition: number, reason: DeadLetterReason): void;
  onWriteRetry?(partition: number, attempt: number, error: Error): void;
  /** Node's process metrics in /metrics (off for workers run inside a test process). */
  defaultMetrics?: boolean;
}

export interface WorkerRuntime {
  worker: PartitionWorker;
  relay: OutboxRelay;
  pool: Database;
  metrics: WorkerMetrics;
  health: WorkerHealth;
  /** The ops server's bound port (useful with WORKER_OPS_PORT=0). */
  opsPort: number;
  stop(): Promise<void>;
}

/** The Postgres application_name of every partition worker. */
const WORKER_APPLICATION_NAME = 'partition-worker';

export async function startWorkerRuntime(config: WorkerConfig, hooks: WorkerHooks): Promise<WorkerRuntime> {
  const { logger } = hooks;
  const log = lineLog(logger);
  const topics = topicNames(config.topicPrefix);
  const metrics = createWorkerMetrics({ defaultMetrics: hooks.defaultMetrics ?? true });
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: config.workerId, logger, security: config.kafkaSecurity, ...config.kafkaClient });
  const pool = createPool({
    connectionString: config.databaseUrl,
    connectionsMax: config.pgConnectionsMax,
    connectTimeoutMs: config.pgConnectTimeoutMs,
    idleTimeoutMs: config.pgIdleTimeoutMs,
    // Every statement has a deadline (the group-commit writer sets its own per write).
    queryTimeoutMs: config.queryTimeoutMs,
    // One name for every worker, not the WORKER_ID: PgBouncer (transaction pooling) shares
    // server connections among the workers and sends `SET application_name` whenever a
    // connection passes to a client that named itself differently, a statement before nearly
    // every batch (2,900 of 9,700 statements at 100 transfers/s with two workers). Which worker
    // holds a partition is in partition_state.owner and in the worker's own logs.
    applicationName: WORKER_APPLICATION_NAME,
  });
  await assertSchemaCurrent(pool).catch(async (error: unknown) => {
    await pool.end();
    throw error;
  });
  // Production refuses a login no privilege bounds (a superuser, the schema owner under another
  // name): the config check sees only the URL's user and password.
  if (config.ledgerlineEnv === 'production') {
    const problem = await appLoginProblem(pool, 'ledgerline_worker').catch(async (error: unknown) => {
      await pool.end();
      throw error;
    });
    if (problem !== null) {
      await pool.end();
      throw new UnsafeConfigError([`WORKER_DATABASE_URL: ${problem}`]);
    }
  }
  // What the start has opened so far, closed again (last first) if a later step fails: a
  // runtime that never started must not keep a broker connection or a timer open (an outside
  // review: a failed start held a test process for minutes).
  const opened: (() => unknown)[] = [() => pool.end()];
  const failed = async (error: unknown): Promise<never> => {
    for (const close of opened.reverse()) await Promise.resolve().then(close).catch(() => undefined);
    throw error;
  };
  // Auto-pipelining: a batch's balance refresh and its wake-up, and those of the partitions
  // committing in the same event-loop turn, leave in one socket write.
  const redis = createRedis(config.redisUrl, {
    ...config.redis,
    autoPipelining: true,
    onBreakerChange: reportBreakerChanges(metrics.redisCircuitOpen, (message) => logger.warn(message)),
  });
  opened.push(() => redis.disconnect());
  const balances = new BalanceCache(redis, config.redisKeyPrefix);
  // A refresh Redis failed is owed and sent again until it lands (balance-refresher.ts).
  const refresher = new BalanceRefresher({
    send: (list) => balances.refresh(list),
    retryDelayFirstMs: config.balanceRefreshRetryDelayFirstMs,
    retryDelayMaxMs: config.balanceRefreshRetryDelayMaxMs,
    owedMax: config.balanceRefreshOwedMax,
    sliceMax: balances.accountsPerCallMax,
    log,
    onOwed: (accounts) => metrics.balanceRefreshOwed.set(accounts),
  });
  opened.push(() => refresher.stop());
  const notifier = new StatusNotifier(redis, config.redisKeyPrefix);
  // Only to mark the API's ACCEPTED records applied once their rows are committed.
  const accepted = new AcceptedTransfers(redis, config.redisKeyPrefix);
  const routing = new RoutingWatcher(pool, config.routingRefreshMs, (e) => logger.warn('routing refresh failed', { error: e.message }));
  await routing.start().catch(failed);
  opened.push(() => routing.stop());
  // The relay's producer: committed outbox rows must go out, so its buffer is large and a
  // publish waits long; the rows stay in Postgres for the sweeper whatever happens. No linger
  // by default: a credit leg is on the transfer's critical path (WORKER_RELAY_LINGER_MS).
  const producer = new BatchingProducer({
    kafka,
    lingerMs: config.relayLingerMs,
    batchSizeMax: config.relayBatchSizeMax,
    bufferMessagesMax: config.relayBufferMessagesMax,
    ackTimeoutMs: config.relayAckTimeoutMs,
  });
  await producer.start().catch(failed);
  opened.push(() => producer.stop());
  const marks = new PublishedMarks<OutboxMark>({
    mark: (ids) => markOutboxPublished(pool, ids),
    intervalMs: config.outboxMarkIntervalMs,
    idsPerFlushMax: config.outboxMarkIdsPerFlushMax,
    pendingMax: config.outboxMarksPendingMax,
    log,
  });
  marks.start();
  opened.push(() => marks.stop());
  const seal = new CommandSeal(config.commandKey.current, config.commandKey.previous);
  const relay = new OutboxRelay({ producer, pool, marks, topics, routing: () => routing.current(), log, pendingRowsMax: config.relayPendingRowsMax, seal });

  const worker = new PartitionWorker({
    kafka,
    topic: topics.commands,
    groupId: config.groupId,
    workerId: config.workerId,
    batchCommandsMax: config.batchCommandsMax,
    legWaitForSourceMs: config.legWaitForSourceMs,
    partitionsConcurrentMax: config.partitionsConcurrentMax,
    accountCacheMax: config.accountCacheMax,
    fetchBytesMax: config.fetchBytesMax,
    fetchWaitMs: config.fetchWaitMs,
    fetchBytesMin: config.fetchBytesMin,
    consumerGroup: config.consumerGroup,
    writeRetryDelay: config.writeRetryDelay,
    offsetCommitIntervalMs: config.offsetCommitIntervalMs,
    outboxSweepIntervalMs: config.outboxSweepIntervalMs,
    cacheMarkIntervalMs: config.cacheMarkIntervalMs,
    stopCacheMarkTimeoutMs: config.stopCacheMarkTimeoutMs,
    outboxSweepAgeMs: config.outboxSweepAgeMs,
    relay,
    onFatal(error) {
      flushKafkaLog(kafka); // the process exits next, with no stop() to write them
      hooks.onFatal(error);
    },
    onWriteRetry(partition, attempt, error) {
      metrics.writeRetries.inc({ partition: String(partition) });
      hooks.onWriteRetry?.(partition, attempt, error);
    },
    ports: {
      pool,
      writer: new GroupCommitWriter(pool, {
        groupMessagesMax: config.writeGroupMessagesMax,
        timeoutMs: config.writeTimeoutMs,
        onStatement: (batches) => metrics.writeStatementBatches.observe(batches),
      }),
      routing: () => routing.current(),
      refreshRouting: () => routing.refresh(),
      clock: systemClock,
      seal,
      log,
      afterCommit(partition, committed) {
        metrics.commandsApplied.inc({ partition: String(partition) }, committed.commands);
        metrics.batchCommands.observe(committed.commands);
        metrics.commitSeconds.observe(committed.durationMs / 1000);
        hooks.afterCommit?.(partition, committed);
      },
      onFenced: (partition) => metrics.fenced.inc({ partition: String(partition) }),
      tracing: batchTracing(),
      cacheMark: {
        pool,
        sendBalances: (list) => balances.refresh(list),
        cacheTtlS: balances.ttlS,
        refreshesLanded: () => refresher.allLanded(),
        refreshesDropped: () => refresher.droppedTotal,
        log,
        // One pass over the accounts for the partitions a rebalance hands over together.
        passes: new CatchUpPasses({ pool, sendBalances: (list) => balances.refresh(list), cacheTtlS: balances.ttlS, log }),
      },
      onDeadLetter(partition, reason) {
        metrics.deadLetters.inc({ reason });
        hooks.onDeadLetter?.(partition, reason);
      },
      postCommit: {
        refreshBalances: (list) => refresher.refresh(list),
        markApplied: (ids) =>
          accepted.markApplied(ids).catch((error: unknown) => {
            if (!(error instanceof RedisCircuitOpenError)) throw error;
          }),
        // While the breaker is open it has said so once; a line per batch would add nothing.
        publishTerminal: (ids) =>
          notifier.publishTerminal(ids).catch((error: unknown) => {
            if (!(error instanceof RedisCircuitOpenError)) throw error;
          }),
        relay: (partition, rows, trace) => void relay.relay(partition, rows, trace),
        resumeRelay: (partition) => relay.resume(partition),
      },
    },
  });
  routing.onChange(() => worker.forgetAccounts());

  const probe = new KafkaProbe(kafka);
  opened.push(() => probe.close());
  const health = new WorkerHealth({
    topic: topics.commands,
    groupId: config.groupId,
    memberId: () => worker.groupMemberId(),
    pool,
    pingRedis: () => ping(redis),
    kafka: probe,
    ownership: () => worker.ownership(),
    relayCounts: () => ({ published: relay.published, failures: relay.failures }),
    metrics,
    checkTimeoutMs: config.readyCheckTimeoutMs,
    writesFailingUnreadyMs: config.writesFailingUnreadyMs,
    openTransactionUnreadyMs: config.openTransactionUnreadyMs,
    logger,
  });
  // Up before the consumer joins: /healthz answers and /readyz says "not yet" meanwhile.
  const ops = await startOpsServer(config.opsHost, config.opsPort, {
    readiness: () => health.readiness(),
    metrics: async () => {
      await health.refreshMetrics();
      return { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() };
    },
    status: () => ({
      worker: config.workerId,
      ownership: worker.ownership().map((o) => ({ ...o, epoch: o.epoch?.toString() ?? null, nextOffset: o.nextOffset?.toString() ?? null })),
    }),
  }, config.opsNetworks).catch(failed);
  opened.push(() => closeServer(ops.server));
  logger.info('ops server listening', { url: `http://${config.opsHost}:${ops.port}`, endpoints: ['/healthz', '/readyz', '/metrics'] });
  await worker.start().catch(failed);
  // Published through the relay's producer: an EXPIRE_HOLD is a command like a leg.
  const expiry = new HoldExpiry({
    pool,
    producer,
    topic: topics.commands,
    routing: () => routing.current(),
    assigned: () => worker.assignedPartitions(),
    clock: systemClock,
    scanIntervalMs: config.holdExpiryScanMs,
    graceMs: config.holdExpiryGraceMs,
    holdsPerScanMax: config.holdExpiryHoldsPerScanMax,
    republishAfterMs: config.holdExpiryRepublishMs,
    log,
    warn: (message) => logger.warn(message),
  });
  expiry.start();

  return {
    worker,
    relay,
    pool,
    metrics,
    health,
    opsPort: ops.port,
    async stop() {
      await expiry.stop();
      await worker.stop();
      refresher.stop();
      await marks.stop();
      await producer.stop();
      await probe.close();
      flushKafkaLog(kafka); // kafkajs's repeats still folded: written before the process exits
      await routing.stop();
      redis.disconnect();
      await pool.end();
      await closeServer(ops.server);
    },
  };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
