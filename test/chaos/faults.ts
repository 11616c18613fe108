/**
 * The faults, and when they happen.
 *
 *   worker-kill        kill -9 a partition worker, then start it again (same WORKER_ID)
 *   worker-commit-crash start one more worker that SIGKILLs itself right after its first
 *                      batch's Postgres commit (FAULT_INJECT=crash-after-commit): committed,
 *                      but its cache not refreshed, its outbox not relayed and its Kafka offset
 *                      not committed. The next owner must apply nothing twice and catch the
 *                      cache up from the partition's cache mark
 *   worker-rebalance   start one more worker, wait until it joined the group, then stop the
 *                      oldest one (SIGTERM): two consumer-group rebalances
 *   api-kill           kill -9 the ingest API, then start it again on the same port
 *   kafka-restart      stack.sh restart-service kafka (the broker stops and comes back)
 *   pgbouncer-restart  stack.sh restart-service pgbouncer
 *   postgres-restart   stack.sh restart-service postgres (fast shutdown: sessions aborted)
 *   redis-flush        stack.sh kill-service redis, then start it: it comes back empty
 *   worker-pause       SIGSTOP a partition worker past its consumer-group session timeout (the
 *                      group evicts it and hands its partitions on), then SIGCONT: it wakes up
 *                      a zombie that must be fenced, not write
 *   kafka-pause        SIGSTOP the broker for 15 s, then SIGCONT: requests in flight neither
 *                      fail nor succeed for a while (produce outcomes become ambiguous)
 *   pg-sessions-end    pg_terminate_backend of every API and worker session, four times
 *                      0.7 s apart (an operator's kill, a failover): writes in flight lose
 *                      their answer, some after their commit
 *   redis-flushall     FLUSHALL and SCRIPT FLUSH with every connection open: records, marks,
 *                      balances, rate limits and loaded scripts gone under running apps
 *   grant-revoked      INSERT on entries revoked from the worker's role for 15 s (a deploy
 *                      whose grants do not match the code): retried, never blamed on a command
 *   statement-timeouts the worker's role gets statement_timeout 3 ms for 15 s, its sessions
 *                      ended so that the setting takes: every write times out, retried
 *
 * The last four were added after an outside fault review ran them by hand; a command isolated
 * (dead-lettered, REJECTED UNPROCESSABLE) by any fault is a finding of the proof.
 *
 * One fault at a time: each is injected, then healed (the process or service is back and
 * answering) before the next one starts. The schedule is drawn from the seed: every kind in
 * a shuffled order ("shuffle bag"), over and over. A short run (smoke) spaces one bag evenly
 * over the load with jitter, so every kind happens at least once even in 60 s; a long run
 * draws random gaps and refills the bag until the load ends.
 */
import type { AppProcesses, ManagedChild } from './processes';
import { type Rng, sleep } from './random';
import type { Stack } from './stack';

export const FAULT_KINDS = [
  'worker-kill',
  'worker-commit-crash',
  'worker-rebalance',
  'api-kill',
  'kafka-restart',
  'pgbouncer-restart',
  'postgres-restart',
  'redis-flush',
  'bucket-move',
  'worker-pause',
  'kafka-pause',
  'pg-sessions-end',
  'redis-flushall',
  'grant-revoked',
  'statement-timeouts',
] as const;

/** How long a worker started to crash after its first commit gets to make one. */
const COMMIT_CRASH_WAIT_MS = 60_000;
/** The worker's consumer-group session timeout is 10 s: a pause past it gets it evicted. */
const WORKER_PAUSE_MS = 12_000;
const KAFKA_PAUSE_MS = 15_000;
/** How long the worker's role stays without its grant, or with a 3 ms statement timeout. */
const ROLE_FAULT_MS = 15_000;
const SESSIONS_END_ROUNDS = 4;
/** Ends the API's and the workers' sessions in the run's database (not the driver's own). */
const END_APP_SESSIONS = `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
  WHERE datname = current_database() AND usename IN ('ledgerline_worker', 'ledgerline_api') AND pid <> pg_backend_pid()`;
const END_WORKER_SESSIONS = `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
  WHERE datname = current_database() AND usename = 'ledgerline_worker'`;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultRecord {
  kind: FaultKind;
  plannedAtMs: number;
  startedAtMs: number;
  healedAtMs: number | null;
  detail: string;
  error: string | null;
}

