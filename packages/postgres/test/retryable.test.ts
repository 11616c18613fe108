// Proves PgBouncer's and Postgres's "not now" errors are classed as retryable (503 at the
// API, a retried batch at the worker) and data errors are not.
import { describePgFailure, isRetryablePgError } from '../src';
import { serverError } from '../../../test/support/pg-errors';

const pgError = (code: string, message: string) => serverError(code, message);

describe('isRetryablePgError', () => {
  // Regression (found by the chaos run): PgBouncer reports a Postgres it cannot log in to
  // with SQLSTATE 08P01, which the API used to answer with a 500.
  test.each([
    pgError('08P01', 'server login has been failing, try again later (server_login_retry)'),
    pgError('08P01', 'server conn crashed?'),
    pgError('57P01', 'terminating connection due to administrator command'),
    pgError('57P03', 'the database system is starting up'),
    pgError('40001', 'could not serialize access'),
    // Found by an outside review: the worker retried these while the API answered 500.
    pgError('53300', 'sorry, too many clients already'),
    pgError('53100', 'could not extend file: No space left on device'),
    pgError('57014', 'canceling statement due to statement timeout'),
    pgError('55P03', 'could not obtain lock on row'),
    pgError('25P03', 'terminating connection due to idle-in-transaction timeout'),
    new Error('connect ECONNREFUSED 127.0.0.1:26432'),
    new Error('Connection terminated unexpectedly'),
    new Error('timeout exceeded when trying to connect'),
    new Error('Query read timeout'), // the pool's own deadline (PoolOptions.queryTimeoutMs)
    // Found by an outside review: the API answered these with a 500. node-pg's words for a
    // client whose connection failed, or that was closed (client.js, _handleErrorEvent/query):
    new Error('Client has encountered a connection error and is not queryable'),
    new Error('Client was closed and is not queryable'),
    // Node's socket errors, as its net module builds them (errno, code, syscall):
    Object.assign(new Error('write EPIPE'), { errno: -32, code: 'EPIPE', syscall: 'write' }),
    Object.assign(new Error('read ETIMEDOUT'), { errno: -110, code: 'ETIMEDOUT', syscall: 'read' }),
    Object.assign(new Error('connect EHOSTUNREACH 10.0.0.7:6432'), { errno: -113, code: 'EHOSTUNREACH', syscall: 'connect', address: '10.0.0.7', port: 6432 }),
    Object.assign(new Error('getaddrinfo EAI_AGAIN pgbouncer'), { errno: -3001, code: 'EAI_AGAIN', syscall: 'getaddrinfo', hostname: 'pgbouncer' }),
    // A TLS socket reset before its handshake: a code, no syscall.
    Object.assign(new Error('Client network socket disconnected before secure TLS connection was established'), { code: 'ECONNRESET', host: 'pgbouncer', port: 6432 }),
  ])('retryable: %s', (error) => {
    expect(isRetryablePgError(error)).toBe(true);
  });

  test.each([
    pgError('22003', 'value "99999999999999999999" is out of range for type bigint'),
    pgError('23505', 'duplicate key value violates unique constraint'),
    pgError('42601', 'syntax error'),
    // A deploy that does not match the schema: the worker waits for it, the API answers 500.
    pgError('42501', 'permission denied for table holds'),
    pgError('XX000', 'internal error'),
    new Error('something else'),
    // A system error that is not a socket's is not Postgres unavailable.
    Object.assign(new Error("ENOENT: no such file or directory, open '/app/openapi.json'"), { errno: -2, code: 'ENOENT', syscall: 'open', path: '/app/openapi.json' }),
  ])('not retryable: %s', (error) => {
    expect(isRetryablePgError(error)).toBe(false);
  });
});

describe('describePgFailure', () => {
  test("PgBouncer's words for a Postgres it cannot reach say Postgres first", () => {
    expect(describePgFailure(pgError('08P01', 'server login has been failing, try again later (server_login_retry)'))).toBe(
      'Postgres is not answering PgBouncer (PgBouncer: server login has been failing, try again later (server_login_retry))',
    );
    expect(describePgFailure(pgError('08P01', 'pgbouncer cannot connect to server'))).toMatch(/^Postgres is not answering PgBouncer \(PgBouncer: /);
    expect(describePgFailure(pgError('08P01', 'query_wait_timeout'))).toMatch(/^no Postgres connection came free in time: Postgres down or saturated \(PgBouncer: query_wait_timeout\)$/);
  });

  test("any other failure the server answered is its own message with its SQLSTATE; one it did not answer, its message", () => {
    expect(describePgFailure(pgError('23505', 'duplicate key value violates unique constraint'))).toBe('duplicate key value violates unique constraint (SQLSTATE 23505)');
    expect(describePgFailure(new Error('connect ECONNREFUSED 127.0.0.1:26432'))).toBe('connect ECONNREFUSED 127.0.0.1:26432');
    // A socket's error code is no SQLSTATE, even one of five letters.
    expect(describePgFailure(Object.assign(new Error('write EPIPE'), { code: 'EPIPE', syscall: 'write' }))).toBe('write EPIPE');
  });

  // Regression (an operator run): the README says a partition whose writes keep failing while
  // Postgres answers shows "SQLSTATE class 42 in the log", but the worker's `write failed (...)`
  // line and its /readyz reason carried the message alone (a grant revoked from the worker role).
  test('a deploy that does not match the schema or its grants names its class-42 SQLSTATE', () => {
    expect(describePgFailure(pgError('42501', 'permission denied for function ledger_apply_batch'))).toBe('permission denied for function ledger_apply_batch (SQLSTATE 42501)');
    expect(describePgFailure(pgError('42703', 'column "rest" does not exist'))).toMatch(/\(SQLSTATE 42703\)$/);
  });
});
