/**
 * What `npm start` (scripts/run-local.ts) takes from the environment, checked before anything
 * starts: a value out of range is one clear line and exit 2, never a pipeline that half
 * starts (`WORKERS=1e9` used to spawn processes until the host gave out). An empty `VAR=` is
 * refused too, as the apps refuse it: unset a variable to get its default.
 */
import { workersNiceFrom } from './worker-priority';

/** More workers than the commands topic has partitions only wait; 64 is far past any local use. */
export const LOCAL_WORKERS_MAX = 64;
const WORKERS_DEFAULT = 2;
const PORT_DEFAULT = 8080;
/**
 * Worker i (1, 2, ...) serves /readyz and /metrics on this + i (infra/observability scrapes
 * 9101, 9102). WORKERS_OPS_PORT_BASE moves them, so a second checkout's `npm start` (another
 * LL_PROFILE) can run beside the first.
 */
const WORKER_OPS_PORT_BASE_DEFAULT = 9100;
/**
 * How long npm start waits for the API and the workers to exit after it passed them a stop
 * signal, before it SIGKILLs them. With its services up a worker stops in about a second;
 * with Kafka or Postgres gone it can retry for tens of seconds (45 s seen) before it gives up.
 */
const STOP_TIMEOUT_S_DEFAULT = 60;

export interface LocalSettings {
  /** Partition worker processes (WORKERS, 1..64). */
  workers: number;
  /** The API's port (PORT). */
  port: number;
  /** The workers' nice value (WORKERS_NICE, scripts/worker-priority.ts). */
  workersNice: number;
  /** Worker i's ops port is this + i (WORKERS_OPS_PORT_BASE, 1024..65000). */
  opsPortBase: number;
  /** Seconds from the SIGTERM to the SIGKILL of a child still running (STOP_TIMEOUT_S, 1..600). */
  stopTimeoutS: number;
}

export function localSettingsFrom(env: NodeJS.ProcessEnv): LocalSettings {
  const workers = integerFrom(env, 'WORKERS', WORKERS_DEFAULT, 1, LOCAL_WORKERS_MAX, 'partition worker processes');
  const port = integerFrom(env, 'PORT', PORT_DEFAULT, 1, 65_535, "the API's port");
  const opsPortBase = integerFrom(env, 'WORKERS_OPS_PORT_BASE', WORKER_OPS_PORT_BASE_DEFAULT, 1024, 65_000, "the workers' ops ports, worker i on this + i");
  const opsPorts = { first: opsPortBase + 1, last: opsPortBase + workers };
  if (port >= opsPorts.first && port <= opsPorts.last) {
    throw new Error(`PORT ${port} is a worker's ops port (the workers use ${opsPorts.first}-${opsPorts.last}); choose another`);
  }
  const stopTimeoutS = integerFrom(env, 'STOP_TIMEOUT_S', STOP_TIMEOUT_S_DEFAULT, 1, 600, 'seconds the API and workers get to stop before a SIGKILL');
  return { workers, port, workersNice: workersNiceFrom(env), opsPortBase, stopTimeoutS };
}

function integerFrom(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number, what: string): number {
  const raw = env[name];
  if (raw === undefined) return fallback;
  if (raw.trim() === '') throw new Error(`${name} is empty: unset it to use the default (${fallback})`);
  const value = /^\d{1,6}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) throw new Error(`${name} must be an integer from ${min} to ${max} (${what}), got ${JSON.stringify(raw)}`);
  return value;
}
