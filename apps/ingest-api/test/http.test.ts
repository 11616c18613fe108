// Proves the HTTP layer keeps the contract with in-memory ports: auth and scopes, input errors as 4xx (never 500), the idempotent 202 flow, and 429/503 with the key released.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { signDevToken } from '@ledgerline/auth';
import { transferIdFor } from '@ledgerline/domain';
import { BackpressureError, BrokerUnavailableError } from '@ledgerline/kafka';
import { decodeCommand } from '@ledgerline/schemas';
import { startServer } from '../src/app';
import { SECRET, buildTestApp } from './support/fakes';

let server: Server;
let base: string;
let t: ReturnType<typeof buildTestApp>;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  t = buildTestApp({ API_REQUEST_BODY_BYTES_MAX: '2048' });
  server = await startServer(t.app, 0, '127.0.0.1');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  tokens.alice = await signDevToken({ sub: 'alice', scope: 'ledger:read ledger:write', secret: SECRET, ttlS: 600 });
  tokens.bob = await signDevToken({ sub: 'bob', scope: 'ledger:read ledger:write', secret: SECRET, ttlS: 600 });
  tokens.reader = await signDevToken({ sub: 'alice', scope: 'ledger:read', secret: SECRET, ttlS: 600 });
  tokens.admin = await signDevToken({ sub: 'ops', scope: 'ledger:admin', secret: SECRET, ttlS: 600 });
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

interface Call {
  method?: string;
  token?: string | null;
  body?: unknown;
  raw?: string;
  key?: string | null;
  contentType?: string;
}

async function call(path: string, options: Call = {}) {
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? tokens.alice : options.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.key !== null && (options.method ?? 'GET') === 'POST') headers['Idempotency-Key'] = options.key ?? randomUUID();
  const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (body !== undefined) headers['Content-Type'] = options.contentType ?? 'application/json';
  const response = await fetch(`${base}${path}`, { method: options.method ?? 'GET', headers, body });
  const text = await response.text();
  let json: { error?: { code: string; details?: unknown } } & Record<string, unknown> = {};
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON (metrics, docs)
  }
  return { status: response.status, headers: response.headers, json, text };
}

const account = () => {
  const id = randomUUID();
  t.pool.addAccount(id, 'alice');
  return id;
};

describe('authentication and authorisation', () => {
  it('401 without a token, with a bad one, and with an expired one', async () => {
    expect((await call('/v1/accounts/' + randomUUID(), { token: null })).json.error?.code).toBe('TOKEN_MISSING');
    expect((await call('/v1/accounts/' + randomUUID(), { token: 'garbage' })).status).toBe(401);
    const expired = await signDevToken({ sub: 'alice', scope: 'ledger:read', secret: SECRET, ttlS: 1, nowS: 1_000 });
    const answer = await call('/v1/accounts/' + randomUUID(), { token: expired });
    expect(answer.status).toBe(401);
    expect(answer.json.error?.code).toBe('TOKEN_EXPIRED');
  });

  it('403 for a missing scope, and for moving money from an account that is not yours', async () => {
    const from = account();
    const body = { from_account_id: from, to_account_id: account(), amount: '5', currency: 'USD' };
    expect((await call('/v1/transfers', { method: 'POST', token: tokens.reader, body })).status).toBe(403);
    expect((await call('/v1/transfers', { method: 'POST', token: tokens.bob, body })).status).toBe(403);
    expect((await call('/v1/deposits', { method: 'POST', body: { account_id: from, amount: '5', currency: 'USD' } })).status).toBe(403);
  });

  it("404 for someone else's account, 200 for the owner and for an admin", async () => {
    const id = account();
    expect((await call(`/v1/accounts/${id}`, { token: tokens.bob })).status).toBe(404);
    expect((await call(`/v1/accounts/${id}/balance`, { token: tokens.bob })).status).toBe(404);
    expect((await call(`/v1/accounts/${id}`)).status).toBe(200);
    expect((await call(`/v1/accounts/${id}`, { token: tokens.admin })).status).toBe(200);
  });
});