export interface FaultPlanOptions {
  durationMs: number;
  /** Short runs: one of each kind, evenly spaced with jitter. */
  smoke: boolean;
  /** Load before the first fault (ms). */
  leadMs: number;
}

/** A long run waits this long between two faults at least / at most (plus the heal time). */
const GAP_MS_MIN = 2_000;
const GAP_MS_MAX = 12_000;
/** The last fault of a long run starts at least this long before the load ends. */
const TAIL_MS = 10_000;

export function planFaults(rng: Rng, options: FaultPlanOptions): { kind: FaultKind; atMs: number }[] {
  const plan: { kind: FaultKind; atMs: number }[] = [];
  if (options.smoke) {
    const kinds = rng.shuffle(FAULT_KINDS);
    // Leave the end of the load for the last heal; the schedule shifts later if a heal runs long.
    const window = Math.max(1_000, options.durationMs - options.leadMs - 15_000);
    const spacing = window / kinds.length;
    kinds.forEach((kind, i) => {
      const jitter = rng.between(-0.3, 0.3) * spacing;
      plan.push({ kind, atMs: Math.round(options.leadMs + i * spacing + jitter + (i === 0 ? Math.abs(jitter) : 0)) });
    });
    return plan;
  }
  let at = options.leadMs;
  let bag: FaultKind[] = [];
  while (at < options.durationMs - TAIL_MS) {
    if (bag.length === 0) bag = rng.shuffle(FAULT_KINDS);
    plan.push({ kind: bag.shift()!, atMs: Math.round(at) });
    at += rng.between(GAP_MS_MIN, GAP_MS_MAX);
  }
  return plan;
}

export interface FaultDeps {
  stack: Stack;
  apps: AppProcesses;
  /** Moves a random bucket that the load uses to another partition (the operator's fault). */
  moveBucket(): Promise<string>;
  /** Runs one statement in the run's database as its owner (a superuser on the local stack); the first column of the first row. */
  sql(text: string): Promise<unknown>;
  /** FLUSHALL and SCRIPT FLUSH on the stack's Redis. */
  flushRedis(): Promise<string>;
  rng: Rng;
  clock(): number;
  log(line: string): void;
}

/** Start attempts of a process a fault stopped, when it crashes while starting. */
const START_ATTEMPTS_MAX = 4;
/** A process fault waits this long at most for its target to be alive (a crash restarting). */
const PROCESS_WAIT_MS = 30_000;
/** After one heal, the next fault waits this long at least even if it is overdue. */
const SETTLE_MS_MIN = 1_000;

export class FaultRunner {
  readonly records: FaultRecord[] = [];
  private stopped = false;

  constructor(private readonly deps: FaultDeps) {}

  /** Stop starting faults (the one in progress still heals). */
  stop(): void {
    this.stopped = true;
  }

  /**
   * Runs the plan, one fault at a time. With `allPlanned` every planned fault runs even if it
   * is late (the smoke guarantees each kind once); otherwise a fault due after `untilMs` is
   * dropped.
   */
  async run(plan: { kind: FaultKind; atMs: number }[], options: { untilMs: number; allPlanned: boolean }): Promise<void> {
    for (const planned of plan) {
      if (this.stopped) return;
      const now = this.deps.clock();
      if (!options.allPlanned && planned.atMs > options.untilMs) return;
      await sleep(planned.atMs - now);
      if (this.stopped) return;
      await this.inject(planned.kind, planned.atMs);
      await sleep(SETTLE_MS_MIN);
    }
  }

  async inject(kind: FaultKind, plannedAtMs: number): Promise<FaultRecord> {
    const record: FaultRecord = { kind, plannedAtMs, startedAtMs: this.deps.clock(), healedAtMs: null, detail: '', error: null };
    this.records.push(record);
    this.deps.log(`fault ${this.records.length}: ${kind} at t=${(record.startedAtMs / 1000).toFixed(1)}s`);
    try {
      record.detail = await this.injectors[kind]();
      record.healedAtMs = this.deps.clock();
      this.deps.log(`fault ${this.records.length}: ${kind} healed after ${((record.healedAtMs - record.startedAtMs) / 1000).toFixed(1)}s (${record.detail})`);
    } catch (error) {
      record.error = (error as Error).message;
      this.deps.log(`fault ${this.records.length}: ${kind} FAILED to inject or heal: ${record.error}`);
      throw error;
    }
    return record;
  }

