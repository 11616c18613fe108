/**
 * What a failed batch write means, decided in one place from the error's SQLSTATE (or, for a
 * connection that never got one, its message). The worker acts on the answer:
 *
 *   operating       a dependency is down or busy (connection lost, PgBouncer 08P01, server
 *                   shutting down, serialization failure, out of resources), a server
 *                   connection in a state of its own (25006 read-only during a failover), or
 *                   a deploy that does not match the code: the same write may succeed later.
 *                   Retried as is, with capped jittered backoff.
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
 * operating error: the worker checks that before it bisects a batch, and again before it
 * blames a single command, which must then fail alone once more (PartitionApplier): an error
 * that comes and goes rejects a valid command only if it fails it alone twice and spares
 * both empty writes. A broken deploy (a missing column, a
 * revoked privilege on one table) may spare that empty write, so its SQLSTATE classes are
 * operating errors by themselves.
 */

export type WriteFailureKind = 'operating' | 'fenced' | 'concurrent' | 'deterministic';

/**
 * What a SQLSTATE says of a failed statement:
 *
 *   transient  a dependency down or busy, or a server connection in a state of its own (a node
 *              demoted to a standby during a failover, a session left in a failed transaction):
 *              the same statement may succeed as is on another attempt (the API answers 503,
 *              ledgerctl resumes, the worker retries).
 *   deploy     the schema, the role, its credentials or the server's settings do not match the
 *              code, or Postgres failed inside. Retrying does not mend it by itself, but no
 *              command's data raises it (values reach ledger_apply_batch as one jsonb
 *              parameter), and the empty write that proves a failure is a command's touches
 *              only partition_state, so it cannot tell these apart. The worker waits for the
 *              deploy to be mended; the API answers 500.
 *   data       the values one command carries, or the rows it touches: the same input fails the
 *              same way every time (deterministic, isolated by the worker).
 *
 * Every class of PostgreSQL's list (Appendix A) is decided here, each with its reason. A class
 * not listed is data: 00-03 (success, warnings, no data) are never a failed statement's, and
 * 0F (locators), 24 and 34 (cursors), 2B (privilege descriptors of a DROP) and HV (foreign data
 * wrappers) come from statements the ledger does not send. A single code may differ from its
 * class (SQLSTATE_CODES). A transient error taken for data here still blames no command: the
 * worker blames one only after an empty write succeeded and the command failed alone again
 * (PartitionApplier).
 */
type SqlStateKind = 'transient' | 'deploy' | 'data';

const SQLSTATE_CLASSES: ReadonlyMap<string, readonly [SqlStateKind, string]> = new Map([
  ['08', ['transient', 'connection exception (08P01: PgBouncer cannot reach Postgres)']],
  ['09', ['data', 'triggered action exception: a trigger refused the row']],
  ['0A', ['deploy', 'feature not supported']],
  ['0B', ['deploy', "invalid transaction initiation: the code's transaction control, not its data"]],
  ['0L', ['deploy', 'invalid grantor: the roles as set up']],
  ['0P', ['deploy', 'invalid role specification: the roles as set up']],
  ['0Z', ['data', 'diagnostics exception: a path of a function a value chose']],
  ['20', ['data', 'case not found: a value no CASE of a function expects']],
  ['21', ['data', 'cardinality violation: one statement touching a row twice (duplicate keys in a batch)']],
  ['22', ['data', 'data exception: a value out of range, badly encoded, not of its type']],
  ['23', ['data', 'integrity constraint violation: a key taken, a check refused']],
  [
    '25',
    [
      'transient',
      "invalid transaction state: the server connection's, never a value's (25006 read-only: PgBouncer still holding connections to a primary demoted during a failover, or a hot standby; 25P02 in a failed transaction: a session left aborted; 25001/25P01 a transaction block open or not; 25P03/25P04 idle or transaction timeout). No statement the ledger sends lets a value raise one",
    ],
  ],
  ['26', ['deploy', 'invalid SQL statement name: a named statement prepared on another server connection (PgBouncer in transaction mode): the code must not name statements']],
  ['27', ['data', 'triggered data change violation: a trigger changing a row the statement changes']],
  ['28', ['deploy', 'invalid authorization specification (28000, 28P01 bad password): the credentials or pg_hba as configured']],
  ['2D', ['deploy', "invalid transaction termination: the code's transaction control inside a function"]],
  ['2F', ['data', 'SQL routine exception: a path of a function a value chose (no RETURN reached)']],
  ['38', ['deploy', 'external routine exception: a function doing what its declaration forbids']],
  ['39', ['deploy', 'external routine invocation exception']],
  ['3B', ['deploy', "savepoint exception: the code's savepoints"]],
  ['3D', ['deploy', 'invalid catalog name (the database does not exist)']],
  ['3F', ['deploy', 'invalid schema name']],
  ['40', ['transient', 'transaction rollback by the server (serialization failure, deadlock, 40003 statement completion unknown: the connection failed at commit; a retry of a write that did commit meets its fence)']],
  [
    '42',
    ['deploy', 'syntax error or access rule violation (42501 insufficient privilege, 42703 undefined column, 42P01 undefined table, 42883 undefined function)'],
  ],
  ['44', ['data', 'WITH CHECK OPTION violation: a row a view refuses']],
  ['53', ['transient', 'insufficient resources (disk full, out of memory, too many connections)']],
  ['54', ['data', 'program limit exceeded: a value or a batch too large (bisection writes smaller ones)']],
  ['55', ['deploy', 'object not in prerequisite state (55000: a table published for logical replication without a replica identity refuses updates; 55P02 a setting; 55P04 an enum value used in the migration that added it)']],
  ['57', ['transient', 'operator intervention (admin shutdown, crash shutdown, cannot connect now, query canceled)']],
  ['58', ['transient', 'system error (I/O error)']],
  ['72', ['transient', 'snapshot too old: another attempt takes a new snapshot']],
  ['F0', ['deploy', 'configuration file error']],
  ['P0', ['data', "PL/pgSQL error: a function's RAISE or assertion on the values it was given"]],
  ['XX', ['deploy', 'internal error']],
]);

