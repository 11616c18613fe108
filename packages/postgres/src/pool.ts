import { Pool, type PoolClient } from 'pg';
import { isTransientSqlState, sqlStateOf } from './write-errors';

/**
 * Pools connect through PgBouncer in transaction mode. So: no named (server-side prepared)
 * statements, no session SET (use SET LOCAL inside a transaction), and nothing that
 * expects two statements outside a transaction to share a server connection.
 */
export interface PoolOptions {
  connectionString: string;
  /** Client-side connections; PgBouncer multiplexes them onto its own server pool. */
  connectionsMax: number;
  /** How long to wait for a connection before failing fast (a dependency is down). */
  connectTimeoutMs: number;
  /** A connection idle this long is closed (0: never); POOL_IDLE_TIMEOUT_MS_DEFAULT when left out. */
  idleTimeoutMs?: number;
  /**
   * A statement not answered within this (ms) fails on the client ("Query read timeout", no
   * SQLSTATE: an operating error) and its connection is discarded (by pg-pool for
   * `pool.query`, by inTransaction for its own); 0 or left out: no deadline.
   * Without one, a connection that died without a reset (a peer gone, a dropped route) holds
   * its caller forever. A query may set its own `query_timeout`.
   */
  queryTimeoutMs?: number;
  applicationName: string;
}

export const POOL_IDLE_TIMEOUT_MS_DEFAULT = 30_000;

export function createPool(options: PoolOptions): Pool {
  const pool = new Pool({
    connectionString: options.connectionString,
    max: options.connectionsMax,
    connectionTimeoutMillis: options.connectTimeoutMs,
    idleTimeoutMillis: options.idleTimeoutMs ?? POOL_IDLE_TIMEOUT_MS_DEFAULT,
    application_name: options.applicationName,
    ...(options.queryTimeoutMs ? { query_timeout: options.queryTimeoutMs } : {}),
  });
  // An idle client losing its connection (PgBouncer or Postgres restarting) must not crash
  // the process; the next checkout reconnects.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs `work` inside BEGIN/COMMIT on one connection; rolls back on any error. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  // A checked-out client has no listener of pg-pool's: without ours, PgBouncer or Postgres
  // restarting mid-transaction emits an unhandled 'error' and kills the process (found by
  // the chaos run). The failed query rejects on its own; this only keeps the process alive.
  const onError = () => {
    broken = true;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    if (isQueryTimeout(error)) {
      // The statement past the deadline may still be running: a ROLLBACK would queue behind
      // it. The connection is dropped instead (PgBouncer then drops its server connection,
      // which rolls the transaction back).
      broken = true;
    } else {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
    }
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/**
 * A pool of connections to the ledger's database, as the apps hold it. The apps name this
 * type, never pg's: the driver is this package's detail (the dependency rules refuse `pg` in
 * the apps' sources).
 */
export type Database = Pool;

/** node-pg's error for a statement past its `query_timeout` (PoolOptions.queryTimeoutMs). */
export function isQueryTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === 'Query read timeout';
}

/**
 * The statement got no answer in time: the pool's query deadline, or no connection within the
 * connect timeout (PgBouncer hung). Not an answered failure (a deadlock, too many clients, one
 * dead connection), after which the next statement may well go through.
 */
export function isNoAnswer(error: unknown): boolean {
  return isQueryTimeout(error) || /timeout exceeded when trying to connect/i.test((error as Error)?.message ?? '');
}

/**
 * A Postgres failure as an operator should read it. PgBouncer answers for Postgres in its
 * own words ("server login has been failing, try again later (server_login_retry)"), which
 * read like a PgBouncer setting to fix when it is Postgres that is down: those say so first,
 * PgBouncer's text after. Any other error the server answered is its own message with its
 * SQLSTATE: the README sends an operator to the log for "SQLSTATE class 42" (a deploy that does
 * not match the schema or its grants), and "permission denied for function ..." alone does not
 * say it. A failure the server did not answer (a refused socket, a timeout) is its message.
 */
export function describePgFailure(error: unknown): string {
  const message = (error as Error)?.message ?? String(error);
  if (/server login has been failing|pgbouncer cannot connect to server|server conn crashed/i.test(message)) {
    return `Postgres is not answering PgBouncer (PgBouncer: ${message})`;
  }
  if (/query_wait_timeout/i.test(message)) return `no Postgres connection came free in time: Postgres down or saturated (PgBouncer: ${message})`;
  const sqlstate = serverSqlstate(error);
  return sqlstate === null ? message : `${message} (SQLSTATE ${sqlstate})`;
}

/** The SQLSTATE of an error the server answered (node-pg's DatabaseError: a severity and a 5-character code), or null. */
function serverSqlstate(error: unknown): string | null {
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  return typeof severity === 'string' && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

/**
 * Node's system errors of a socket or a name lookup (`write EPIPE`, `read ETIMEDOUT`,
 * `getaddrinfo EAI_AGAIN pgbouncer`): the connection to PgBouncer failed, not the statement.
 * Told by the syscall; a TLS socket's reset carries only the code.
 */
const SOCKET_SYSCALLS: ReadonlySet<string> = new Set(['connect', 'read', 'write', 'writev', 'shutdown', 'getaddrinfo']);
const SOCKET_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

function isSocketFailure(error: unknown): boolean {
  const e = error as { code?: unknown; syscall?: unknown } | null;
  if (e === null || typeof e !== 'object') return false;
  return (typeof e.syscall === 'string' && SOCKET_SYSCALLS.has(e.syscall)) || (typeof e.code === 'string' && SOCKET_CODES.has(e.code));
}

/**
 * A statement that may succeed as is on another attempt: a transient SQLSTATE (write-errors.ts,
 * the same table the worker uses; 08P01 is how PgBouncer reports its own trouble reaching
 * Postgres), the pool's own deadline, or a connection that failed before any answer: a
 * socket's error (EPIPE, ETIMEDOUT, a failed name lookup...) or a node-pg client that lost its
 * connection or was closed ("... is not queryable").
 */
export function isRetryablePgError(error: unknown): boolean {
  if (isQueryTimeout(error)) return true;
  const code = sqlStateOf(error);
  if (code !== null) return isTransientSqlState(code);
  if (isSocketFailure(error)) return true;
  const message = (error as Error)?.message ?? '';
  return /ECONNREFUSED|ECONNRESET|Connection terminated|not queryable|timeout exceeded when trying to connect|server conn crashed|no more connections allowed|query_wait_timeout|server login has been failing|pgbouncer cannot connect to server|the database system is (starting up|shutting down)/i.test(
    message,
  );
}