  private readonly injectors: Record<FaultKind, () => Promise<string>> = {
    'worker-kill': async () => {
      const { apps, rng } = this.deps;
      // Crashed workers are being restarted by the run's watchdog: wait for one to be alive.
      const live = await this.waitFor('a live worker to kill', () => (apps.workers().length > 0 ? apps.workers() : null));
      const victim = rng.pick(live);
      const exit = await apps.kill9(victim);
      await sleep(rng.between(300, 2_000));
      const again = await this.startWithRetry(victim.name, () => apps.workers().find((w) => w.name === victim.name), () => apps.startWorker(victim.name));
      return `${victim.name} pid ${victim.pid} killed (${exit.signal ?? exit.code}), restarted as pid ${again.pid}`;
    },
    'worker-commit-crash': async () => {
      const { apps } = this.deps;
      const id = `${apps.newWorkerId()}-crashing`;
      const crashing = await apps.startWorkerCrashingAfterCommit(id);
      const exit = await Promise.race([crashing.exited, sleep(COMMIT_CRASH_WAIT_MS).then(() => null)]);
      if (exit === null) {
        // Under load a worker that joins gets partitions and commits within seconds: no crash
        // means the fault did not happen (and the run's closing check would prove nothing).
        await apps.stop(crashing);
        throw new Error(`${id} pid ${crashing.pid} committed no batch within ${COMMIT_CRASH_WAIT_MS / 1000}s (stopped)`);
      }
      // Only the injected crash ends it with SIGKILL; anything else is a failed start.
      if (exit.signal !== 'SIGKILL') throw new Error(`${id} pid ${crashing.pid} exited before any commit (code ${exit.code}, signal ${exit.signal}): ${crashing.tail.slice(-3).join(' | ')}`);
      return `${id} pid ${crashing.pid} killed itself right after a batch's commit (cache not refreshed, offsets not committed)`;
    },
    'worker-rebalance': async () => {
      const { apps } = this.deps;
      const since = Date.now();
      const took = () => `${((Date.now() - since) / 1000).toFixed(1)}s`;
      const oldest = apps.workers()[0];
      const id = apps.newWorkerId();
      const added = await this.startWithRetry(id, () => apps.workers().find((w) => w.name === id), () => apps.startWorker(id));
      const startedIn = took();
      const joined = await apps.waitForGroupJoin(added, 30_000);
      await sleep(this.deps.rng.between(500, 3_000));
      if (!oldest) return `${added.name} pid ${added.pid} added in ${startedIn} (no worker to remove)`;
      const removing = Date.now();
      const { graceful } = await apps.stop(oldest);
      const removedIn = `${((Date.now() - removing) / 1000).toFixed(1)}s`;
      return `${added.name} pid ${added.pid} added in ${startedIn}${joined ? '' : ' (no group join seen in 30 s)'}, ${oldest.name} pid ${oldest.pid} removed in ${removedIn}${graceful ? '' : ' (SIGKILL after the grace period)'}`;
    },
    'api-kill': async () => {
      const { apps, rng } = this.deps;
      const api = await this.waitFor('a live API to kill', () => apps.api() ?? null);
      const exit = await apps.kill9(api);
      await sleep(rng.between(300, 1_500));
      const again = await this.startWithRetry('api', () => apps.api(), () => apps.startApi());
      return `api pid ${api.pid} killed (${exit.signal ?? exit.code}), restarted as pid ${again.pid}`;
    },
    'kafka-restart': async () => this.stackOp('kafka', () => this.deps.stack.restart('kafka')),
    'pgbouncer-restart': async () => this.stackOp('pgbouncer', () => this.deps.stack.restart('pgbouncer')),
    'postgres-restart': async () => this.stackOp('postgres', () => this.deps.stack.restart('postgres')),
    'bucket-move': async () => this.deps.moveBucket(),
    'worker-pause': async () => {
      const { apps, rng } = this.deps;
      const live = await this.waitFor('a live worker to pause', () => (apps.workers().length > 0 ? apps.workers() : null));
      const victim = rng.pick(live);
      apps.pause(victim);
      try {
        await sleep(WORKER_PAUSE_MS);
      } finally {
        apps.resume(victim);
      }
      return `${victim.name} pid ${victim.pid} paused ${WORKER_PAUSE_MS / 1000}s (past its session timeout), resumed`;
    },
    'kafka-pause': async () => {
      const { stack } = this.deps;
      const paused = await stack.pause('kafka');
      try {
        await sleep(KAFKA_PAUSE_MS);
      } finally {
        await stack.resume('kafka');
      }
      return `${paused}; resumed after ${KAFKA_PAUSE_MS / 1000}s`;
    },
    'pg-sessions-end': async () => {
      const ended: unknown[] = [];
      for (let round = 0; round < SESSIONS_END_ROUNDS; round++) {
        ended.push(await this.deps.sql(END_APP_SESSIONS));
        await sleep(700);
      }
      return `API and worker sessions ended, ${SESSIONS_END_ROUNDS} rounds: ${ended.join(', ')}`;
    },
    'redis-flushall': async () => this.deps.flushRedis(),
    'grant-revoked': async () => {
      await this.deps.sql('REVOKE INSERT ON entries FROM ledgerline_worker');
      try {
        await sleep(ROLE_FAULT_MS);
      } finally {
        await this.deps.sql('GRANT INSERT ON entries TO ledgerline_worker');
      }
      return `INSERT on entries revoked from ledgerline_worker for ${ROLE_FAULT_MS / 1000}s`;
    },
    'statement-timeouts': async () => {
      const role = (setting: string) => `DO $$ BEGIN EXECUTE format('ALTER ROLE ledgerline_worker IN DATABASE %I ${setting}', current_database()); END $$`;
      await this.deps.sql(role("SET statement_timeout = ''3ms''")); // quotes doubled inside format()'s literal
      try {
        await this.deps.sql(END_WORKER_SESSIONS); // a role setting takes at a session's start
        await sleep(ROLE_FAULT_MS);
      } finally {
        await this.deps.sql(role('RESET statement_timeout'));
        await this.deps.sql(END_WORKER_SESSIONS);
      }
      return `ledgerline_worker's statement_timeout 3 ms for ${ROLE_FAULT_MS / 1000}s`;
    },
    'redis-flush': async () => {
      const { stack, rng } = this.deps;
      const killed = await stack.kill('redis');
      await sleep(rng.between(300, 2_000));
      const started = await this.stackOp('redis', () => stack.start('redis'));
      return `${killed}; ${started}`;
    },
  };

