// How `npm start` stops: a SIGTERM or SIGHUP to npm's pid or to the launcher
// (scripts/run-local.ts) stops the API and the workers the way Ctrl-C does, and the launcher
// exits only after they have, SIGKILLing one still running STOP_TIMEOUT_S after the SIGTERM.
// Runs the real package.json start script, scripts/start.sh and the launcher in a copy of the
// repo's layout where the stack, the migrations and the apps are stand-ins: no service is
// needed, and each stand-in app records its pid and the signals it got.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const APPS = ['api', 'worker-1'] as const;

// A stand-in for the ingest API and the partition worker: records its pid and its parent's
// (the launcher's), then each signal it gets; FAKE_STOP_MS later it exits, unless it is the
// one FAKE_DEAF names, which never does. Like the real apps, it stops on SIGTERM, SIGINT
// and SIGHUP (a closed terminal sends the last to the whole foreground group).
const FAKE_APP = `
const fs = require('node:fs');
const name = process.env.WORKER_ID || 'api';
const file = (what) => process.env.FAKE_STATE_DIR + '/' + name + '.' + what;
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(signal, () => {
    fs.appendFileSync(file('signals'), signal + '\\n');
    if (process.env.FAKE_DEAF === name) return;
    setTimeout(() => process.exit(0), Number(process.env.FAKE_STOP_MS || 0));
  });
}
setInterval(() => undefined, 60_000);
fs.writeFileSync(file('pids'), process.pid + ' ' + process.ppid);
`;

interface Fixture {
  dir: string;
  state: string;
}

function makeFixture(): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'launcher-signals-'));
  const put = (path: string, text: string) => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  put('package.json', JSON.stringify({ name: 'launcher-fixture', private: true, scripts: { start: scripts.start } }));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'scripts'));
  // The real ones: run-local.ts's own imports resolve beside its real path.
  for (const file of ['start.sh', 'run-local.ts']) symlinkSync(join(ROOT, 'scripts', file), join(dir, 'scripts', file));
  put('scripts/bootstrap.sh', 'true\n');
  put('infra/local/stack.sh', 'true\n');
  put('apps/ledgerctl/src/main.ts', '\n');
  put('apps/ingest-api/src/main.ts', FAKE_APP);
  put('apps/partition-worker/src/main.ts', FAKE_APP);
  const state = join(dir, 'state');
  mkdirSync(state);
  return { dir, state };
}

/** Alive and not a zombie (a child that exited but whose parent has not reaped it yet). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Run {
  process: ChildProcess;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Each stand-in app's pid and its parent's (the launcher), once all have started. */
  apps: () => Promise<Record<(typeof APPS)[number], { pid: number; launcher: number }>>;
}

const started: Run[] = [];
let fixture: Fixture;

