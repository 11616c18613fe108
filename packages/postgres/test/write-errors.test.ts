// What a failed batch write means decides whether a command is blamed (isolated as
// UNPROCESSABLE) or the write is retried: only the server's own SQLSTATE may blame the data.
import { KafkaJSConnectionError } from 'kafkajs';
import { ConcurrentWriteError, FencedError, classifyWriteFailure, isRetryablePgError, sqlStateOf } from '../src';
import { serverError } from '../../../test/support/pg-errors';

describe('classifyWriteFailure', () => {
  test("a server's SQLSTATE decides: data errors are deterministic, connection classes operating", () => {
    expect(classifyWriteFailure(serverError('22P02', 'invalid input syntax'))).toBe('deterministic');
    expect(classifyWriteFailure(serverError('23505', 'duplicate key'))).toBe('deterministic');
    expect(classifyWriteFailure(serverError('08P01', 'server conn crashed?'))).toBe('operating');
    expect(classifyWriteFailure(serverError('57P01', 'terminating connection', 'FATAL'))).toBe('operating');
    expect(classifyWriteFailure(serverError('40001', 'serialization failure'))).toBe('operating');
    expect(sqlStateOf(serverError('22P02', 'invalid input syntax'))).toBe('22P02');
  });

  test('a schema or role that does not match the code is an operating error, never a command to dead-letter', () => {
    // A rolling deploy or a revoked grant on one table: the empty write that proves a failure
    // is a command's touches only partition_state, so these must be operating by themselves.
    for (const code of ['42501', '42703', '42P01', '42883', '0A000', '3F000', '3D000', '39P01']) {
      expect([code, classifyWriteFailure(serverError(code, 'deploy mismatch'))]).toEqual([code, 'operating']);
    }
  });

  // Found by an outside review: these were deterministic, so a valid transfer whose write met
  // a primary demoted during a failover (PgBouncer still holding connections to it) was
  // REJECTED UNPROCESSABLE. They come from the server connection's state or from the
  // configuration, never from a value a command carries.
  test.each([
    ['25006', 'cannot execute UPDATE in a read-only transaction'],
    ['25P02', 'current transaction is aborted, commands ignored until end of transaction block'],
    ['25001', 'there is already a transaction in progress'],
    ['25P01', 'there is no transaction in progress'],
    ['40003', 'statement completion unknown'],
    ['40000', 'transaction rollback'],
    ['28P01', 'password authentication failed for user "ledger_worker"'],
    ['28000', 'no pg_hba.conf entry for host "10.0.0.7", user "ledger_worker", database "ledger"'],
    ['26000', 'prepared statement "s1" does not exist'],
    ['55000', 'cannot update table "accounts" because it does not have a replica identity and publishes updates'],
    ['72000', 'snapshot too old'],
    ['0B000', 'invalid transaction initiation'],
    ['2D000', 'invalid transaction termination'],
    ['3B001', 'savepoint "s" does not exist'],
    ['F0000', 'configuration file error'],
  ])("the server connection's state or the configuration, never a command: %s is an operating error", (code, message) => {
    expect(classifyWriteFailure(serverError(code, message))).toBe('operating');
  });

  test.each([
    ['22P02', 'invalid input syntax for type uuid: "x"'],
    ['22008', 'date/time field value out of range'],
    ['23505', 'duplicate key value violates unique constraint "transfers_pkey"'],
    ['23514', 'new row for relation "accounts" violates check constraint "accounts_available_within_limit"'],
    ['21000', 'ON CONFLICT DO UPDATE command cannot affect row a second time'],
    ['40002', 'deferred constraint violated at commit'],
    ['54000', 'index row size 3016 exceeds btree version 4 maximum 2704'],
    ['P0001', 'test: poison description refused'],
    ['LL003', 'expected 1 PROCESSING transfers with the legs\' facts to finish, found 0'],
  ])("a value one command carries stays deterministic: %s", (code, message) => {
    expect(classifyWriteFailure(serverError(code, message))).toBe('deterministic');
  });

  test('a primary demoted during a failover is a dependency down at the API too: 503, not 500', () => {
    expect(isRetryablePgError(serverError('25006', 'cannot execute INSERT in a read-only transaction'))).toBe(true);
    expect(isRetryablePgError(serverError('40003', 'statement completion unknown'))).toBe(true);
    // A configuration to mend: the worker waits, the API answers 500 as for a broken deploy.
    expect(isRetryablePgError(serverError('28P01', 'password authentication failed for user "ledger_api"', 'FATAL'))).toBe(false);
  });

  test('a Node socket error is never the data: EPIPE looks like a SQLSTATE but is an operating error', () => {
    const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE', errno: -32, syscall: 'write' });
    expect(sqlStateOf(epipe)).toBeNull();
    expect(classifyWriteFailure(epipe)).toBe('operating');
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' });
    expect(classifyWriteFailure(reset)).toBe('operating');
    expect(classifyWriteFailure(new Error('Connection terminated unexpectedly'))).toBe('operating');
  });

  // Found by an outside review: a kafkajs heartbeat failing after a committed write was read
  // as SQLSTATE "EPIPE", deterministic, and the next batch was bisected from offsets already
  // committed.
  test("a Kafka connection's EPIPE is no SQLSTATE: kafkajs copies the socket's code without errno or syscall", () => {
    // As network/connection.js builds it from the socket's error.
    const heartbeat = new KafkaJSConnectionError('Connection error: write EPIPE', { broker: '127.0.0.1:19092', code: 'EPIPE' });
    expect((heartbeat as unknown as { code: unknown }).code).toBe('EPIPE'); // not in kafkajs's types, set all the same
    expect(sqlStateOf(heartbeat)).toBeNull();
    expect(classifyWriteFailure(heartbeat)).toBe('operating');
  });

  test("only the server's answer has a SQLSTATE: a five-character code on anything but a DatabaseError is none", () => {
    expect(sqlStateOf(Object.assign(new Error('invalid input syntax'), { code: '22P02' }))).toBeNull();
    expect(sqlStateOf({ code: '22P02', message: 'invalid input syntax' })).toBeNull();
    expect(classifyWriteFailure({ code: 'ABCDE', message: 'some library' })).toBe('operating');
  });

  test('the typed write errors keep their SQLSTATE', () => {
    expect(classifyWriteFailure(new FencedError('epoch moved on'))).toBe('fenced');
    expect(classifyWriteFailure(new ConcurrentWriteError('seq moved'))).toBe('concurrent');
  });
});
