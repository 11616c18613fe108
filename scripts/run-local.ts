/**
 * Runs the ingest API and WORKERS partition workers as child processes with prefixed logs,
 * prints the URL and a ready-to-use token, and stops them all on Ctrl-C. The workers run at
 * WORKERS_NICE (scripts/worker-priority.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { getPriority } from 'node:os';
import { signDevToken } from '@ledgerline/auth';
import { localSettingsFrom } from './local-settings';
import { nicedCommand } from './worker-priority';

const { workers, port, workersNice, opsPortBase } = checkedSettings();
// `npm start` checks the settings first this way, before it brings the stack up for nothing.
if (process.argv.includes('--check-settings')) process.exit(0);
const secret = process.env.JWT_SECRET ?? 'dev-secret-change-me';
const children: ChildProcess[] = [];

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

function run(name: string, script: string, env: Record<string, string>, nice = 0): void {
  const { command, args } = nicedCommand(nice, process.execPath, ['--import', 'tsx', script]);
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = (line: string) => (line ? `${name.padEnd(9)}| ${line}\n` : '');
  child.stdout?.on('data', (d: Buffer) => process.stdout.write(d.toString().split('\n').map(prefix).join('')));
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(d.toString().split('\n').map(prefix).join('')));
  // A program that cannot be started (no `nice` on the PATH, say) stops the others too.
  child.on('error', (error) => {
    process.stderr.write(`${name} could not start: ${error.message}\n`);
    if (!stopping) shutdown(1);
  });
  child.on('exit', (code, signal) => {
    process.stdout.write(`${name} exited (${signal ?? code})\n`);
    if (!stopping) shutdown(1);
  });
  children.push(child);
}

let stopping = false;
function shutdown(code: number): void {
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 3000).unref();
  Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.on('exit', r))))).then(() => process.exit(code));
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

async function main(): Promise<void> {
  run('api', 'apps/ingest-api/src/main.ts', { PORT: String(port) });
  for (let i = 1; i <= workers; i++) {
    run(`worker-${i}`, 'apps/partition-worker/src/main.ts', { WORKER_ID: `worker-${i}`, WORKER_OPS_PORT: String(opsPortBase + i) }, workersNice);
  }
  const token = await signDevToken({ sub: 'alice', scope: 'ledger:read ledger:write ledger:admin', secret, ttlS: 24 * 3600 });
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