function start(how: 'npm start' | 'launcher', env: Record<string, string>): Run {
  const [command, args] = how === 'npm start' ? ['npm', ['start']] : [process.execPath, ['--import', 'tsx', 'scripts/run-local.ts']];
  const settings = Object.fromEntries(Object.entries(process.env).filter(([name]) => !['PORT', 'WORKERS', 'WORKERS_NICE', 'WORKERS_OPS_PORT_BASE', 'STOP_TIMEOUT_S'].includes(name)));
  const child = spawn(command, args, { cwd: fixture.dir, env: { ...settings, WORKERS: '1', FAKE_STATE_DIR: fixture.state, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  const pids = (app: string) => join(fixture.state, `${app}.pids`);
  const run: Run = {
    process: child,
    output: () => output,
    exit,
    apps: async () => {
      await until('stand-in apps', () => APPS.every((app) => existsSync(pids(app)) && readFileSync(pids(app), 'utf8').includes(' ')), 30_000);
      const read = (app: string) => {
        const [pid, launcher] = readFileSync(pids(app), 'utf8').split(' ').map(Number);
        return { pid: pid!, launcher: launcher! };
      };
      return { api: read('api'), 'worker-1': read('worker-1') };
    },
  };
  started.push(run);
  return run;
}

const signalsGot = (app: string) => readFileSync(join(fixture.state, `${app}.signals`), 'utf8').trim().split('\n');

beforeEach(() => {
  fixture = makeFixture();
});

afterEach(() => {
  // Whatever a failed test left running, by the pids it recorded.
  for (const app of APPS) {
    const file = join(fixture.state, `${app}.pids`);
    if (!existsSync(file)) continue;
    for (const pid of readFileSync(file, 'utf8').split(' ').map(Number)) if (pid > 1 && alive(pid)) process.kill(pid, 'SIGKILL');
  }
  for (const run of started.splice(0)) if (run.process.exitCode === null && run.process.signalCode === null) run.process.kill('SIGKILL');
  rmSync(fixture.dir, { recursive: true, force: true });
});

describe('npm start stops its apps on any stop signal, and exits after them', () => {
  test('SIGTERM to npm (kill, timeout, a supervisor): the apps get it, npm exits once they have', async () => {
    // A worker that takes 4 s to stop: longer than the launcher used to wait.
    const run = start('npm start', { FAKE_STOP_MS: '4000' });
    const apps = await run.apps();
    const sent = Date.now();
    run.process.kill('SIGTERM');
    const { code, at } = await run.exit;
    for (const app of APPS) {
      expect([app, alive(apps[app].pid)]).toEqual([app, false]);
      expect(signalsGot(app)).toEqual(['SIGTERM']);
    }
    expect(alive(apps.api.launcher)).toBe(false);
    expect(at - sent).toBeGreaterThanOrEqual(3900);
    expect(code).toBe(0);
    expect(run.output()).toMatch(/SIGTERM: stopping api, worker-1 \(SIGTERM; SIGKILL after 60 s, STOP_TIMEOUT_S\)/);
    expect(run.output()).toContain('worker-1 exited (0)');
  }, 60_000);

  test('SIGHUP to npm, which dies of it without passing it on: the launcher stops the apps all the same', async () => {
    const run = start('npm start', {});
    const apps = await run.apps();
    run.process.kill('SIGHUP');
    expect((await run.exit).signal).toBe('SIGHUP');
    await until('launcher exit', () => !alive(apps.api.launcher), 10_000);
    for (const app of APPS) {
      expect([app, alive(apps[app].pid)]).toEqual([app, false]);
      expect(signalsGot(app)).toEqual(['SIGTERM']);
    }
  }, 60_000);

  test('SIGHUP to the launcher: the apps get a SIGTERM, and it exits 0 after them', async () => {
    const run = start('launcher', { FAKE_STOP_MS: '4000' });
    const apps = await run.apps();
    expect(apps.api.launcher).toBe(run.process.pid);
    run.process.kill('SIGHUP');
    const { code } = await run.exit;
    for (const app of APPS) {
      expect([app, alive(apps[app].pid)]).toEqual([app, false]);
      expect(signalsGot(app)).toEqual(['SIGTERM']);
    }
    expect(code).toBe(0);
  }, 60_000);

  test('an app still running STOP_TIMEOUT_S after the SIGTERM is SIGKILLed, said so, and the launcher exits 1', async () => {
    const run = start('launcher', { FAKE_DEAF: 'worker-1', STOP_TIMEOUT_S: '1' });
    const apps = await run.apps();
    run.process.kill('SIGTERM');
    const { code } = await run.exit;
    expect(alive(apps['worker-1'].pid)).toBe(false);
    expect(signalsGot('worker-1')).toEqual(['SIGTERM']);
    expect(run.output()).toContain(`worker-1 (pid ${apps['worker-1'].pid}) still running 1 s after SIGTERM: SIGKILL`);
    expect(run.output()).toContain('worker-1 exited (SIGKILL)');
    expect(code).toBe(1);
  }, 60_000);
});
