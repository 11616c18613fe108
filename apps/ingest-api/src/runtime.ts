/**
 * Builds a running API from its config: the real adapters (pg, ioredis, kafkajs) wired to
 * buildApp. main.ts calls it for the process (and adds signals); integration tests may call
 * it to run the real thing in-process with their own database, key prefix and topics.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import { UnsafeConfigError, within } from '@ledgerline/config';
import { BatchingProducer, KafkaProbe, createKafka, flushKafkaLog, topicNames } from '@ledgerline/kafka';
import type { Clock } from '@ledgerline/domain';
import { type Logger, loggedUrl } from '@ledgerline/logging';
import { IdempotencyClaims, RoutingWatcher, appLoginProblem, assertSchemaCurrent, createPool, oldestOpenMoveSeconds } from '@ledgerline/postgres';
import {
  AcceptedTransfers,
  BalanceCache,
  TransferStatusWaiter,
  createRedis,
  createSubscriber,
  ping,
  waitUntilReady,
  reportBreakerChanges,
} from '@ledgerline/redis';
import type { Express } from 'express';
import { buildApp, startServer } from './app';
import type { ApiConfig } from './config';
import { createApiMetrics } from './metrics';
import { createRequestLimiter } from './rate-limits';
import { commandPublisher } from './tracing';
import { settledWaitKeys } from './status-read';

export interface ApiRuntime {
  app: Express;
  server: Server;
  /** The bound port (useful with PORT=0). */
  port: number;
  /** Stops accepting, lets requests in progress finish (up to the grace period), closes everything. */
  stop(): Promise<void>;
}

export interface ApiHooks {
  logger: Logger;
  /** This host's clock (tests give one that runs behind or ahead of Postgres's). */
  clock?: Clock;
}

