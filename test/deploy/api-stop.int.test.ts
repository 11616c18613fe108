// How the ingest API stops, as a process of its own (real Kafka, PgBouncer, Postgres and
// Redis), in the two cases its stop signals exist for (packages/config/src/stop-signals.ts):
// - a SIGTERM while the API is still starting is kept: the API finishes starting, then
//   stops cleanly (with no handler yet, the signal killed it outright outside a container and
//   was dropped inside one, where node is PID 1);
// - the same signal a second time, while a drain waits for a request in progress, exits at
//   once with the code of a death by that signal (143);
// - a connection kept alive is closed after its answer in progress: that answer says
//   `Connection: close` (an outside review saw a draining API serve 313 new requests on kept-
//   alive connections for the whole grace, then cut them mid-request).
// No timing is asserted: each test proves that the process exits, and how; a stop that hangs
// fails by the test's timeout.
import { type Server, type Socket, connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { type AppProcess, logLines } from '../support/app-process';
import { spawnApi, token } from '../support/api';
import { type TestDatabase, createTestDatabase } from '../support/database';
import { type TestTopics, createTestTopics } from '../support/kafka';
import { exited, waitFor } from '../support/worker';

const logged = (api: AppProcess, msg: string) => logLines(api).find((l) => l.msg === msg);

describe('the ingest API stopping', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  const running: AppProcess[] = [];
  const sockets: Socket[] = [];
  const servers: Server[] = [];

  beforeEach(async () => {
    db = await createTestDatabase(1);
    topics = await createTestTopics(1);
  }, 60_000);
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    for (const server of servers.splice(0)) server.close();
    for (const api of running.splice(0)) {
      if (api.exitCode === null && api.signalCode === null) api.kill('SIGKILL');
      await exited(api);
    }
    await topics.delete();
    await db.drop();
  });

  const start = (extra: Record<string, string> = {}): AppProcess => {
    const api = spawnApi({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` }, extra);
    running.push(api);
    return api;
  };

  test('a SIGTERM while the API is still starting is kept: it finishes starting, then stops cleanly', async () => {
    // A "broker" that takes connections and never answers: the API's start waits on it (up to
    // API_DEPENDENCY_START_WAIT_MS, twice), and its first connection shows the API's main() is
    // running, past the line that listens for stop signals.
    let connected = false;
    const silentBroker = createServer((socket) => {
      connected = true;
      sockets.push(socket);
    });
    servers.push(silentBroker);
    await new Promise<void>((resolve) => silentBroker.listen(0, '127.0.0.1', resolve));
    const brokerPort = (silentBroker.address() as AddressInfo).port;

    const api = start({ KAFKA_BROKERS: `127.0.0.1:${brokerPort}`, API_DEPENDENCY_START_WAIT_MS: '4000' });
    await waitFor('the API connecting to the broker while it starts', async () => connected, 60_000, 20);
    expect(logged(api, 'listening')).toBeUndefined();
    api.kill('SIGTERM');

    expect(await exited(api)).toEqual({ code: 0, signal: null });
    const messages = logLines(api).map((l) => l.msg);
    expect(messages.indexOf('listening')).toBeGreaterThanOrEqual(0);
    expect(messages.indexOf('draining')).toBeGreaterThan(messages.indexOf('listening'));
    expect(logLines(api).at(-1)).toMatchObject({ msg: 'stopped', signal: 'SIGTERM' });
  }, 120_000);

  test('during a drain a kept-alive connection is closed after its answer in progress, which says Connection: close', async () => {
    const api = start({ API_SHUTDOWN_GRACE_MS: '120000' });
    const listening = await waitFor('the API listening', async () => logged(api, 'listening'), 60_000, 50);
    const base = listening.url ?? '';
    const { port } = new URL(base);
    const alice = await token('alice');
    const admin = await token('ops', 'ledger:admin');
    const call = async (method: string, path: string, bearer: string, body?: unknown) => {
      const response = await fetch(`${base}${path}`, { method, headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json', 'Idempotency-Key': crypto.randomUUID() }, body: body === undefined ? undefined : JSON.stringify(body) });
      return (await response.json()) as { id: string };
    };
    const account = await call('POST', '/v1/accounts', alice, { currency: 'USD' });
    // No worker runs: the deposit stays ACCEPTED, and a long poll on it waits.
    const deposit = await call('POST', '/v1/deposits', admin, { account_id: account.id, amount: '5', currency: 'USD' });

    // A request in progress that never ends by itself keeps the drain going.
    const slow = connect(Number(port), '127.0.0.1');
    sockets.push(slow);
    slow.on('error', () => undefined);
    await new Promise<void>((resolve) => slow.once('connect', resolve));
    slow.write('POST /v1/transfers HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"amount":');

    // A kept-alive connection with a long poll in progress when the drain starts.
    const kept = connect(Number(port), '127.0.0.1');
    sockets.push(kept);
    kept.on('error', () => undefined);
    let received = '';
    let ended = false;
    kept.on('data', (chunk) => (received += chunk.toString('latin1')));
    kept.on('close', () => (ended = true));
    await new Promise<void>((resolve) => kept.once('connect', resolve));
    const poll = `GET /v1/transfers/${deposit.id}?wait_ms=30000 HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer ${admin}\r\n\r\n`;
    kept.write(poll);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the poll waiting

    api.kill('SIGTERM');
    await waitFor('the drain under way', async () => logged(api, 'draining'), 30_000, 50);
    await waitFor('the long poll answered', async () => received.includes('\r\n\r\n'), 30_000, 20);
    const head = received.slice(0, received.indexOf('\r\n\r\n')).toLowerCase();
    expect(head).toMatch(/^http\/1\.1 200/);
    expect(head).toContain('connection: close');
    // The connection ends after it: a request sent on it now is not served.
    await waitFor('the kept-alive connection closed by the API', async () => ended, 30_000, 20);

    slow.destroy();
    expect(await exited(api)).toEqual({ code: 0, signal: null });
    expect(logLines(api).at(-1)).toMatchObject({ msg: 'stopped', signal: 'SIGTERM' });
  }, 120_000);

  test('the same stop signal a second time cuts a drain that waits for a request in progress, with the code of a death by it', async () => {
    const api = start({ API_SHUTDOWN_GRACE_MS: '120000' });
    const listening = await waitFor('the API listening', async () => logged(api, 'listening'), 60_000, 50);
    const { port } = new URL(listening.url ?? '');

    // A request in progress that never ends by itself: its headers sent, half its body.
    const slow = connect(Number(port), '127.0.0.1');
    sockets.push(slow);
    slow.on('error', () => undefined);
    await new Promise<void>((resolve) => slow.once('connect', resolve));
    slow.write('POST /v1/transfers HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"amount":');

    api.kill('SIGTERM');
    await waitFor('the drain under way', async () => logged(api, 'draining'), 30_000, 50);
    // Another stop signal is not a second request (npm start's Ctrl-C sends SIGINT, then its launcher SIGTERM).
    api.kill('SIGINT');
    api.kill('SIGTERM');
    expect(await exited(api)).toEqual({ code: 143, signal: null });
    expect(logLines(api).some((l) => l.msg.startsWith('drain cut short') && l.signal === 'SIGTERM')).toBe(true);
    expect(logged(api, 'stopped')).toBeUndefined();
  }, 120_000);
});
