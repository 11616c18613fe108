/**
 * The CPU priority of partition workers that share a host with the ingest API, as `npm start`
 * and `npm run bench` run them: the workers run under `nice`, so that when the host is full
 * the API, and Kafka, Postgres and Redis behind it, take the CPU first and the workers apply
 * the backlog in what is left. A request's answer (202: durable in Kafka) then keeps its
 * latency under load, and the backlog waits in Kafka, which is what it is for. When the host
 * is not full the priority changes nothing. README.md, "CPU priority on one host", has the
 * measurements and what it costs; on separate hosts or containers it is not needed (a
 * container's CPU shares do the same: docker-compose.yml).
 *
 * `nice` (coreutils, and every Unix) execs the program, so the process keeps the pid the
 * launcher got, and every thread Node starts inherits the priority; `os.setPriority` after
 * the spawn would miss the threads Node started before it.
 */

/** The nice value workers get by default: under contention ~1/9 of a nice-0 thread's CPU. */
export const WORKERS_NICE_DEFAULT = 10;

/** WORKERS_NICE from the environment: an integer 0..19 (0 runs the workers like the API). */
export function workersNiceFrom(env: NodeJS.ProcessEnv): number {
  const raw = env.WORKERS_NICE;
  if (raw === undefined || raw === '') return WORKERS_NICE_DEFAULT;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 19) {
    throw new Error(`WORKERS_NICE must be an integer from 0 to 19 (the workers' nice value; 0 turns it off), got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** `command args` run at `nice`: through the `nice` program, or as it is for 0. */
export function nicedCommand(nice: number, command: string, args: readonly string[]): { command: string; args: string[] } {
  return nice === 0 ? { command, args: [...args] } : { command: 'nice', args: ['-n', String(nice), command, ...args] };
}
