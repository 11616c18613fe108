/**
 * The processes the bench starts (ingest API, partition workers, baseline server, k6): each
 * logs to a file in the run directory and is stopped by its own pid (SIGTERM, then SIGKILL
 * after a grace period). Everything still running is stopped when the driver exits, however
 * it exits, so a failed run leaves no stray process behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { log, sleep } from './util';
import { nicedCommand } from '../../scripts/worker-priority';

const STOP_GRACE_MS = 15_000;
const running = new Set<Managed>();

export class Managed {
  private exited: Promise<number | null>;
  exitCode: number | null = null;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logPath: string,
  ) {
    running.add(this);
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? 128 : null);
        running.delete(this);
        resolve(this.exitCode);
      });
      // Not started at all (no such program): as the shell reports it, 127.
      child.on('error', (error) => {
        log(`${name} could not start: ${error.message}`);
        this.exitCode = 127;
        running.delete(this);
        resolve(this.exitCode);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return running.has(this);
  }

  wait(): Promise<number | null> {
    return this.exited;
  }

  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    const gone = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!gone && this.alive) {
      log(`${this.name} (pid ${this.pid}) ignored SIGTERM for ${graceMs} ms: SIGKILL`);
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

export interface SpawnOptions {
  env: Record<string, string>;
  logDir: string;
  /** Write a V8 CPU profile into this directory when the process exits. */
  cpuProfDir?: string;
  /** Run at this nice value (scripts/worker-priority.ts); 0 by default. */
  nice?: number;
}

/** `node --import tsx <script>` from the repo root, with `env` on top of the driver's env. */
export function spawnNode(name: string, script: string, options: SpawnOptions): Managed {
  const args = ['--import', 'tsx'];
  if (options.cpuProfDir) {
    // One directory per process and Node's default file names (pid and thread id in them):
    // tsx runs its loader hooks on a second thread, which writes a profile of its own.
    const dir = join(options.cpuProfDir, name);
    mkdirSync(dir, { recursive: true });
    args.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
  }
  args.push(script);
  const niced = nicedCommand(options.nice ?? 0, process.execPath, args);
  return spawnLogged(name, niced.command, niced.args, options);
}

export function spawnLogged(name: string, command: string, args: string[], options: SpawnOptions): Managed {
  mkdirSync(options.logDir, { recursive: true });
  const logPath = join(options.logDir, `${name}.log`);
  const out = createWriteStream(logPath, { flags: 'a' });
  const child = spawn(command, args, { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // Two pipes into one file: neither may end it (the first to close would, and the other's
  // next chunk was a write after end that crashed a full run); the child's 'close' comes
  // once both are done.
  child.stdout?.pipe(out, { end: false });
  child.stderr?.pipe(out, { end: false });
  child.once('close', () => out.end());
  const managed = new Managed(name, child, logPath);
  return managed;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}

/** Last resort on a synchronous exit path: no waiting possible, just signal. */
function killAllNow(): void {
  for (const p of running) p.child.kill('SIGKILL');
}
process.on('exit', killAllNow);

export async function waitHttpOk(url: string, timeoutMs: number, proc?: Managed): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc && !proc.alive) throw new Error(`${proc.name} exited (code ${proc.exitCode}) before ${url} answered; see ${proc.logPath}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(250);
  }
  throw new Error(`${url} did not answer 2xx within ${timeoutMs} ms (last: ${last})${proc ? `; see ${proc.logPath}` : ''}`);
}
