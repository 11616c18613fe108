import { randomUUID } from 'node:crypto';
import { signDevToken } from '@ledgerline/auth';
import type { Clock } from '@ledgerline/domain';
import { type CreateAccount, type LedgerlineClient, type MovementRequest, type TransferRequest, ledgerlineClient } from '@ledgerline/client';
import { type Logger, createLogger, silentLogger } from '@ledgerline/logging';
import { loadApiConfig } from '../../apps/ingest-api/src/config';
import { type ApiRuntime, startApiRuntime } from '../../apps/ingest-api/src/runtime';
import { type AppProcess, spawnApp } from './app-process';
import { roleUrl, testServices } from './env';
import type { WorkerTarget } from './worker';

export const TEST_JWT_SECRET = 'integration-test-secret';

/** The API's environment for a test target; a key of `extra` set to undefined is removed. */
export function apiEnv(target: WorkerTarget, extra: Record<string, string | undefined> = {}): Record<string, string> {
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
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/**
 * The real API (real pg, ioredis, kafkajs) in-process on a free port, logging in to the
 * target's database as ledgerline_api. `extra` overrides the env; a key set to undefined
 * is removed (e.g. JWT_SECRET, to run with JWKS alone). `logger` receives its lines (none
 * unless given, or TEST_API_LOG is set).
 */
export async function startApi(target: WorkerTarget, extra: Record<string, string | undefined> = {}, logger?: Logger, clock?: Clock): Promise<ApiRuntime & { url: string }> {
  const config = loadApiConfig(apiEnv(target, extra));
  const runtime = await startApiRuntime(config, {
    logger: logger ?? (process.env.TEST_API_LOG ? createLogger({ name: 'ingest-api', level: 'debug' }) : silentLogger),
    clock,
  });
  return { ...runtime, url: `http://127.0.0.1:${runtime.port}` };
}

/**
 * The API as its own OS process (apps/ingest-api/src/main.ts), for tests that signal it; a key
 * of `extra` set to undefined is left out of what it adds, not removed from the test's own
 * environment (spawnApp).
 */
export function spawnApi(target: WorkerTarget, extra: Record<string, string | undefined> = {}): AppProcess {
  return spawnApp('apps/ingest-api/src/main.ts', apiEnv(target, extra));
}

export function token(sub: string, scope = 'ledger:read ledger:write', ttlS = 3600): Promise<string> {
  return signDevToken({ sub, scope, secret: TEST_JWT_SECRET, ttlS });
}

/** An answer of the typed client: `data` on success, `error` (the Error body) otherwise. */
export interface Typed<T> {
  status: number;
  data: T | undefined;
  error: { error: { code: string; message: string; details?: unknown } } | undefined;
  headers: Headers;
}

async function typed<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<Typed<T>> {
  const { data, error, response } = await call;
  return { status: response.status, data, error: error as Typed<T>['error'], headers: response.headers };
}

const newKey = () => `k-${randomUUID()}`;

export interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON under test
  headers: Headers;
}

/**
 * The tests' HTTP client. What a well-behaved client sends goes through the typed client of
 * packages/client (generated from /openapi.json), so these tests exercise the contract as
 * its consumers see it: a path, parameter or body the document does not declare does not
 * compile. `request`/`get`/`post` send raw requests, for what no typed client would send
 * (malformed JSON, wrong types, unknown routes, undeclared methods). Never throws on a status.
 */
export class Client {
  /** The typed client, for calls the helpers below do not cover. */
  readonly api: LedgerlineClient;

  constructor(
    readonly baseUrl: string,
    private readonly bearer: string | null,
  ) {
    this.api = ledgerlineClient({ baseUrl, token: bearer });
  }

  openAccount(body: CreateAccount = { currency: 'USD' }, key = newKey()) {
    return typed(this.api.POST('/v1/accounts', { params: { header: { 'Idempotency-Key': key } }, body }));
  }

  transfer(body: TransferRequest, key = newKey()) {
    return typed(this.api.POST('/v1/transfers', { params: { header: { 'Idempotency-Key': key } }, body }));
  }

  deposit(body: MovementRequest, key = newKey()) {
    return typed(this.api.POST('/v1/deposits', { params: { header: { 'Idempotency-Key': key } }, body }));
  }

  withdraw(body: MovementRequest, key = newKey()) {
    return typed(this.api.POST('/v1/withdrawals', { params: { header: { 'Idempotency-Key': key } }, body }));
  }

  account(id: string) {
    return typed(this.api.GET('/v1/accounts/{id}', { params: { path: { id } } }));
  }

  balance(id: string) {
    return typed(this.api.GET('/v1/accounts/{id}/balance', { params: { path: { id } } }));
  }

  entries(id: string, query: { limit?: number; cursor?: string } = {}) {
    return typed(this.api.GET('/v1/accounts/{id}/entries', { params: { path: { id }, query } }));
  }

  transferStatus(id: string, waitMs?: number) {
    return typed(this.api.GET('/v1/transfers/{id}', { params: { path: { id }, query: waitMs === undefined ? {} : { wait_ms: waitMs } } }));
  }

  async request(method: string, path: string, options: { body?: unknown; raw?: string | Uint8Array; key?: string | null; headers?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    if (options.key !== null && method === 'POST') headers['idempotency-key'] = options.key ?? `k-${Math.random().toString(36).slice(2)}`;
    let body: string | Uint8Array | undefined;
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
