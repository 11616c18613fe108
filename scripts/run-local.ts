/**
 * Runs the ingest API and WORKERS partition workers as child processes with prefixed logs,
 * prints the URL and a ready-to-use token, and stops them all on Ctrl-C, SIGTERM or SIGHUP
 * (`kill`, `timeout`, a supervisor, a closed terminal), or when the process that started it
 * goes away (npm dies of a SIGHUP without passing it on). It exits only once every child has:
 * a child still running STOP_TIMEOUT_S after the SIGTERM is SIGKILLed, and the launcher says
 * so. The workers run at WORKERS_NICE (scripts/worker-priority.ts).
 *
 * The children stay in the launcher's process group and session, and are signalled by pid:
 * a group of their own (`detached`) is a session of their own, and with Linux's autogroups
 * the workers' nice value would then no longer rank them behind the API. `nice` execs node,
 * so each pid is the app itself (its one child, tsx's esbuild service, exits with it).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { getPriority } from 'node:os';
import { signDevToken } from '@ledgerline/auth';
import { localSettingsFrom } from './local-settings';
import { nicedCommand } from './worker-priority';

const { workers, port, workersNice, opsPortBase, stopTimeoutS } = checkedSettings();
// `npm start` checks the settings first this way, before it brings the stack up for nothing.
if (process.argv.includes('--check-settings')) process.exit(0);
const secret = process.env.JWT_SECRET ?? 'dev-secret-change-me';
const children: Child[] = [];

function checkedSettings() {
  try {
    return localSettingsFrom(process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
}

/**
 * The nice value the workers really run at, against the API's: nicedCommand raises a value,
 * never lowers it, so a launcher already at WORKERS_NICE or above passes its own on.
 */
function workersPriorityLine(): string {
  const launcher = getPriority();
  if (launcher < workersNice) return `workers' CPU priority: nice ${workersNice} (WORKERS_NICE; the API gets the CPU first when the host is full)`;
  const why = launcher === workersNice ? `WORKERS_NICE=${workersNice}` : `this launcher's own; WORKERS_NICE=${workersNice} is lower and npm start never lowers a nice value`;
  return `workers' CPU priority: nice ${launcher}, the same as the API (${why})`;
}

interface Child {
  name: string;
  process: ChildProcess;
  /** Settles once the child has exited and its output is read (or could never start). */
  done: Promise<void>;
}

function run(name: string, script: string, env: Record<string, string>, nice = 0): void {
  const { command, args } = nicedCommand(nice, process.execPath, ['--import', 'tsx', script]);
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = (line: string) => (line ? `${name.padEnd(9)}| ${line}\n` : '');
  child.stdout?.on('data', (d: Buffer) => process.stdout.write(d.toString().split('\n').map(prefix).join('')));
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(d.toString().split('\n').map(prefix).join('')));
  const done = new Promise<void>((resolve) => {
    // 'close' comes once its last lines ('stopped') are read; a process it left holding the
    // pipes must not keep the launcher waiting past the exit, though.
    child.once('close', () => resolve());
    child.once('exit', () => setTimeout(resolve, 1000));
    // A program that cannot be started (no `nice` on the PATH, say) stops the others too.
    // `on`, not `once`: a second error (a failed SIGKILL, say) unheard would crash the launcher.
    child.on('error', (error) => {
      if (child.pid === undefined) resolve();
      process.stderr.write(`${name} could not start: ${error.message}\n`);
      shutdown(1, `${name} could not start`);
    });
  });
  child.on('exit', (code, signal) => {
    process.stdout.write(`${name} exited (${signal ?? code})\n`);
    shutdown(1, `${name} exited`);
  });
  children.push({ name, process: child, done });
}

/** Started and not yet exited. */
function isRunning({ process: child }: Child): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

let stopping = false;
/**
 * Stops every child (SIGTERM, then SIGKILL after STOP_TIMEOUT_S) and exits once all have
 * exited: 1 if a child had to be killed, else `code`. Called again while stopping, it does
 * nothing (a Ctrl-C reaches the launcher twice: from the terminal and from npm).
 */
function shutdown(code: number, why: string): void {
  if (stopping) return;
  stopping = true;
  const running = children.filter(isRunning);
  if (running.length > 0) {
    process.stdout.write(`${why}: stopping ${running.map((c) => c.name).join(', ')} (SIGTERM; SIGKILL after ${stopTimeoutS} s, STOP_TIMEOUT_S)\n`);
  }
  for (const child of running) child.process.kill('SIGTERM');
  let killed = false;
  const deadline = setTimeout(() => {
    for (const child of children.filter(isRunning)) {
      process.stderr.write(`${child.name} (pid ${child.process.pid}) still running ${stopTimeoutS} s after SIGTERM: SIGKILL\n`);
      killed = true;
      child.process.kill('SIGKILL');
    }
  }, stopTimeoutS * 1000);
  void Promise.all(children.map((c) => c.done)).then(() => {
    clearTimeout(deadline);
    process.exit(killed ? 1 : code);
  });
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => shutdown(0, signal));

// A SIGHUP (or SIGKILL) to npm kills npm without passing it on, and the launcher is left
// with init for a parent: the same as a stop signal. The parent is polled, as Node has no
// parent-death signal.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) shutdown(0, `its parent process (pid ${parent}) is gone`);
}, 500).unref();
// Nor may a closed terminal or pipe (EIO, EPIPE on a write) end the launcher before it has
// stopped its children: what it still has to say is lost, not thrown.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

async function main(): Promise<void> {
  run('api', 'apps/ingest-api/src/main.ts', { PORT: String(port) });
  for (let i = 1; i <= workers; i++) {
    run(`worker-${i}`, 'apps/partition-worker/src/main.ts', { WORKER_ID: `worker-${i}`, WORKER_OPS_PORT: String(opsPortBase + i) }, workersNice);
  }
  const token = await signDevToken({ sub: 'alice', scope: 'ledger:read ledger:write ledger:admin', secret, ttlS: 24 * 3600 });
  if (stopping) return;
  process.stdout.write(
    [
      '',
      `ledgerline is starting: API http://127.0.0.1:${port}  (docs: /docs, health: /readyz)`,
      `workers' ops servers (/readyz, /metrics): ${Array.from({ length: workers }, (_, i) => `http://127.0.0.1:${opsPortBase + 1 + i}`).join('  ')}`,
      workersPriorityLine(),
      `token (sub=alice, scopes read/write/admin, 24 h):`,
      token,
      `try: curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:${port}/readyz`,
      '',
    ].join('\n'),
  );
}
void main();
