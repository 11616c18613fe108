/**
 * The app processes of one chaos run: the ingest API and the partition workers, each a
 * child process started here and tracked by its pid. Only these pids are ever signalled.
 *
 * Each process's output goes to <runDir>/<name>.log (every incarnation appended, with a
 * header), and the last lines stay in memory for the report. An exit nobody asked for is
 * reported to `onUnexpectedExit`: the run records it (it is a finding) and restarts the
 * process so the rest of the run still means something.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { type WriteStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../support/ports';
import { sleep } from './random';

export type Role = 'api' | 'worker';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedChild {
  name: string;
  role: Role;
  incarnation: number;
  pid: number;
  child: ChildProcess;
  startedAtMs: number;
  /** Set before the run signals it, so its exit is not reported as a crash. */
  expectedExit: boolean;
  exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | null;
  tail: string[];
  /** Where its /readyz answers (the API's port, a worker's ops server). */
  readyUrl: string;
}

export interface UnexpectedExit {
  name: string;
  role: Role;
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  atMs: number;
  tail: string[];
}

export interface AppProcessOptions {
  root: string;
  runDir: string;
  /** The complete env of the API and the workers (addresses, prefixes, secret). */
  env: Record<string, string>;
  apiPort: number;
  workerEnv: Record<string, string>;
  /** Milliseconds since the run started (for the timeline). */
  clock(): number;
  onUnexpectedExit(exit: UnexpectedExit): void;
}

/** Lines of each process's output kept in memory. */
const TAIL_LINES_MAX = 60;
/** Start-up bound: tsx compiles on the fly, and a 2-core box is busy with the stack. */
const READY_TIMEOUT_MS = 90_000;
const WORKER_SCRIPT = 'apps/partition-worker/src/main.ts';
/** After SIGTERM, a process gets this long before SIGKILL. */
const STOP_GRACE_MS = 20_000;

export class AppProcesses {
  private readonly children = new Map<string, ManagedChild>();
  private readonly incarnations = new Map<string, number>();
  private readonly logs = new Map<string, WriteStream>();
  private nextWorkerNumber = 1;
  private closing = false;

  constructor(private readonly options: AppProcessOptions) {}

  get apiUrl(): string {
    return `http://127.0.0.1:${this.options.apiPort}`;
  }

  api(): ManagedChild | undefined {
    const api = this.children.get('api');
    return api && api.exitInfo === null ? api : undefined;
  }

  /** Live workers, oldest first. */
  workers(): ManagedChild[] {
    return [...this.children.values()]
      .filter((c) => c.role === 'worker' && c.exitInfo === null)
      .sort((a, b) => a.startedAtMs - b.startedAtMs);
  }

  newWorkerId(): string {
    return `worker-${this.nextWorkerNumber++}`;
  }

  async startApi(): Promise<ManagedChild> {
    const child = this.spawn('api', 'api', 'apps/ingest-api/src/main.ts', { PORT: String(this.options.apiPort) }, this.apiUrl);
    await this.waitFor(child, () => answers200(`${this.apiUrl}/healthz`), 'GET /healthz answering 200');
    return child;
  }

  /** Started once its ops server's /readyz answers 200: it joined the group and claimed what it must apply. */
  async startWorker(workerId: string): Promise<ManagedChild> {
    const opsPort = await freePort();
    const child = this.spawn(workerId, 'worker', WORKER_SCRIPT, { ...this.options.workerEnv, WORKER_ID: workerId, WORKER_OPS_PORT: String(opsPort) }, `http://127.0.0.1:${opsPort}`);
    await this.waitFor(child, () => answers200(`${child.readyUrl}/readyz`), 'GET /readyz answering 200');
    return child;
  }

  /**
   * A worker that kills itself (SIGKILL) right after its first batch's Postgres commit, before
   * it refreshes the balance cache or commits its Kafka offsets (FAULT_INJECT=crash-after-commit:
   * the window a crash can hit only by chance otherwise). Not waited for: it may die before its
   * /readyz ever answers. Its exit is expected, so the run neither counts it as a crash nor
   * restarts it.
   */
  async startWorkerCrashingAfterCommit(workerId: string): Promise<ManagedChild> {
    const opsPort = await freePort();
    const child = this.spawn(workerId, 'worker', WORKER_SCRIPT, { ...this.options.workerEnv, WORKER_ID: workerId, WORKER_OPS_PORT: String(opsPort), FAULT_INJECT: 'crash-after-commit' }, `http://127.0.0.1:${opsPort}`);
    child.expectedExit = true;
    return child;
  }

