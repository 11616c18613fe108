// Proves the built JavaScript runs without tsx: `npm run build` (scripts/build.mjs) output,
// started with plain `node`, the ingest API and a partition worker each answer /readyz, carry
// one cross-partition transfer from POST to COMPLETED, log JSON lines, and ledgerctl from
// dist reconciles the result. What the Dockerfile ships is exactly this dist/ directory.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { accountIdFor, bucketOf } from '@ledgerline/domain';
import { loadRouting } from '@ledgerline/postgres';
import { Client, TEST_JWT_SECRET, token } from '../support/api';
import { type TestDatabase, createTestDatabase } from '../support/database';
import { roleUrl } from '../support/env';
import { type TestTopics, createTestTopics } from '../support/kafka';
import { exited, freePort, waitFor, waitReady, workerEnv } from '../support/worker';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

interface Started {
  child: ChildProcess;
  lines: string[];
}

function startNode(script: string, env: Record<string, string>): Started {
  const child = spawn(process.execPath, ['--enable-source-maps', join(ROOT, script)], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const collect = (data: Buffer) => lines.push(...data.toString().split('\n').filter(Boolean));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return { child, lines };
}

async function stop(started: Started | undefined): Promise<void> {
  if (!started || started.child.exitCode !== null) return;
  started.child.kill('SIGTERM');
  await exited(started.child);
}

describe('the compiled apps (dist/)', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let api: Started | undefined;
  let worker: Started | undefined;

  beforeAll(async () => {
    await run(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT });
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
  }, 120_000);
  afterAll(async () => {
    await stop(api);
    await stop(worker);
    await topics.delete();
    await db.drop();
  });

  test('node dist/… API and worker carry a cross-partition transfer to COMPLETED; ledgerctl reconciles', async () => {
    const target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
    const env = workerEnv(target);
    const [apiPort, opsPort] = [await freePort(), await freePort()];
    worker = startNode('dist/partition-worker/main.js', { ...env, WORKER_ID: 'dist-worker', WORKER_OPS_PORT: String(opsPort) });
    api = startNode('dist/ingest-api/main.js', { ...env, API_DATABASE_URL: roleUrl(db.url, 'api'), PORT: String(apiPort), JWT_SECRET: TEST_JWT_SECRET });
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await waitReady(apiUrl, 90_000);
    await waitReady(`http://127.0.0.1:${opsPort}`, 90_000);

    const routing = await loadRouting(db.pool);
    const admin = new Client(apiUrl, await token('dist-admin', 'ledger:read ledger:write ledger:admin'));
    // Two accounts on different partitions, so the transfer takes the two-leg saga.
    const keyOn = (partition: number) => {
      for (let i = 0; ; i++) if (routing.partitionOfBucket(bucketOf(accountIdFor('dist-admin', `acct-${i}`))) === partition) return `acct-${i}`;
    };
    const [from, to] = await Promise.all(
      [0, 1].map(async (partition) => {
        const answer = await admin.post('/v1/accounts', { currency: 'USD' }, keyOn(partition));
        expect(answer.status).toBe(201);
        return answer.body.id as string;
      }),
    );
    const deposit = await admin.post('/v1/deposits', { account_id: from, amount: '1000', currency: 'USD' });
    expect(deposit.status).toBe(202);
    await waitFor('deposit completed', async () => (await admin.get(`/v1/transfers/${deposit.body.id}?wait_ms=5000`)).body.status === 'COMPLETED', 60_000);

    const transfer = await admin.post('/v1/transfers', { from_account_id: from, to_account_id: to, amount: '250', currency: 'USD' });
    expect(transfer.status).toBe(202);
    const done = await waitFor('transfer terminal', async () => {
      const answer = await admin.get(`/v1/transfers/${transfer.body.id}?wait_ms=5000`);
      return ['COMPLETED', 'REJECTED'].includes(answer.body.status) ? answer.body : null;
    }, 60_000);
    expect(done.status).toBe('COMPLETED');
    expect((await admin.get(`/v1/accounts/${to}/balance`)).body.balance).toBe('250');

    // The logs are JSON lines with a level and a message (pino), from both processes.
    for (const started of [api, worker]) {
      const entries = started.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level?: string; msg?: string });
      expect(entries.length).toBeGreaterThan(0);
      expect(entries.every((e) => typeof e.level === 'string' && typeof e.msg === 'string')).toBe(true);
    }

    const reconcile = await run(process.execPath, [join(ROOT, 'dist/ledgerctl/main.js'), 'reconcile', '--no-progress'], {
      cwd: ROOT,
      env: { ...process.env, OWNER_DATABASE_URL: db.url, API_DATABASE_URL: roleUrl(db.url, 'api'), REDIS_KEY_PREFIX: `${topics.prefix}:`, KAFKA_TOPIC_PREFIX: topics.prefix },
    });
    expect(reconcile.stdout).toMatch(/reconcile: OK/);

    // SIGTERM (the API; a supervisor's) and SIGHUP (the worker; a closed terminal's): each
    // stops cleanly, exit 0, and says so last (a cut exit has no such line; Node's default
    // for SIGHUP is to die at once).
    for (const [started, signal] of [[api, 'SIGTERM'], [worker, 'SIGHUP']] as const) {
      started.child.kill(signal);
      await exited(started.child);
      expect(started.child.exitCode).toBe(0);
      const last = JSON.parse(started.lines.filter((l) => l.startsWith('{')).at(-1)!) as { level: string; msg: string; signal?: string };
      expect(last).toMatchObject({ level: 'info', msg: 'stopped', signal });
    }
  }, 180_000);
});
