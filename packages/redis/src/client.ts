/**
 * ioredis connections tuned to fail fast. Redis is never the truth (docs/design.md, invariant 9):
 * when it is down, every caller has a fallback (Postgres), so a command must fail within
 * milliseconds rather than queue behind a reconnect and hold an HTTP request hostage.
 */
import Redis from 'ioredis';
import { type BreakerState, installBreaker } from './breaker';

export type RedisClient = Redis;

export interface RedisClientOptions {
  /** A command not answered within this fails (ms). */
  commandTimeoutMs?: number;
  /** Time to open the connection (ms). */
  connectTimeoutMs?: number;
  /** How long between reconnect attempts at most (ms); the delay grows by RECONNECT_DELAY_STEP_MS per attempt up to it. */
  reconnectDelayMsMax?: number;
  /**
   * Send the commands issued in one event-loop turn as one pipeline (ioredis
   * `enableAutoPipelining`): one socket write and one read for many requests. Off by default.
   *
   * How it meets the fail-fast settings: each command still fails on its own (a Lua error or
   * a timeout rejects that command, not its neighbours), and with no connection every command
   * still fails at once (no offline queue). But ioredis runs one auto-pipeline at a time and
   * starts `commandTimeoutMs` only when a pipeline is sent, so behind a stalled pipeline a
   * command may wait up to about twice `commandTimeoutMs` before it fails.
   */
  autoPipelining?: boolean;
  /**
   * After a command times out, how long every command fails at once before a PING probes
   * whether Redis answers again (ms; see breaker.ts). A hung Redis then costs one timeout, not
   * one per command.
   */
  breakerOpenMs?: number;
  /** Told each change of the breaker's state (a gauge, a log line: `reportBreakerChanges`). */
  onBreakerChange?: (state: BreakerState, previous: BreakerState) => void;
}

export const REDIS_COMMAND_TIMEOUT_MS_DEFAULT = 500;
export const REDIS_CONNECT_TIMEOUT_MS_DEFAULT = 2_000;
export const REDIS_RECONNECT_DELAY_MS_MAX_DEFAULT = 2_000;
export const REDIS_BREAKER_OPEN_MS_DEFAULT = 1_000;
/** Reconnect attempt n waits n times this, up to `reconnectDelayMsMax`. */
const RECONNECT_DELAY_STEP_MS = 50;

function reconnectDelay(options: RedisClientOptions): (attempt: number) => number {
  const cap = options.reconnectDelayMsMax ?? REDIS_RECONNECT_DELAY_MS_MAX_DEFAULT;
  return (attempt) => Math.min(RECONNECT_DELAY_STEP_MS * attempt, cap);
}

/**
 * The connection for commands: no offline queue, one retry, a per-command timeout behind a
 * circuit breaker, optionally auto-pipelined.
 */
export function createRedis(url: string, options: RedisClientOptions = {}): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    enableAutoPipelining: options.autoPipelining ?? false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs ?? REDIS_COMMAND_TIMEOUT_MS_DEFAULT,
    connectTimeout: options.connectTimeoutMs ?? REDIS_CONNECT_TIMEOUT_MS_DEFAULT,
    retryStrategy: reconnectDelay(options),
  });
  // Errors surface on the commands that fail; an 'error' event without a listener would
  // crash the process while Redis restarts.
  client.on('error', () => undefined);
  installBreaker(client, { openMs: options.breakerOpenMs ?? REDIS_BREAKER_OPEN_MS_DEFAULT, onStateChange: options.onBreakerChange });
  return client;
}

/**
 * The connection for SUBSCRIBE. It must queue its (re)subscription until Redis is back and
 * never give up, so it keeps the offline queue and retries forever; it carries no request
 * path, so nothing waits on it.
 */
export function createSubscriber(url: string, options: RedisClientOptions = {}): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    autoResubscribe: true,
    connectTimeout: options.connectTimeoutMs ?? REDIS_CONNECT_TIMEOUT_MS_DEFAULT,
    retryStrategy: reconnectDelay(options),
  });
  client.on('error', () => undefined);
  return client;
}

/** Resolves once the connection is ready, or rejects after `timeoutMs`. */
export function waitUntilReady(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`redis not ready within ${timeoutMs} ms (status ${client.status})`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}

/** Readiness probe: PING, bounded by the client's command timeout. */
export async function ping(client: Redis): Promise<void> {
  const answer = await client.ping();
  if (answer !== 'PONG') throw new Error(`redis answered ${answer} to PING`);
}