  /** Whether the worker's /readyz answered 200 (group joined, partitions claimed) within `timeoutMs`. */
  async waitForGroupJoin(child: ManagedChild, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && child.exitInfo === null) {
      if (await answers200(`${child.readyUrl}/readyz`).catch(() => false)) return true;
      await sleep(150);
    }
    return false;
  }

  /** SIGKILL: a crash, not a shutdown. */
  async kill9(child: ManagedChild): Promise<ExitInfo> {
    child.expectedExit = true;
    this.signal(child, 'SIGKILL');
    return child.exited;
  }

  /** SIGSTOP: the process hangs with its sockets open (a GC pause, a frozen VM); `resume` wakes it. */
  pause(child: ManagedChild): void {
    this.signal(child, 'SIGSTOP');
  }

  resume(child: ManagedChild): void {
    this.signal(child, 'SIGCONT');
  }

  /** SIGTERM, then SIGKILL after the grace period. Returns whether it left on its own. */
  async stop(child: ManagedChild, graceMs = STOP_GRACE_MS): Promise<{ graceful: boolean; exit: ExitInfo }> {
    child.expectedExit = true;
    this.signal(child, 'SIGTERM');
    const outcome = await Promise.race([child.exited.then((exit) => ({ exit })), sleep(graceMs).then(() => null)]);
    if (outcome) return { graceful: true, exit: outcome.exit };
    this.signal(child, 'SIGKILL');
    return { graceful: false, exit: await child.exited };
  }

  /** Stops every live child of this run (SIGTERM together, then SIGKILL stragglers). */
  async stopAll(): Promise<void> {
    this.closing = true;
    const live = [...this.children.values()].filter((c) => c.exitInfo === null);
    await Promise.all(live.map((c) => this.stop(c, 10_000)));
    for (const log of this.logs.values()) log.end();
  }

  private signal(child: ManagedChild, signal: NodeJS.Signals): void {
    if (child.exitInfo !== null) return;
    try {
      process.kill(child.pid, signal);
    } catch {
      // already gone
    }
  }

  private spawn(name: string, role: Role, script: string, extraEnv: Record<string, string>, readyUrl: string): ManagedChild {
    if (this.closing) throw new Error(`not starting ${name}: the run is shutting down`);
    const existing = this.children.get(name);
    if (existing && existing.exitInfo === null) throw new Error(`${name} is still running (pid ${existing.pid})`);
    const incarnation = (this.incarnations.get(name) ?? 0) + 1;
    this.incarnations.set(name, incarnation);
    const child = spawn(process.execPath, ['--import', 'tsx', join(this.options.root, script)], {
      cwd: this.options.root,
      env: { ...this.options.env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid === undefined) throw new Error(`could not spawn ${name}`);
    const log = this.logFor(name);
    log.write(`\n===== ${name} incarnation ${incarnation}, pid ${child.pid}, t=${(this.options.clock() / 1000).toFixed(1)}s =====\n`);
    const managed: ManagedChild = {
      name,
      role,
      incarnation,
      pid: child.pid,
      child,
      startedAtMs: this.options.clock(),
      expectedExit: false,
      exitInfo: null,
      tail: [],
      readyUrl,
      exited: new Promise<ExitInfo>((resolve) => {
        child.once('exit', (code, signal) => {
          const info = { code, signal };
          managed.exitInfo = info;
          log.write(`===== ${name} pid ${child.pid} exited code=${code} signal=${signal} t=${(this.options.clock() / 1000).toFixed(1)}s =====\n`);
          resolve(info);
          if (!managed.expectedExit && !this.closing) {
            this.options.onUnexpectedExit({ name, role, pid: managed.pid, code, signal, atMs: this.options.clock(), tail: [...managed.tail] });
          }
        });
      }),
    };
    // Each line stamped with the run's clock, so the logs line up with the fault timeline.
    const lines = () => {
      let partial = '';
      return (data: Buffer) => {
        const stamp = `${(this.options.clock() / 1000).toFixed(1).padStart(6)}s `;
        const parts = (partial + data.toString()).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) {
          log.write(`${stamp}${line}\n`);
          managed.tail.push(line);
          if (managed.tail.length > TAIL_LINES_MAX) managed.tail.shift();
        }
      };
    };
    child.stdout?.on('data', lines());
    child.stderr?.on('data', lines());
    this.children.set(name, managed);
    return managed;
  }

  private logFor(name: string): WriteStream {
    let log = this.logs.get(name);
    if (!log) {
      log = createWriteStream(join(this.options.runDir, `${name}.log`), { flags: 'a' });
      this.logs.set(name, log);
    }
    return log;
  }

  private async waitFor(child: ManagedChild, ready: () => Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child.exitInfo !== null) {
        throw new Error(`${child.name} (pid ${child.pid}) exited before ${what}:\n${child.tail.slice(-15).join('\n')}`);
      }
      if (await ready().catch(() => false)) return;
      await sleep(150);
    }
    throw new Error(`${child.name} (pid ${child.pid}): no ${what} within ${READY_TIMEOUT_MS} ms:\n${child.tail.slice(-15).join('\n')}`);
  }
}

async function answers200(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
  await response.arrayBuffer();
  return response.status === 200;
}

