/**
 * Builds a running API from its config: the real adapters (pg, ioredis, kafkajs) wired to
 * buildApp. main.ts calls it for the process (and adds signals); integration tests may call
 * it to run the real thing in-process with their own database, key prefix and topics.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import type { Admin } from 'kafkajs';
import { BatchingProducer, createKafka } from '@ledgerline/kafka';
import { IdempotencyClaims, RoutingWatcher, createPool, findTerminalTransferIds } from '@ledgerline/postgres';
import {
  AcceptedTransfers,
  BalanceCache,
  TransferStatusWaiter,
  createRedis,
  createSubscriber,
  ping,
  waitUntilReady,
} from '@ledgerline/redis';
import type { Express } from 'express';
import { buildApp, startServer } from './app';
import type { ApiConfig } from './config';
import { createApiMetrics } from './metrics';

export interface ApiRuntime {
  app: Express;
  server: Server;
  /** The bound port (useful with PORT=0). */
  port: number;
  /** Stops accepting, lets requests in progress finish (up to the grace period), closes everything. */
  stop(): Promise<void>;
}

export interface ApiHooks {
  log(line: string): void;
}

/** How long start-up waits for Kafka and Redis before serving anyway (readyz says which is down). */
const DEPENDENCY_START_WAIT_MS = 5_000;

export async function startApiRuntime(config: ApiConfig, hooks: ApiHooks): Promise<ApiRuntime> {
  const { log } = hooks;
  const metrics = createApiMetrics();
  const pool = createPool({
    connectionString: config.databaseUrl,
    connectionsMax: config.pgConnectionsMax,
    connectTimeoutMs: config.pgConnectTimeoutMs,
    applicationName: 'ingest-api',
  });
  // Routing is the one thing the API cannot serve without: fail start-up if Postgres is down.
  // It reports the routing version it holds (routing_observers): a bucket move waits until
  // every live API holds the bucket before it fences it.
  const routing = new RoutingWatcher(pool, config.routingRefreshMs, (e) => log(`routing refresh failed: ${e.message}`), {
    instance: `api-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    role: 'api',
  });
  await routing.start();
  const claims = new IdempotencyClaims(pool, {
    batchSizeMax: config.idempotencyClaimBatchSizeMax,
    concurrentFlushesMax: config.idempotencyClaimFlushesMax,
  });
  claims.onFlush = (size, durationMs, ok) => {
    metrics.idempotencyClaimBatchSize.observe(size);
    metrics.idempotencyClaimSeconds.observe({ outcome: ok ? 'ok' : 'failed' }, durationMs / 1000);
  };

  // Auto-pipelining: the Redis commands of many requests in one event-loop turn leave in one
  // write and one read, instead of a syscall pair each.
  const redis = createRedis(config.redisUrl, { commandTimeoutMs: config.redisCommandTimeoutMs, autoPipelining: true });
  const subscriber = createSubscriber(config.redisUrl);
  const waiter = new TransferStatusWaiter(subscriber, config.redisKeyPrefix, {
    waitersMax: config.longPollsMax,
    recheckMs: config.longPollRecheckMs,
    areTerminal: (ids) => findTerminalTransferIds(pool, ids),
    onError: (e) => log(`long-poll re-check failed: ${e.message}`),
  });

  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: `ingest-api-${process.pid}`, requestTimeoutMs: config.produceAckTimeoutMs });
  const producer = new BatchingProducer({
    kafka,
    lingerMs: config.produceLingerMs,
    batchSizeMax: config.produceBatchSizeMax,
    bufferMessagesMax: config.produceBufferMessagesMax,
    ackTimeoutMs: config.produceAckTimeoutMs,
  });
  producer.onBatch = (size, durationMs, ok) => {
    metrics.produceBatchSize.observe(size);
    metrics.produceSeconds.observe({ outcome: ok ? 'ok' : 'failed' }, durationMs / 1000);
  };
  // Redis and Kafka are waited for together and at most DEPENDENCY_START_WAIT_MS: the API
  // serves without them (Postgres fallbacks, 503 on POST) and /readyz says what is missing.
  await Promise.all([
    waitUntilReady(redis, DEPENDENCY_START_WAIT_MS).catch((e: Error) => log(`${e.message}; serving without the cache`)),
    waiter.start(DEPENDENCY_START_WAIT_MS),
    withTimeout(producer.start(), DEPENDENCY_START_WAIT_MS).catch((e: Error) => log(`kafka producer not connected yet: ${e.message}`)),
  ]);
  const kafkaCheck = new KafkaReadiness(kafka.admin(), () => producer.isHealthy());

  const app = buildApp({
    config,
    pool,
    claims,
    publisher: producer,
    routing,
    checkKafka: () => kafkaCheck.check(),
    metrics,
    log,
    redis: {
      balances: new BalanceCache(redis, config.redisKeyPrefix),
      accepted: new AcceptedTransfers(redis, config.redisKeyPrefix, config.acceptedTtlS),
      waiter,
      ping: () => ping(redis),
    },
  });
  const server = await startServer(app, config.port, config.host);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;

  return {
    app,
    server,
    port,
    async stop() {
      await closeServer(server, config.shutdownGraceMs, () => waiter.close());
      // Only now: requests in progress may still have been publishing.
      await producer.stop();
      await kafkaCheck.close();
      routing.stop();
      redis.disconnect();
      subscriber.disconnect();
      await pool.end();
    },
  };
}

/**
 * Kafka is ready when the producer has not failed recently and the cluster answers a
 * metadata request. The admin client connects lazily and is reused between probes.
 */
class KafkaReadiness {
  private connected: Promise<void> | null = null;

  constructor(
    private readonly admin: Admin,
    private readonly producerHealthy: () => boolean,
  ) {}

  async check(): Promise<void> {
    if (!this.producerHealthy()) throw new Error('producer failed recently');
    this.connected ??= this.admin.connect().catch((error: Error) => {
      this.connected = null;
      throw error;
    });
    await this.connected;
    await this.admin.describeCluster();
  }

  async close(): Promise<void> {
    await this.admin.disconnect().catch(() => undefined);
  }
}

/**
 * Graceful close: stop accepting, answer long polls now (with the status they have), let
 * other requests finish, and cut whatever is left after the grace period.
 */
async function closeServer(server: Server, graceMs: number, releaseLongPolls: () => void): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  releaseLongPolls();
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, graceMs);
  });
  await Promise.race([closed, grace]);
  clearTimeout(timer);
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
