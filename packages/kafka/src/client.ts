import { Kafka, logLevel } from 'kafkajs';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  /** Per-request timeout; a restarting broker should fail a request, not hang it. */
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
}

export function createKafka(options: KafkaClientOptions): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 8 },
    logLevel: logLevel.ERROR,
    logCreator:
      () =>
      ({ level, log }) => {
        // kafkajs is noisy while a broker restarts; keep errors, one line each.
        if (level <= logLevel.ERROR) {
          const { message, error } = log as { message?: string; error?: string };
          process.stderr.write(`[kafkajs] ${message ?? ''} ${error ?? ''}\n`);
        }
      },
  });
}
