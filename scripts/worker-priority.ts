/**
 * The CPU priority of partition workers that share a host with the ingest API, as `npm start`
 * and `npm run bench` run them: the workers run under `nice`, so that when the host is full
 * the API takes the CPU first and the workers apply the backlog in what is left. A request's
 * answer (202: durable in Kafka) then keeps its latency under load, and the backlog waits in
 * Kafka, which is what it is for. When the host is not full the priority changes nothing.
 * docs/design.md, "When the host is full", says what it does and does not do;
 * loadtest/JOURNAL.md (sixteenth round) has the measurements.
 *
 * A nice value ranks threads within one scheduling group. With Linux's autogroups
 * (`kernel.sched_autogroup_enabled`, on by default) each session is a group, so the workers
 * run behind the processes of the launcher's own session (the API; in the bench also k6 and
 * the driver), not behind Kafka, Postgres or Redis, which the stack starts in sessions of
 * their own. On separate hosts or containers this is not needed (a container's CPU shares
 * do the same across containers: docker-compose.yml).
 *
 * `nice` (coreutils, and every Unix) execs the program, so the process keeps the pid the
 * launcher got, and every thread Node starts inherits the priority; `os.setPriority` after
 * the spawn would change only the main thread, not the threads Node started before it.
 */
import { getPriority } from 'node:os';

/** The nice value workers get by default: under contention ~1/9 of a nice-0 thread's CPU. */
export const WORKERS_NICE_DEFAULT = 10;

/**
 * WORKERS_NICE from the environment: an integer 0..19 (0 runs the workers like the API). Empty
 * is refused, as the apps refuse an empty variable: unset it for the default.
 */
export function workersNiceFrom(env: NodeJS.ProcessEnv): number {
  const raw = env.WORKERS_NICE;
  if (raw === undefined) return WORKERS_NICE_DEFAULT;
  if (raw.trim() === '') throw new Error(`WORKERS_NICE is empty: unset it to use the default (${WORKERS_NICE_DEFAULT})`);
  const value = /^\d{1,2}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= 0 && value <= 19)) {
    throw new Error(`WORKERS_NICE must be an integer from 0 to 19 (the workers' nice value; 0 runs them like the API), got ${JSON.stringify(raw)}`);
  }
  return value;
}

/**
 * `command args` run at the nice value `nice`, absolute: `nice -n` adds to the launcher's
 * own value, so the increment is what lies between the two. A launcher already at `nice` or
 * above runs the command as it is (lowering a nice value needs privileges).
 */
export function nicedCommand(nice: number, command: string, args: readonly string[], launcherNice = getPriority()): { command: string; args: string[] } {
  const increment = nice - launcherNice;
  return increment <= 0 ? { command, args: [...args] } : { command: 'nice', args: ['-n', String(increment), command, ...args] };
}
