import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Logger, createLogger, silentLogger } from '@ledgerline/logging';
import { loadWorkerConfig } from '../../apps/partition-worker/src/config';
import { type WorkerRuntime, startWorkerRuntime } from '../../apps/partition-worker/src/runtime';
import { type AppProcess, spawnApp } from './app-process';
import { roleUrl, testServices } from './env';

export { freePort } from './ports';

export interface WorkerTarget {
  databaseUrl: string;
  topicPrefix: string;
  redisKeyPrefix: string;
}

export function workerEnv(target: WorkerTarget, extra: Record<string, string> = {}): Record<string, string> {
  const services = testServices();
  return {
    KAFKA_BROKERS: services.kafkaBrokers.join(','),
    KAFKA_TOPIC_PREFIX: target.topicPrefix,
    LEDGERLINE_ENV: 'test',
    WORKER_DATABASE_URL: roleUrl(target.databaseUrl, 'worker'),
    REDIS_URL: services.redisUrl,
    REDIS_KEY_PREFIX: target.redisKeyPrefix,
    WORKER_OUTBOX_SWEEP_INTERVAL_MS: '500',
    WORKER_OUTBOX_SWEEP_AGE_MS: '1000',
    WORKER_RECONCILE_INTERVAL_MS: '0',
    // Any free port: several workers run at once, in this process or beside it.
    WORKER_OPS_PORT: '0',
    ...extra,
  };
}

/**
 * A real worker (real kafkajs, pg, ioredis) running inside the test process; `logger` for a
 * test that reads what it logs.
 */
export async function startWorker(target: WorkerTarget, extra: Record<string, string> = {}, logger?: Logger): Promise<WorkerRuntime & { fatal: Error[] }> {
  const fatal: Error[] = [];
  const config = loadWorkerConfig(workerEnv(target, { WORKER_ID: `test-worker-${Math.random().toString(16).slice(2, 8)}`, ...extra }));
  const runtime = await startWorkerRuntime(config, {
    logger: logger ?? (process.env.TEST_WORKER_LOG ? createLogger({ name: config.workerId, level: 'debug' }) : silentLogger),
    onFatal: (error) => fatal.push(error),
    defaultMetrics: false,
  });
  return { ...runtime, fatal };
}

/** A worker as its own OS process, for tests that kill it. */
export function spawnWorker(target: WorkerTarget, extra: Record<string, string> = {}): AppProcess {
  return spawnApp('apps/partition-worker/src/main.ts', workerEnv(target, extra));
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** Resolves once GET `baseUrl`/readyz answers 200 (a worker's ops server or the API). */
export async function waitReady(baseUrl: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(`${baseUrl}/readyz answering 200`, async () => {
    const response = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status === 200;
  }, timeoutMs, 200);
}

