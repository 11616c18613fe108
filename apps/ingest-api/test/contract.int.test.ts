// Proves the HTTP contract of docs/api.md end to end against the real API, a real worker,
// Kafka, Postgres through PgBouncer and Redis: every endpoint and every status code path.
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import type { Express } from 'express';
import { apiDocument } from '../src/routes';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { Client, startApi, token } from '../../../test/support/api';
import { testServices } from '../../../test/support/env';
import { createRedis } from '@ledgerline/redis';
import { startWorker } from '../../../test/support/worker';

const PARTITIONS = 4;

describe('HTTP contract v1', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let api: Awaited<ReturnType<typeof startApi>>;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let alice: Client;
  let bob: Client;
  let admin: Client;
  let readOnly: Client;
  let anonymous: Client;

  beforeAll(async () => {
    db = await createTestDatabase(PARTITIONS);
    topics = await createTestTopics(PARTITIONS);
    const target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
    worker = await startWorker(target);
    api = await startApi(target);
    alice = new Client(api.url, await token('alice'));
    bob = new Client(api.url, await token('bob'));
    admin = new Client(api.url, await token('ops', 'ledger:admin'));
    readOnly = new Client(api.url, await token('alice', 'ledger:read'));
    anonymous = new Client(api.url, null);
  });

  afterAll(async () => {
    await api.stop();
    await worker.stop();
    expect(worker.fatal).toEqual([]);
    await topics.delete();
    await db.drop();
  });

  // Well-formed requests go through the typed client generated from /openapi.json (the
  // Client helpers); the raw request/get/post are for what no typed client would send.
  async function openAccount(client: Client): Promise<string> {
    const answer = await client.openAccount();
    expect(answer.status).toBe(201);
    return answer.data!.id;
  }

  async function settled(client: Client, id: string) {
    const answer = await client.transferStatus(id, 15000);
    expect(answer.status).toBe(200);
    return answer.data!;
  }

  async function deposit(accountId: string, amount: string): Promise<void> {
    const answer = await admin.deposit({ account_id: accountId, amount, currency: 'USD' });
    expect(answer.status).toBe(202);
    expect((await settled(admin, answer.data!.id)).status).toBe('COMPLETED');
  }

  const balanceOf = async (client: Client, id: string) => (await client.balance(id)).data?.balance;

  describe('accounts', () => {
    test('open (201), replay (200, same resource), reuse with another body (422)', async () => {
      const key = randomUUID();
      // Credit is granted by an admin (a non-admin's overdraft is a 403: security.int.test.ts).
      const created = await admin.openAccount({ currency: 'EUR', overdraft_limit: '500', metadata: { tag: 'x' } }, key);
      expect(created.status).toBe(201);
      expect(created.data).toMatchObject({ owner: 'ops', currency: 'EUR', overdraft_limit: '500', status: 'OPEN' });
      const replay = await admin.openAccount({ currency: 'EUR', overdraft_limit: '500', metadata: { tag: 'x' } }, key);
      expect(replay.status).toBe(200);
      expect(replay.data).toEqual(created.data);
      const reused = await admin.openAccount({ currency: 'USD' }, key);
      expect(reused.status).toBe(422);
      expect(reused.error?.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    });

    test('GET account and balance; another owner gets 404, not a leak', async () => {
      const id = await openAccount(alice);
      const account = await alice.account(id);
      expect(account.status).toBe(200);
      expect(account.data?.id).toBe(id);
      const balance = await alice.balance(id);
      expect(balance.status).toBe(200);
      expect(balance.data).toMatchObject({ account_id: id, currency: 'USD', balance: '0', available: '0', version: '0' });
      expect((await bob.account(id)).status).toBe(404);
      expect((await bob.balance(id)).status).toBe(404);
      expect((await admin.account(id)).status).toBe(200);
      expect((await alice.account(randomUUID())).status).toBe(404);
    });

    test('entries page newest first by cursor', async () => {
      const id = await openAccount(alice);
      for (const amount of ['1', '2', '3']) await deposit(id, amount);
      const first = await alice.entries(id, { limit: 2 });
      expect(first.status).toBe(200);
      expect(first.data!.entries.map((e) => e.amount)).toEqual(['3', '2']);
      expect(first.data!.entries[0]).toMatchObject({ seq: '3', balance_after: '6' });
      const second = await alice.entries(id, { limit: 2, cursor: first.data!.next_cursor! });
      expect(second.data!.entries.map((e) => e.amount)).toEqual(['1']);
      expect(second.data!.next_cursor).toBeNull();
    });
  });

  describe('money movement', () => {
    test('a cross-partition transfer goes ACCEPTED -> COMPLETED; balances read-your-writes', async () => {
      const from = await openAccount(alice);
      const to = await openAccount(bob);
      await deposit(from, '1000');
      const sent = await alice.transfer({ from_account_id: from, to_account_id: to, amount: '250', currency: 'USD', description: 'rent' });
      expect(sent.status).toBe(202);
      expect(sent.headers.get('location')).toBe(`/v1/transfers/${sent.data!.id}`);
      expect(sent.data).toMatchObject({ kind: 'TRANSFER', amount: '250', currency: 'USD', from_account_id: from, to_account_id: to });
      expect(['ACCEPTED', 'PROCESSING', 'COMPLETED']).toContain(sent.data!.status);
      expect(await settled(alice, sent.data!.id)).toMatchObject({ status: 'COMPLETED' });
      expect(await balanceOf(alice, from)).toBe('750');
      expect(await balanceOf(bob, to)).toBe('250');
    });

    test('replay returns the same transfer; another body with the key is 422; a rejection uses the key up', async () => {
      const from = await openAccount(alice);
      const to = await openAccount(bob);
      const key = randomUUID();
      const body = { from_account_id: from, to_account_id: to, amount: '5', currency: 'USD' };
      const first = await alice.transfer(body, key);
      expect(first.status).toBe(202);
      expect(await settled(alice, first.data!.id)).toMatchObject({ status: 'REJECTED', reason: 'INSUFFICIENT_FUNDS' });
      await deposit(from, '100');
      const replay = await alice.transfer(body, key);
      expect([200, 202]).toContain(replay.status);
      expect(replay.data).toMatchObject({ id: first.data!.id, status: 'REJECTED', reason: 'INSUFFICIENT_FUNDS' });
      const reused = await alice.transfer({ ...body, amount: '6' }, key);
      expect(reused.status).toBe(422);
      expect(reused.error?.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
      expect(await balanceOf(alice, from)).toBe('100');
    });

    test('a reused key stays 422 even when Redis forgot it and the first command is not applied yet', async () => {
      // Regression (found by the chaos run): the refusal must not depend on Redis or on the
      // worker having applied the first command. No worker consumes these topics.
      const idle = await createTestTopics(PARTITIONS);
      const target = { databaseUrl: db.url, topicPrefix: idle.prefix, redisKeyPrefix: `${idle.prefix}:` };
      const unapplied = await startApi(target);
      const redis = createRedis(testServices().redisUrl);
      try {
        const ops = new Client(unapplied.url, await token('ops', 'ledger:admin'));
        const account = await openAccount(alice);
        const key = randomUUID();
        const first = await ops.deposit({ account_id: account, amount: '100', currency: 'USD' }, key);
        expect(first.status).toBe(202);
        const keys = await redis.keys(`${idle.prefix}:*`);
        if (keys.length) await redis.del(...keys); // Redis restarted empty
        const reused = await ops.deposit({ account_id: account, amount: '999', currency: 'USD' }, key);
        expect(reused.status).toBe(422);
        const replay = await ops.deposit({ account_id: account, amount: '100', currency: 'USD' }, key);
        expect([200, 202]).toContain(replay.status);
        expect(replay.data?.id).toBe(first.data!.id);
      } finally {
        redis.disconnect();
        await unapplied.stop();
        await idle.delete();
      }
    });

    test('withdrawals by the owner; deposits need ledger:admin (403)', async () => {
      const id = await openAccount(alice);
      await deposit(id, '40');
      const withdrawn = await alice.withdraw({ account_id: id, amount: '15', currency: 'USD' });
      expect(withdrawn.status).toBe(202);
      expect(await settled(alice, withdrawn.data!.id)).toMatchObject({ status: 'COMPLETED', kind: 'WITHDRAWAL' });
      expect(await balanceOf(alice, id)).toBe('25');
      const forbidden = await alice.deposit({ account_id: id, amount: '1', currency: 'USD' });
      expect(forbidden.status).toBe(403);
    });

    test('moving money from an account you do not own is 403 and publishes nothing', async () => {
      const bobs = await openAccount(bob);
      await deposit(bobs, '10');
      const theft = await alice.transfer({ from_account_id: bobs, to_account_id: randomUUID(), amount: '10', currency: 'USD' });
      expect(theft.status).toBe(403);
      expect(await balanceOf(bob, bobs)).toBe('10');
    });

    test('a destination that does not exist ends REJECTED with DESTINATION_NOT_FOUND and the money comes back', async () => {
      const from = await openAccount(alice);
      await deposit(from, '70');
      const sent = await alice.transfer({ from_account_id: from, to_account_id: randomUUID(), amount: '70', currency: 'USD' });
      expect(await settled(alice, sent.data!.id)).toMatchObject({ status: 'REJECTED', reason: 'DESTINATION_NOT_FOUND' });
      expect(await balanceOf(alice, from)).toBe('70');
    });

    test('GET a transfer of someone else is 404; a wait_ms beyond 30000 is 400', async () => {
      const from = await openAccount(alice);
      const sent = await alice.transfer({ from_account_id: from, to_account_id: randomUUID(), amount: '1', currency: 'USD' });
      expect((await bob.transferStatus(sent.data!.id)).status).toBe(404);
      expect((await alice.get(`/v1/transfers/${sent.data!.id}?wait_ms=30001`)).status).toBe(400);
      expect((await alice.transferStatus(randomUUID())).status).toBe(404);
    });
  });

  describe('errors', () => {
    test('401 for a missing, malformed or expired token', async () => {
      expect((await anonymous.get('/v1/accounts/' + randomUUID())).status).toBe(401);
      expect((await new Client(api.url, 'not-a-jwt').get('/v1/accounts/' + randomUUID())).status).toBe(401);
      const expired = new Client(api.url, await token('alice', 'ledger:read', -10));
      const answer = await expired.get('/v1/accounts/' + randomUUID());
      expect(answer.status).toBe(401);
      expect(answer.body.error.code).toMatch(/^[A-Z_]+$/);
    });

    test('403 when the scope does not allow it', async () => {
      expect((await readOnly.openAccount({ currency: 'USD' })).status).toBe(403);
    });

    test('400 with field paths for invalid bodies, and nothing is published', async () => {
      const from = await openAccount(alice);
      const bad = await alice.post('/v1/transfers', { from_account_id: from, to_account_id: from, amount: 10, currency: 'usd' });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('VALIDATION_FAILED');
      const paths = JSON.stringify(bad.body.error.details);
      expect(paths).toMatch(/amount/);
      expect(paths).toMatch(/currency/);
      for (const amount of ['0', '-1', '1.5', '01', '1e3', '9999999999999999999', '99999999999999999999']) {
        const answer = await alice.post('/v1/withdrawals', { account_id: from, amount, currency: 'USD' });
        expect([amount, answer.status]).toEqual([amount, 400]);
      }
      const missingKey = await alice.post('/v1/transfers', { from_account_id: from, to_account_id: randomUUID(), amount: '1', currency: 'USD' }, null);
      expect(missingKey.status).toBe(400);
      const malformed = await alice.request('POST', '/v1/transfers', { raw: '{"from_account_id":' });
      expect(malformed.status).toBe(400);
      // Postgres text and jsonb cannot hold NUL: refused at the edge (http-input.ts), never
      // accepted as a command whose write would fail its partition forever.
      const nul = await alice.post('/v1/transfers', { from_account_id: from, to_account_id: randomUUID(), amount: '1', currency: 'USD', description: 'a\u0000b' });
      expect(nul.status).toBe(400);
      expect(JSON.stringify(nul.body.error.details)).toMatch(/description/);
      for (const metadata of [{ 'k\u0000': 'v' }, { k: 'v\u0000' }, { k: { deep: ['\u0000'] } }]) {
        const account = await alice.post('/v1/accounts', { currency: 'USD', metadata });
        expect([JSON.stringify(metadata), account.status]).toEqual([JSON.stringify(metadata), 400]);
      }
      const transfers = await db.pool.query('SELECT count(*) AS n FROM transfers WHERE from_account_id = $1', [from]);
      expect(transfers.rows[0].n).toBe('0');
    });

    test('413 for an oversized body, 415 for a non-JSON content type, 404 for an unknown route', async () => {
      const big = await alice.request('POST', '/v1/accounts', { raw: JSON.stringify({ currency: 'USD', metadata: { x: 'y'.repeat(40_000) } }) });
      expect(big.status).toBe(413);
      const text = await alice.request('POST', '/v1/accounts', { raw: 'currency=USD', headers: { 'content-type': 'text/plain' } });
      expect(text.status).toBe(415);
      expect((await alice.get('/v1/nothing-here')).status).toBe(404);
    });

    test('a JSON text that is not an object is VALIDATION_FAILED; only text that is not JSON is MALFORMED_JSON', async () => {
      // An array too, on any route, the batch's included: the body is refused whole, without details (docs/api.md).
      for (const [path, raw] of [...['"hello"', '5', 'null', 'true', '[]', '[{"currency":"USD"}]'].map((r) => ['/v1/accounts', r]), ['/v1/batch', '[{"items":[]}]']]) {
        const answer = await alice.request('POST', path!, { raw });
        expect([raw, answer.status, answer.body.error]).toEqual([raw, 400, { code: 'VALIDATION_FAILED', message: 'request body must be a JSON object' }]);
      }
      for (const raw of ['{', 'hello', '{"currency": "USD",}']) {
        const answer = await alice.request('POST', '/v1/accounts', { raw });
        expect([raw, answer.status, answer.body.error.code]).toEqual([raw, 400, 'MALFORMED_JSON']);
      }
    });

    test('a declared Content-Length over the limit is a 413 at once, without waiting for the body', async () => {
      const { hostname, port } = new URL(api.url);
      const bearer = await token('alice');
      // Headers only: the 10 MB body never comes. body-parser alone answered once the request timed out.
      const head = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => {
          socket.write(`POST /v1/transfers HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${bearer}\r\nContent-Type: application/json\r\nIdempotency-Key: ${randomUUID()}\r\nContent-Length: 10000000\r\n\r\n`);
        });
        let received = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => {
          received += chunk;
          if (received.includes('\r\n\r\n')) {
            socket.destroy();
            resolve(received);
          }
        });
        socket.on('error', reject);
        // The bound on the wait: an answer that waited for the body never comes within it.
        socket.setTimeout(10_000, () => reject(new Error('no answer within 10 s')));
      });
      expect(head).toMatch(/^HTTP\/1\.1 413 /);
      expect(head.toLowerCase()).toContain('connection: close');
    });
  });

  describe('operations', () => {
    test('healthz, readyz, metrics and the OpenAPI spec', async () => {
      expect((await anonymous.get('/healthz')).status).toBe(200);
      const ready = await anonymous.get('/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body.checks).toEqual({ kafka: 'ok', postgres: 'ok', redis: 'ok' });
      const metrics = await anonymous.get('/metrics');
      expect(metrics.status).toBe(200);
      expect(String(metrics.body)).toMatch(/# TYPE/);
      const spec = await anonymous.get('/openapi.json');
      expect(spec.status).toBe(200);
      expect(Object.keys(spec.body.paths)).toEqual(
        expect.arrayContaining(['/v1/accounts', '/v1/transfers', '/v1/deposits', '/v1/withdrawals']),
      );
      expect((await anonymous.get('/docs')).status).toBe(200);
    });

    test('the typed client answers the non-JSON routes with their text, the JSON ones parsed (it threw a SyntaxError: an outside review)', async () => {
      const metrics = await anonymous.api.GET('/metrics');
      expect([metrics.response.status, typeof metrics.data]).toEqual([200, 'string']);
      expect(metrics.data).toMatch(/^# HELP /);
      const page = await anonymous.api.GET('/docs');
      expect([page.response.status, page.data]).toEqual([200, expect.stringContaining('/docs/assets/swagger-ui-bundle.js')]);
      const css = await anonymous.api.GET('/docs/assets/{file}', { params: { path: { file: 'swagger-ui.css' } } });
      expect([css.response.status, css.data]).toEqual([200, expect.stringContaining('.swagger-ui')]);
      const ready = await anonymous.api.GET('/readyz');
      expect([ready.response.status, ready.data]).toEqual([200, { status: 'ok', checks: { kafka: 'ok', postgres: 'ok', redis: 'ok' } }]);
    });

    test('the spec documents every route the running app serves, and no other', () => {
      const documented = Object.entries(apiDocument().paths ?? {}).flatMap(([path, ops]) =>
        Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${path}`),
      );
      expect(servedRoutes(api.app).sort()).toEqual(documented.sort());
    });

    test('a method a declared path does not have answers 405 with Allow, before auth and body checks', async () => {
      const paths = apiDocument().paths ?? {};
      for (const [template, ops] of Object.entries(paths)) {
        const path = template.replace('{id}', randomUUID()).replace('{file}', 'swagger-ui.css');
        const declared = Object.keys(ops as object).map((m) => m.toUpperCase());
        // fetch refuses TRACE and CONNECT itself; HEAD comes with GET.
        for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].filter((m) => !declared.includes(m))) {
          const body = method === 'GET' ? {} : { raw: 'not json', headers: { 'content-type': 'text/plain' } };
          const answer = await anonymous.request(method, path, body);
          expect({ method, path: template, status: answer.status, code: answer.body?.error?.code }).toEqual({
            method,
            path: template,
            status: 405,
            code: 'METHOD_NOT_ALLOWED',
          });
          const allow = answer.headers.get('allow')!.split(', ');
          expect(allow).toEqual(expect.arrayContaining(declared));
          expect(allow).not.toContain(method);
        }
      }
      // An undeclared path is still a 404, and a declared method still reaches its route.
      expect((await alice.request('DELETE', '/v1/nothing')).status).toBe(404);
      expect((await anonymous.request('HEAD', '/healthz')).status).toBe(200);
    });

    test('/docs is swagger-ui served from node_modules, and nothing else of the package is', async () => {
      const page = await anonymous.get('/docs');
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(String(page.body)).toContain('/docs/assets/swagger-ui-bundle.js');
      const bundle = await anonymous.get('/docs/assets/swagger-ui-bundle.js');
      expect(bundle.status).toBe(200);
      expect(bundle.headers.get('content-type')).toMatch(/javascript/);
      expect((await anonymous.get('/docs/assets/swagger-ui.css')).status).toBe(200);
      expect((await anonymous.get('/docs/assets/package.json')).status).toBe(404);
      expect((await anonymous.get('/docs/assets/..%2fpackage.json')).status).toBe(404);
    });
  });

  describe('backpressure and broken dependencies', () => {
    test('a full produce buffer answers 429 with Retry-After, and the refused key stays usable', async () => {
      const target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
      const tight = await startApi(target, { API_PRODUCE_BUFFER_MESSAGES_MAX: '1', API_PRODUCE_LINGER_MS: '300' });
      try {
        const from = await openAccount(alice);
        const client = new Client(tight.url, await token('alice'));
        const keys = Array.from({ length: 12 }, () => randomUUID());
        const answers = await Promise.all(
          keys.map((key) => client.withdraw({ account_id: from, amount: '1', currency: 'USD' }, key)),
        );
        const refused = answers.map((a, i) => ({ a, key: keys[i]! })).filter(({ a }) => a.status === 429);
        expect(refused.length).toBeGreaterThan(0);
        expect(answers.every((a) => a.status === 202 || a.status === 429)).toBe(true);
        for (const { a } of refused) {
          expect(a.headers.get('retry-after')).toMatch(/^\d+$/);
          expect(a.error?.error.code).toBe('BACKPRESSURE');
        }
        const retried = await alice.withdraw({ account_id: from, amount: '1', currency: 'USD' }, refused[0]!.key);
        expect(retried.status).toBe(202);
      } finally {
        await tight.stop();
      }
    });

    describe('an API that cannot reach Kafka', () => {
      let cut: Awaited<ReturnType<typeof startApi>> | undefined;
      // Started and stopped outside the test (starting waits API_DEPENDENCY_START_WAIT_MS for
      // Kafka), so that the test's own timeout bounds the requests alone.
      beforeAll(async () => {
        const target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
        cut = await startApi(target, { KAFKA_BROKERS: '127.0.0.1:1', API_PRODUCE_ACK_TIMEOUT_MS: '1500' });
      });
      afterAll(async () => {
        await cut?.stop();
      });

      // The test's timeout is the bound on the answer: a POST that waited on the unreachable
      // Kafka instead of its API_PRODUCE_ACK_TIMEOUT_MS (1.5 s) would not answer within it.
      test('Kafka unreachable: POST answers 503 with Retry-After within a bounded time; readyz names kafka', async () => {
        const from = await openAccount(alice);
        const client = new Client(cut!.url, await token('alice'));
        const key = randomUUID();
        const answer = await client.withdraw({ account_id: from, amount: '1', currency: 'USD' }, key);
        expect(answer.status).toBe(503);
        expect(answer.headers.get('retry-after')).toMatch(/^\d+$/);
        const ready = await new Client(cut!.url, null).get('/readyz');
        expect(ready.status).toBe(503);
        expect(JSON.stringify(ready.body)).toMatch(/kafka/);
        // Nothing was accepted, so the same key goes through once Kafka is reachable.
        const retried = await alice.withdraw({ account_id: from, amount: '1', currency: 'USD' }, key);
        expect(retried.status).toBe(202);
      }, 20_000);
    });
  });
});

interface Layer {
  route?: { path: string; methods: Record<string, boolean>; stack: { name: string }[] };
}

function servedRoutes(app: Express): string[] {
  const stack = (app as unknown as { router: { stack: Layer[] } }).router.stack;
  return stack
    // The 405 guard of each declared path (app.all) is not a route of its own.
    .filter((layer) => layer.route && !layer.route.stack.some((handler) => handler.name === 'methodGuard'))
    .flatMap((layer) => Object.keys(layer.route!.methods).map((m) => `${m.toUpperCase()} ${layer.route!.path.replace(/:(\w+)/g, '{$1}')}`));
}
