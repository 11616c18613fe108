import { Kafka, type LogEntry, logLevel } from 'kafkajs';
import type { Logger } from '@ledgerline/logging';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  /** Per-request timeout; a restarting broker should fail a request, not hang it. */
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
  /** Where kafkajs's own lines go (as `component: kafkajs`); stderr when not given. */
  logger?: Logger;
}

export function createKafka(options: KafkaClientOptions): Kafka {
  const logger = options.logger?.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 8 },
    // kafkajs is noisy while a broker restarts (every retry is a warning); keep its errors.
    logLevel: logLevel.ERROR,
    logCreator: () => (entry) => (logger ? toLogger(logger, entry) : toStderr(entry)),
  });
}

function toLogger(logger: Logger, { namespace, level, log }: LogEntry): void {
  const { message, timestamp: _timestamp, logger: _name, ...fields } = log;
  const line = `${message ?? ''}`;
  const bound = { namespace, ...fields };
  if (level <= logLevel.ERROR) logger.error(line, bound);
  else if (level === logLevel.WARN) logger.warn(line, bound);
  else if (level === logLevel.INFO) logger.info(line, bound);
  else logger.debug(line, bound);
}

function toStderr({ level, log }: LogEntry): void {
  if (level <= logLevel.ERROR) {
    const { message, error } = log as { message?: string; error?: string };
    process.stderr.write(`[kafkajs] ${message ?? ''} ${error ?? ''}\n`);
  }
}
