import { signDevToken } from '@ledgerline/auth';
import { createLogger, silentLogger } from '@ledgerline/logging';
import { loadApiConfig } from '../../apps/ingest-api/src/config';
import { type ApiRuntime, startApiRuntime } from '../../apps/ingest-api/src/runtime';
import { roleUrl, testServices } from './env';
import type { WorkerTarget } from './worker';

export const TEST_JWT_SECRET = 'integration-test-secret';

/**
 * The real API (real pg, ioredis, kafkajs) in-process on a free port, logging in to the
 * target's database as ledgerline_api. `extra` overrides the env; a key set to undefined
 * is removed (e.g. JWT_SECRET, to run with JWKS alone).
 */
export async function startApi(target: WorkerTarget, extra: Record<string, string | undefined> = {}): Promise<ApiRuntime & { url: string }> {
  const services = testServices();
  const env: Record<string, string | undefined> = {
    LEDGERLINE_ENV: 'test',
    PORT: '0',
    KAFKA_BROKERS: services.kafkaBrokers.join(','),
    KAFKA_TOPIC_PREFIX: target.topicPrefix,
    API_DATABASE_URL: roleUrl(target.databaseUrl, 'api'),
    REDIS_URL: services.redisUrl,
    REDIS_KEY_PREFIX: target.redisKeyPrefix,
    JWT_SECRET: TEST_JWT_SECRET,
    API_SHUTDOWN_GRACE_MS: '1000',
    ...extra,
  };
  const config = loadApiConfig(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)));
  const runtime = await startApiRuntime(config, {
    logger: process.env.TEST_API_LOG ? createLogger({ name: 'ingest-api', level: 'debug' }) : silentLogger,
  });
  return { ...runtime, url: `http://127.0.0.1:${runtime.port}` };
}

export function token(sub: string, scope = 'ledger:read ledger:write', ttlS = 3600): Promise<string> {
  return signDevToken({ sub, scope, secret: TEST_JWT_SECRET, ttlS });
}

export interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON under test
  headers: Headers;
}

/** A small HTTP client for tests: JSON in, JSON out, never throws on a status. */
export class Client {
  constructor(
    readonly baseUrl: string,
    private readonly bearer: string | null,
  ) {}

  async request(method: string, path: string, options: { body?: unknown; raw?: string; key?: string | null; headers?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    if (options.key !== null && method === 'POST') headers['idempotency-key'] = options.key ?? `k-${Math.random().toString(36).slice(2)}`;
    let body: string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON (metrics, docs): keep the text
    }
    return { status: response.status, body: parsed, headers: response.headers };
  }

  get(path: string) {
    return this.request('GET', path);
  }

  post(path: string, body: unknown, key?: string | null) {
    return this.request('POST', path, { body, key });
  }
}
