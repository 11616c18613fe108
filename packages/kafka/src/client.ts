// Before kafkajs: it replaces a module of kafkajs's producer, which takes it when it loads.
import './message-grouping';
import { readFileSync } from 'node:fs';
import { Kafka, type SASLOptions, logLevel } from 'kafkajs';
import type { Logger } from '@ledgerline/logging';
import { installIdleTimerFix } from './idle-timer-fix';
import { kafkajsLogCreator } from './kafkajs-log';
import { installProduceEncoding } from './produce-encoding';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  /** Per-request timeout; a restarting broker should fail a request, not hang it. */
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
  /** How a failed request is retried: `retries` times, the delay growing from the first to the cap. */
  retry?: KafkaRetry;
  /** Where kafkajs's own lines go (as `component: kafkajs`); stderr when not given. */
  logger?: Logger;
  /** TLS and SASL for a shared broker (packages/config kafkaSecurity); omitted: plaintext. */
  security?: {
    ssl: boolean;
    sslCaFile: string | null;
    sasl: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | null;
  };
}

export interface KafkaRetry {
  retries: number;
  delayFirstMs: number;
  delayMaxMs: number;
}

/** What a client gets for what its options leave out (the apps pass their config's values). */
export const KAFKA_CLIENT_DEFAULTS = {
  requestTimeoutMs: 10_000,
  connectionTimeoutMs: 3_000,
  retry: { retries: 8, delayFirstMs: 100, delayMaxMs: 2_000 },
} as const;

declare const kafkaClientBrand: unique symbol;

/**
 * A connection to the cluster, as the rest of ledgerline holds it: an opaque handle passed to
 * this package's producers, consumer, admin and probe. It is kafkajs's client underneath, but
 * its type says nothing of it, so code outside packages/kafka cannot call the library through
 * it (the boundary check stops imports; this stops the calls).
 */
export interface KafkaClient {
  readonly [kafkaClientBrand]: 'KafkaClient';
}

/** Each client's `flushKafkaLog`, kept out of its opaque handle. */
const logFlushes = new WeakMap<KafkaClient, () => void>();

export function createKafka(options: KafkaClientOptions): KafkaClient {
  installIdleTimerFix();
  installProduceEncoding();
  const logger = options.logger?.child({ component: 'kafkajs' });
  const security = options.security;
  const logCreator = kafkajsLogCreator(logger);
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    ...(security?.ssl ? { ssl: security.sslCaFile ? { ca: [readFileSync(security.sslCaFile, 'utf8')] } : true } : {}),
    ...(security?.sasl ? { sasl: security.sasl as SASLOptions } : {}),
    requestTimeout: options.requestTimeoutMs ?? KAFKA_CLIENT_DEFAULTS.requestTimeoutMs,
    connectionTimeout: options.connectionTimeoutMs ?? KAFKA_CLIENT_DEFAULTS.connectionTimeoutMs,
    retry: kafkajsRetry(options.retry ?? KAFKA_CLIENT_DEFAULTS.retry),
    // kafkajs is noisy while a broker restarts (every retry is a warning); keep its errors.
    logLevel: logLevel.ERROR,
    logCreator,
  });
  logFlushes.set(kafka as unknown as KafkaClient, logCreator.flush);
  return kafka as unknown as KafkaClient;
}

/**
 * Writes now the counts of `kafka`'s repeated log lines still folded in their window
 * (kafkajs-log.ts): the apps call it when they stop, once the client's producers and consumers
 * are closed, so that a fault lasting until the shutdown is not logged as one line. Without it
 * a window's count is written only when the window ends, which a process that exits does not
 * wait for.
 */
export function flushKafkaLog(kafka: KafkaClient): void {
  logFlushes.get(kafka)?.();
}

/** The port's retry settings in kafkajs's words. */
export function kafkajsRetry(retry: KafkaRetry): { retries: number; initialRetryTime: number; maxRetryTime: number } {
  return { retries: retry.retries, initialRetryTime: retry.delayFirstMs, maxRetryTime: retry.delayMaxMs };
}