export async function startApiRuntime(config: ApiConfig, hooks: ApiHooks): Promise<ApiRuntime> {
  const { logger } = hooks;
  const metrics = createApiMetrics();
  const pool = createPool({
    connectionString: config.databaseUrl,
    connectionsMax: config.pgConnectionsMax,
    connectTimeoutMs: config.pgConnectTimeoutMs,
    idleTimeoutMs: config.pgIdleTimeoutMs,
    queryTimeoutMs: config.pgQueryTimeoutMs,
    applicationName: 'ingest-api',
  });
  await assertSchemaCurrent(pool).catch(async (error: unknown) => {
    await pool.end();
    throw error;
  });
  // Production refuses a login no privilege bounds (a superuser, the schema owner under another
  // name): the config check sees only the URL's user and password.
  if (config.ledgerlineEnv === 'production') {
    const problem = await appLoginProblem(pool, 'ledgerline_api').catch(async (error: unknown) => {
      await pool.end();
      throw error;
    });
    if (problem !== null) {
      await pool.end();
      throw new UnsafeConfigError([`API_DATABASE_URL: ${problem}`]);
    }
  }
  // Routing is the one thing the API cannot serve without: fail start-up if Postgres is down.
  // It reports the routing version it holds (routing_observers): a bucket move waits until
  // every live API holds the bucket before it fences it.
  const routing = new RoutingWatcher(pool, config.routingRefreshMs, (e) => logger.warn('routing refresh failed', { error: e.message }), {
    instance: `api-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    role: 'api',
  });
  routing.onChange((table) => metrics.bucketsHeld.set(table.heldBucketCount));
  metrics.readOldestOpenMoveFrom(() => oldestOpenMoveSeconds(pool));
  metrics.bucketsHeld.set((await routing.start()).heldBucketCount);
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
  const redisConnection = { connectTimeoutMs: config.redisConnectTimeoutMs, reconnectDelayMsMax: config.redisReconnectDelayMsMax };
  const redis = createRedis(config.redisUrl, {
    ...redisConnection,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    breakerOpenMs: config.redisBreakerOpenMs,
    autoPipelining: true,
    onBreakerChange: reportBreakerChanges(metrics.redisCircuitOpen, (message) => logger.warn(message)),
  });
  const subscriber = createSubscriber(config.redisUrl, redisConnection);
  const waiter = new TransferStatusWaiter(subscriber, config.redisKeyPrefix, {
    waitersMax: config.longPollsMax,
    recheckMs: config.longPollRecheckMs,
    areTerminal: (keys) => settledWaitKeys(pool, keys),
    onError: (e) => logger.warn('long-poll re-check failed', { error: e.message }),
  });

  const kafka = createKafka({
    brokers: config.kafkaBrokers,
    clientId: `ingest-api-${process.pid}`,
    ...config.kafkaClient,
    logger,
    security: config.kafkaSecurity,
  });
  const producer = new BatchingProducer({
    kafka,
    lingerMs: config.produceLingerMs,
    batchSizeMax: config.produceBatchSizeMax,
    bufferMessagesMax: config.produceBufferMessagesMax,
    ackTimeoutMs: config.produceAckTimeoutMs,
    // One bound for both: a batch's group goes in one request (movements.ts groupsOf), and
    // separate publishes are packed up to the same size (the start checks the topic takes it).
    requestBytesMax: config.produceGroupBytesMax,
  });
  producer.onBatch = (size, durationMs, ok) => {
    metrics.produceBatchSize.observe(size);
    metrics.produceSeconds.observe({ outcome: ok ? 'ok' : 'failed' }, durationMs / 1000);
  };
  // Redis and Kafka are waited for together and at most dependencyStartWaitMs: the API
  // serves without them (Postgres fallbacks, 503 on POST) and /readyz says what is missing.
  const startWaitMs = config.dependencyStartWaitMs;
  await Promise.all([
    waitUntilReady(redis, startWaitMs).catch((e: Error) => logger.warn('redis not ready; serving without the cache', { error: e.message })),
    waiter.start(startWaitMs),
    within(producer.start(), startWaitMs, 'no answer').catch((e: Error) => logger.warn('kafka producer not connected yet', { error: e.message })),
  ]);
  // Kafka is ready when the producer has not failed recently, the cluster answers, and the
  // commands topic has once been found fit for what this API sends (commandsTopicProblem).
  const kafkaProbe = new KafkaProbe(kafka);
  const commandsTopic = topicNames(config.kafkaTopicPrefix).commands;
  let topicFit = false;
  const verifyCommandsTopic = async () => {
    const problem = await kafkaProbe.commandsTopicProblem(commandsTopic, config.kafkaDurability, config.produceGroupBytesMax);
    if (problem?.refuses === false) logger.warn('commands topic', { problem: problem.message });
    else if (problem !== null) throw new CommandsTopicError(problem.check === 'record-size' ? `${problem.message} (API_PRODUCE_GROUP_BYTES_MAX)` : problem.message);
    topicFit = true;
  };
  const checkKafka = async () => {
    if (!producer.isHealthy()) throw new Error('producer failed recently');
    await kafkaProbe.check();
    if (!topicFit) await verifyCommandsTopic();
  };
  // A commands topic less replicated than configured would make acks=all mean fewer disks
  // than the operator asked for; one whose records are too small for our produce requests
  // would refuse them; one that stores a producer's Snappy batch as it is would stop the
  // workers of its partition: refuse to start. Kafka unreachable: serve (POSTs answer 503) and let
  // readiness fail until the check has passed.
  try {
    await within(verifyCommandsTopic(), startWaitMs, 'no answer');
  } catch (error) {
    if (error instanceof CommandsTopicError) {
      await producer.stop().catch(() => undefined);
      await kafkaProbe.close();
      waiter.close();
      await routing.stop();
      redis.disconnect();
      subscriber.disconnect();
      await pool.end();
      throw error;
    }
    logger.warn('could not check the commands topic yet', { error: (error as Error).message });
  }

  const app = buildApp({
    config,
    pool,
    claims,
    publisher: commandPublisher(producer),
    routing,
    checkKafka,
    metrics,
    logger,
    clock: hooks.clock,
    limiter: createRequestLimiter(config.rateLimits, redis, `${config.redisKeyPrefix}rl:`),
    redis: {
      balances: new BalanceCache(redis, config.redisKeyPrefix),
      accepted: new AcceptedTransfers(redis, config.redisKeyPrefix, config.acceptedTtlS),
      waiter,
      ping: () => ping(redis),
    },
  });
  // Answers Node wrote before express (a malformed request, an Expect, a CONNECT): logged and
  // counted like the rest, at info as pino-http logs a 4xx.
  const server = await startServer(app, config.port, config.host, config.http, ({ status, code, id, method, url }) => {
    metrics.requests.inc({ method: method ?? 'unknown', route: 'unparsed', status: String(status) });
    logger.info('request answered before routing', { req: { id, method, ...loggedUrl(url) }, res: { statusCode: status }, code });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const drain = drainable(server);

  return {
    app,
    server,
    port,
    async stop() {
      await closeServer(server, config.shutdownGraceMs, drain, () => waiter.close());
      // Only now: requests in progress may still be publishing, or giving their key back,
      // though their connections were cut at the end of the grace (an outside review saw a
      // capture's publish meet a stopped producer and its key's release an ended pool).
      if (!(await routing.unleased(config.shutdownGraceMs))) logger.warn('stopping with requests still publishing', { waitedMs: config.shutdownGraceMs });
      await producer.stop();
      await kafkaProbe.close();
      flushKafkaLog(kafka); // kafkajs's repeats still folded: written before the process exits
      await routing.stop();
      redis.disconnect();
      subscriber.disconnect();
      await pool.end();
    },
  };
}

/** The commands topic cannot take what the API sends as configured (its replicas, min.insync.replicas or max.message.bytes). */
export class CommandsTopicError extends Error {
  override readonly name = 'CommandsTopicError';
}

/**
 * A server whose kept-alive connections can be told to close. Node's `server.close()` takes no
 * new connection, but a client keeping one alive goes on sending requests on it, each served
 * as usual and kept alive again: an outside review saw 313 new requests served over the 10 s
 * of the grace, then cut mid-request. Once `drain()` is called, every answer not yet begun
 * says `Connection: close`, and Node ends its connection after it.
 */
export function drainable(server: Server): { drain(): void } {
  const answering = new Set<ServerResponse>();
  let draining = false;
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (draining) {
      res.shouldKeepAlive = false;
      return;
    }
    answering.add(res);
    res.once('close', () => answering.delete(res));
  });
  return {
    drain() {
      draining = true;
      for (const res of answering) if (!res.headersSent) res.shouldKeepAlive = false;
      answering.clear();
    },
  };
}

/**
 * Graceful close: stop accepting, close kept-alive connections after their answer in
 * progress, answer long polls now (with the status they have), let other requests finish,
 * and cut whatever is left after the grace period.
 */
async function closeServer(server: Server, graceMs: number, connections: { drain(): void }, releaseLongPolls: () => void): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  connections.drain();
  releaseLongPolls();
  server.closeIdleConnections();
  const graceOver = new AbortController();
  const grace = sleep(graceMs, undefined, { signal: graceOver.signal }).then(
    () => server.closeAllConnections(),
    () => undefined, // aborted: everything closed in time
  );
  await Promise.race([closed, grace]);
  graceOver.abort();
}