/** Single SQLSTATEs whose kind is not their class's. */
const SQLSTATE_CODES: ReadonlyMap<string, readonly [SqlStateKind, string]> = new Map([
  ['40002', ['data', 'transaction integrity constraint violation: a deferred constraint the rows broke, checked at commit']],
  ['55006', ['transient', 'object in use']],
  ['55P03', ['transient', 'lock not available']],
]);

function sqlStateKind(code: string): SqlStateKind {
  return (SQLSTATE_CODES.get(code) ?? SQLSTATE_CLASSES.get(code.slice(0, 2)))?.[0] ?? 'data';
}

/** A SQLSTATE of a dependency down or busy: the same statement may succeed as is later. */
export function isTransientSqlState(code: string): boolean {
  return sqlStateKind(code) === 'transient';
}

export const SQLSTATE_FENCED = 'LL001';
export const SQLSTATE_CONCURRENT_WRITE = 'LL002';
/** A saga leg that does not match its transfer's row (migration 0021). */
export const SQLSTATE_LEG_MISMATCH = 'LL003';
/** A key already taken: deterministic for a batch written with its dedupe read, maybe a copy without it. */
export const SQLSTATE_UNIQUE_VIOLATION = '23505';

/**
 * An error this package raises in place of the server's DatabaseError (FencedError,
 * ConcurrentWriteError), keeping the SQLSTATE the server refused the write with.
 */
export abstract class RefusedWriteError extends Error {
  abstract readonly code: string;
}

/**
 * The SQLSTATE the server refused a statement with, or null when no server answered. Only
 * node-pg's DatabaseError (pg-protocol's parse of an ErrorResponse, from Postgres or from
 * PgBouncer in its stead) carries one: it always has a `severity` (ERROR, FATAL, PANIC) beside
 * its `code`. Other errors with a five-character code are not the server's: a Node system
 * error (a socket's `EPIPE`, with errno and syscall), or kafkajs's KafkaJSConnectionError,
 * which copies the socket's code (`EPIPE`) without either (a heartbeat after a write); their
 * code says a connection failed, never that the data did.
 */
export function sqlStateOf(error: unknown): string | null {
  if (error instanceof RefusedWriteError) return error.code;
  const e = error as { code?: unknown; severity?: unknown } | null;
  if (e === null || typeof e !== 'object' || typeof e.severity !== 'string') return null;
  return typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : null;
}

export function classifyWriteFailure(error: unknown): WriteFailureKind {
  const code = sqlStateOf(error);
  if (code === SQLSTATE_FENCED) return 'fenced';
  if (code === SQLSTATE_CONCURRENT_WRITE) return 'concurrent';
  if (code !== null) {
    return sqlStateKind(code) === 'data' ? 'deterministic' : 'operating';
  }
  // No SQLSTATE: the statement never ran to an answer (connection refused, pool timeout,
  // socket closed, PgBouncer gone). Only the server can blame the data, so this is never
  // taken as the command's fault.
  return 'operating';
}