  /**
   * Starts a process again; a start-up crash (recorded by the run as a crash) is retried a
   * few times, and a process the crash watchdog already brought back is taken as it is.
   */
  private async startWithRetry(name: string, alive: () => ManagedChild | undefined, start: () => Promise<ManagedChild>): Promise<ManagedChild> {
    for (let attempt = 1; ; attempt++) {
      const running = alive();
      if (running) return running;
      try {
        return await start();
      } catch (error) {
        if (attempt >= START_ATTEMPTS_MAX) throw error;
        this.deps.log(`starting ${name} failed (attempt ${attempt}), retrying: ${(error as Error).message.split('\n')[0]}`);
        await sleep(1_000 * attempt);
      }
    }
  }

  private async waitFor<T>(what: string, probe: () => T | null): Promise<T> {
    const deadline = Date.now() + PROCESS_WAIT_MS;
    for (;;) {
      const found = probe();
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${what} within ${PROCESS_WAIT_MS} ms`);
      await sleep(200);
    }
  }

  /** A stack operation, retried once through start-service if it failed half way. */
  private async stackOp(service: 'kafka' | 'postgres' | 'pgbouncer' | 'redis', op: () => Promise<string>): Promise<string> {
    const since = Date.now();
    const took = () => `${((Date.now() - since) / 1000).toFixed(1)}s`;
    try {
      const said = await op();
      return `${said} (${took()})`;
    } catch (error) {
      this.deps.log(`${service}: ${(error as Error).message.split('\n')[0]}; trying start-service once more`);
      await sleep(2_000);
      const again = await this.deps.stack.start(service);
      return `FIRST ATTEMPT FAILED, recovered by start-service: ${again} (${took()})`;
    }
  }
}