describe('bad input is 4xx, never 500', () => {
  it('400 with field paths', async () => {
    const answer = await call('/v1/transfers', { method: 'POST', body: { from_account_id: 'x', amount: 5, currency: 'usd', extra: 1 } });
    expect(answer.status).toBe(400);
    expect(answer.json.error?.code).toBe('VALIDATION_FAILED');
    const paths = (answer.json.error?.details as { path: string }[]).map((d) => d.path).sort();
    expect(paths).toEqual(expect.arrayContaining(['amount', 'currency', 'extra', 'from_account_id', 'to_account_id']));
  });

  it('400 for a missing or invalid Idempotency-Key', async () => {
    const body = { currency: 'USD' };
    expect((await call('/v1/accounts', { method: 'POST', body, key: null })).json.error?.code).toBe('VALIDATION_FAILED');
    expect((await call('/v1/accounts', { method: 'POST', body, key: 'has space' })).status).toBe(400);
    expect((await call('/v1/accounts', { method: 'POST', body, key: 'x'.repeat(129) })).status).toBe(400);
  });

  it('400 malformed JSON, 415 wrong content type, 413 too large', async () => {
    expect((await call('/v1/accounts', { method: 'POST', raw: '{"currency": ' })).json.error?.code).toBe('MALFORMED_JSON');
    expect((await call('/v1/accounts', { method: 'POST', raw: 'currency=USD', contentType: 'application/x-www-form-urlencoded' })).status).toBe(415);
    const big = await call('/v1/accounts', { method: 'POST', body: { currency: 'USD', metadata: { a: 'x'.repeat(5000) } } });
    expect(big.status).toBe(413);
    expect(big.json.error?.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('400 for NUL characters and cursors beyond int8', async () => {
    const nul = await call('/v1/accounts', { method: 'POST', body: { currency: 'USD', metadata: { note: 'a\u0000b' } } });
    expect(nul.status).toBe(400);
    expect((nul.json.error?.details as { path: string }[])[0]?.path).toBe('metadata.note');
    expect((await call(`/v1/accounts/${account()}/entries?cursor=9999999999999999999`)).status).toBe(400);
  });

  it('404 for unknown routes and for ids that are not UUIDs; 400 for wait_ms out of range', async () => {
    expect((await call('/nope', { token: null })).status).toBe(404);
    expect((await call('/v1/nope')).json.error?.code).toBe('NOT_FOUND');
    expect((await call('/v1/accounts/not-a-uuid')).status).toBe(404);
    expect((await call(`/v1/transfers/${randomUUID()}?wait_ms=30001`)).status).toBe(400);
  });
});

describe('accounts', () => {
  it('201 on create, 200 on replay, 422 when the key is reused with another body', async () => {
    const key = randomUUID();
    const created = await call('/v1/accounts', { method: 'POST', key, body: { currency: 'EUR' } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ owner: 'alice', currency: 'EUR', overdraft_limit: '0', status: 'OPEN' });
    expect(created.headers.get('location')).toBe(`/v1/accounts/${created.json.id}`);
    const replay = await call('/v1/accounts', { method: 'POST', key, body: { overdraft_limit: '0', currency: 'EUR' } });
    expect(replay.status).toBe(200);
    expect(replay.json.id).toBe(created.json.id);
    expect((await call('/v1/accounts', { method: 'POST', key, body: { currency: 'USD' } })).json.error?.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('balance comes from the cache when present, else from Postgres', async () => {
    const id = randomUUID();
    t.pool.addAccount(id, 'alice', { balance: 700n, seq: 3n });
    const fromPg = await call(`/v1/accounts/${id}/balance`);
    expect(fromPg.json).toMatchObject({ account_id: id, balance: '700', available: '700', version: '3', currency: 'USD' });
    await t.redis.balances.refresh([{ accountId: id, currency: 'USD', balance: 900n, seq: 4n, asOf: '2025-01-01T00:00:00.000Z' }]);
    expect((await call(`/v1/accounts/${id}/balance`)).json).toMatchObject({ balance: '900', version: '4' });
    t.redis.down = true;
    try {
      expect((await call(`/v1/accounts/${id}/balance`)).json).toMatchObject({ balance: '700', version: '3' });
    } finally {
      t.redis.down = false;
    }
  });
});

describe('money movements', () => {
  it('202 + Location once published to the routed partition; the replay is 200 with the same resource', async () => {
    const from = account();
    const to = randomUUID();
    const key = randomUUID();
    const body = { from_account_id: from.toUpperCase(), to_account_id: to, amount: '1234', currency: 'USD', description: 'rent' };
    const sentBefore = t.publisher.sent.length;
    const first = await call('/v1/transfers', { method: 'POST', key, body });
    expect(first.status).toBe(202);
    const id = transferIdFor('alice', key);
    expect(first.headers.get('location')).toBe(`/v1/transfers/${id}`);
    expect(first.json).toMatchObject({ id, kind: 'TRANSFER', status: 'ACCEPTED', from_account_id: from, to_account_id: to, amount: '1234', description: 'rent' });

    const message = t.publisher.sent[sentBefore]!;
    expect(message).toMatchObject({ topic: 'unit.commands', key: from, partition: t.routing.partitionOf(from) });
    const decoded = decodeCommand(Buffer.from(message.value));
    expect(decoded.ok && decoded.command).toMatchObject({ type: 'TRANSFER', transferId: id, amount: 1234n, principal: 'alice', admin: false });

    const replay = await call('/v1/transfers', { method: 'POST', key, body: { ...body, from_account_id: from } });
    expect(replay.status).toBe(200);
    expect(replay.json).toEqual(first.json);
    expect(t.publisher.sent.length).toBe(sentBefore + 1);

    const reused = await call('/v1/transfers', { method: 'POST', key, body: { ...body, amount: '1' } });
    expect(reused.status).toBe(422);
    expect(reused.json.error?.code).toBe('IDEMPOTENCY_KEY_REUSED');

    const read = await call(`/v1/transfers/${id}`);
    expect(read.json).toMatchObject({ id, status: 'ACCEPTED' });
    expect((await call(`/v1/transfers/${id}`, { token: tokens.bob })).status).toBe(404);
  });

  it('a deposit needs admin and carries the admin flag', async () => {
    const id = account();
    const answer = await call('/v1/deposits', { method: 'POST', token: tokens.admin, body: { account_id: id, amount: '50', currency: 'USD' } });
    expect(answer.status).toBe(202);
    const decoded = decodeCommand(Buffer.from(t.publisher.sent[t.publisher.sent.length - 1]!.value));
    expect(decoded.ok && decoded.command).toMatchObject({ type: 'DEPOSIT', accountId: id, admin: true, principal: 'ops' });
  });

  it('429 on backpressure and 503 when Kafka is down, with Retry-After, and the key can be retried', async () => {
    const body = { account_id: account(), amount: '5', currency: 'USD' };
    const key = randomUUID();
    t.publisher.failWith = new BackpressureError('full');
    try {
      const busy = await call('/v1/withdrawals', { method: 'POST', key, body });
      expect(busy.status).toBe(429);
      expect(busy.headers.get('retry-after')).toBe('1');
      t.publisher.failWith = new BrokerUnavailableError('down');
      const down = await call('/v1/withdrawals', { method: 'POST', key, body });
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('2');
    } finally {
      t.publisher.failWith = null;
    }
    expect((await call('/v1/withdrawals', { method: 'POST', key, body })).status).toBe(202);
  });

  it('with Redis down, the idempotency check falls back to Postgres', async () => {
    const body = { account_id: account(), amount: '5', currency: 'USD' };
    const key = randomUUID();
    const id = transferIdFor('alice', key);
    t.pool.transfers.set(id, {
      id, kind: 'WITHDRAWAL', status: 'COMPLETED', reason: null, from_account_id: body.account_id, to_account_id: null,
      amount: '5', currency: 'USD', principal: 'alice', request_hash: 'another-body', description: null, source_partition: 0,
      created_at: new Date(), completed_at: new Date(),
    });
    t.redis.down = true;
    try {
      expect((await call('/v1/withdrawals', { method: 'POST', key, body })).status).toBe(422);
      // Reading works too: Postgres has the row, Redis is not needed.
      expect((await call(`/v1/transfers/${id}`)).json).toMatchObject({ id, status: 'COMPLETED' });
    } finally {
      t.redis.down = false;
    }
  });

  it('a terminal status read from Postgres repairs the cached balances (read-your-writes)', async () => {
    const from = randomUUID();
    t.pool.addAccount(from, 'alice', { balance: 95n, seq: 2n });
    await t.redis.balances.refresh([{ accountId: from, currency: 'USD', balance: 100n, seq: 1n, asOf: 'old' }]);
    const id = randomUUID();
    t.pool.transfers.set(id, {
      id, kind: 'WITHDRAWAL', status: 'COMPLETED', reason: null, from_account_id: from, to_account_id: null,
      amount: '5', currency: 'USD', principal: 'alice', request_hash: 'h', description: null, source_partition: 0,
      created_at: new Date(), completed_at: new Date(),
    });
    expect((await call(`/v1/transfers/${id}`)).json.status).toBe('COMPLETED');
    expect((await call(`/v1/accounts/${from}/balance`)).json).toMatchObject({ balance: '95', version: '2' });
  });
});

describe('operations', () => {
  it('healthz, metrics, openapi and docs answer', async () => {
    expect((await call('/healthz', { token: null })).status).toBe(200);
    const metrics = await call('/metrics', { token: null });
    expect(metrics.text).toContain('ledger_api_requests_total');
    expect(metrics.text).toContain('route="/v1/transfers"');
    expect((await call('/openapi.json', { token: null })).json.openapi).toBe('3.1.0');
    expect((await call('/docs', { token: null })).text).toContain('/openapi.json');
  });

  it('readyz names the dependency that is down', async () => {
    expect((await call('/readyz', { token: null })).json).toEqual({ status: 'ok', checks: { kafka: 'ok', postgres: 'ok', redis: 'ok' } });
    t.redis.down = true;
    try {
      const answer = await call('/readyz', { token: null });
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('2');
      expect(answer.json.error).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', message: 'redis unreachable' });
    } finally {
      t.redis.down = false;
    }
  });
});
