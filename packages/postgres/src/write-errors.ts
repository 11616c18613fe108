/**
 * What a failed batch write means, decided in one place from the error's SQLSTATE (or, for a
 * connection that never got one, its message). The worker acts on the answer:
 *
 *   operating       a dependency is down or busy (connection lost, PgBouncer 08P01, server
 *                   shutting down, serialization failure, out of resources): the same write
 *                   may succeed later. Retried as is, with capped jittered backoff.
 *   fenced          LL001: another owner took the partition; stop writing it.
 *   concurrent      LL002: an account's seq, a hold's status or a reversal total was not what
 *                   the single writer expected: the one-writer assumption is broken; stop the
 *                   process.
 *   deterministic   LL003 (a saga leg whose transfer does not exist, is no longer PROCESSING or
 *                   has other facts: a copy of an applied leg, which the worker's dedupe read
 *                   tells apart, or a leg no worker built) and anything else (a value
 *                   Postgres refuses, a constraint, a bug in one
 *                   command's data): the same input fails the same way every time. Retrying
 *                   would stop the partition for good, so the batch is bisected until the one
 *                   command that fails alone is found and isolated (dead-lettered; a client's
 *                   transfer or hold also REJECTED UNPROCESSABLE, a saga leg's transfer left
 *                   PROCESSING); the rest is written.
 *
 * A "deterministic" error that a batch with no commands also fails with is really an
 * operating error: the worker checks that before blaming a command (PartitionApplier). A
 * broken deploy (a missing column, a revoked privilege on one table) may spare that empty
 * write, so its SQLSTATE classes are operating errors by themselves.
 */

export type WriteFailureKind = 'operating' | 'fenced' | 'concurrent' | 'deterministic';

/**
 * SQLSTATE classes of a dependency down or busy: the same statement may succeed as is on
 * another attempt (the API answers 503, ledgerctl resumes, the worker retries).
 */
const TRANSIENT_CLASSES: ReadonlyMap<string, string> = new Map([
  ['08', 'connection exception (08P01: PgBouncer cannot reach Postgres)'],
  ['53', 'insufficient resources (disk full, out of memory, too many connections)'],
  ['57', 'operator intervention (admin shutdown, crash shutdown, cannot connect now, query canceled)'],
  ['58', 'system error (I/O error)'],
]);

/**
 * SQLSTATE classes that are operating errors to the worker, though retrying does not mend them
 * by itself: the schema or the role does not match the code (a revoked privilege; a column,
 * table or function a rolling deploy has not migrated yet), or Postgres failed inside. No
 * command's data raises these (values reach ledger_apply_batch as one jsonb parameter), and
 * the empty write that proves a failure is a command's touches only partition_state, so it
 * cannot tell them apart. The worker waits for the deploy to be mended; the API answers 500.
 */
const DEPLOY_CLASSES: ReadonlyMap<string, string> = new Map([
  ['0A', 'feature not supported'],
  ['39', 'external routine invocation exception'],
  ['3D', 'invalid catalog name (the database does not exist)'],
  ['3F', 'invalid schema name'],
  ['42', 'syntax error or access rule violation (42501 insufficient privilege, 42703 undefined column, 42P01 undefined table, 42883 undefined function)'],
  ['XX', 'internal error'],
]);

/** Single SQLSTATEs that are transient outside those classes. */
const TRANSIENT_CODES: ReadonlyMap<string, string> = new Map([
  ['40001', 'serialization failure'],
  ['40P01', 'deadlock detected'],
  ['55P03', 'lock not available'],
  ['55006', 'object in use'],
  ['25P03', 'idle-in-transaction session timeout'],
]);

/** A SQLSTATE of a dependency down or busy: the same statement may succeed as is later. */
export function isTransientSqlState(code: string): boolean {
  return TRANSIENT_CODES.has(code) || TRANSIENT_CLASSES.has(code.slice(0, 2));
}

export const SQLSTATE_FENCED = 'LL001';
export const SQLSTATE_CONCURRENT_WRITE = 'LL002';
/** A saga leg that does not match its transfer's row (migration 0021). */
export const SQLSTATE_LEG_MISMATCH = 'LL003';
/** A key already taken: deterministic for a batch written with its dedupe read, maybe a copy without it. */
export const SQLSTATE_UNIQUE_VIOLATION = '23505';

/**
 * The error's SQLSTATE, or null when the server gave none. A Node system error (a socket's
 * `EPIPE`: five capitals, like a SQLSTATE) carries `syscall` and a numeric `errno`; its code
 * says the connection failed, never that the data did.
 */
export function sqlStateOf(error: unknown): string | null {
  const e = error as { code?: unknown; errno?: unknown; syscall?: unknown } | null;
  if (e === null || typeof e !== 'object' || typeof e.errno === 'number' || e.syscall !== undefined) return null;
  return typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : null;
}

export function classifyWriteFailure(error: unknown): WriteFailureKind {
  const code = sqlStateOf(error);
  if (code === SQLSTATE_FENCED) return 'fenced';
  if (code === SQLSTATE_CONCURRENT_WRITE) return 'concurrent';
  if (code !== null) {
    if (isTransientSqlState(code) || DEPLOY_CLASSES.has(code.slice(0, 2))) return 'operating';
    return 'deterministic';
  }
  // No SQLSTATE: the statement never ran to an answer (connection refused, pool timeout,
  // socket closed, PgBouncer gone). Only the server can blame the data, so this is never
  // taken as the command's fault.
  return 'operating';
}
