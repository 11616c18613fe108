// `npm run stop` / `stack.sh down` with the wrong LL_STACK_DIR: against the running stack of
// this run's profile, a runtime dir that never held it (as a stack started with LL_STACK_DIR
// and stopped without it). Nothing may be reported stopped or "not running" while its port
// answers, the command must fail, and it must not leave a lock file where there was none.
// The runtime dir given holds no pid file, so nothing is signalled: the stack stays up.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const SERVICES = ['kafka', 'postgres', 'pgbouncer', 'redis'];

describe('stopping a stack from a runtime dir that is not its own', () => {
  const parent = mkdtempSync(join(tmpdir(), 'stack-dir-'));
  // Not created: the lock file would sit beside it, in a parent dir `down` would create too.
  const stackDir = join(parent, 'elsewhere', 'stack');
  const env = { ...process.env, LL_PROFILE: process.env.LL_PROFILE ?? 'test', LL_STACK_DIR: stackDir };

  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  test.each([
    ['npm run stop (scripts/stop.sh)', ['scripts/stop.sh']],
    ['stack.sh down', ['infra/local/stack.sh', 'down']],
    ['stack.sh stop-service redis', ['infra/local/stack.sh', 'stop-service', 'redis']],
  ])('%s names each service whose port answers, exits 3, and creates no lock file', (_, args) => {
    const run = spawnSync('bash', args, { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
    const named = args.includes('redis') ? ['redis'] : SERVICES;
    for (const svc of named) expect(run.stdout).toMatch(new RegExp(`^${svc}: not stopped: port \\d+ is in use by another process \\(a stack with another LL_STACK_DIR\\?\\)$`, 'm'));
    expect(run.stdout).not.toMatch(/not running|stopped \(was pid/);
    expect(run.stderr).toContain(`not stopped: ${named.length === 1 ? 'redis' : 'pgbouncer redis kafka postgres'} (profile ${env.LL_PROFILE}'s ports answer, but runtime dir ${stackDir} has no pid of theirs); a stack started with LL_STACK_DIR set is stopped with the same LL_STACK_DIR`);
    expect(run.status).toBe(3);
    expect(existsSync(`${stackDir}.stacklock`)).toBe(false);
    expect(existsSync(join(parent, 'elsewhere'))).toBe(false);
  });

  test('the stack is still up: status from its own runtime dir says all four run', () => {
    const run = spawnSync('bash', ['infra/local/stack.sh', 'status'], { cwd: ROOT, env: { ...process.env, LL_PROFILE: env.LL_PROFILE }, encoding: 'utf8' });
    expect([run.status, run.stdout]).toEqual([0, expect.stringContaining('running')]);
  });
});
