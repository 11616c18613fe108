// What a failed batch write means decides whether a command is blamed (isolated as
// UNPROCESSABLE) or the write is retried: only the server's own SQLSTATE may blame the data.
import { ConcurrentWriteError, FencedError, classifyWriteFailure, sqlStateOf } from '../src';

describe('classifyWriteFailure', () => {
  test("a server's SQLSTATE decides: data errors are deterministic, connection classes operating", () => {
    expect(classifyWriteFailure({ code: '22P02', message: 'invalid input syntax' })).toBe('deterministic');
    expect(classifyWriteFailure({ code: '23505', message: 'duplicate key' })).toBe('deterministic');
    expect(classifyWriteFailure({ code: '08P01', message: 'server conn crashed?' })).toBe('operating');
    expect(classifyWriteFailure({ code: '57P01', message: 'terminating connection' })).toBe('operating');
    expect(classifyWriteFailure({ code: '40001', message: 'serialization failure' })).toBe('operating');
  });

  test('a schema or role that does not match the code is an operating error, never a command to dead-letter', () => {
    // A rolling deploy or a revoked grant on one table: the empty write that proves a failure
    // is a command's touches only partition_state, so these must be operating by themselves.
    for (const code of ['42501', '42703', '42P01', '42883', '0A000', '3F000', '3D000', '39P01']) {
      expect([code, classifyWriteFailure({ code, message: 'deploy mismatch' })]).toEqual([code, 'operating']);
    }
  });

  test('a Node socket error is never the data: EPIPE looks like a SQLSTATE but is an operating error', () => {
    const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE', errno: -32, syscall: 'write' });
    expect(sqlStateOf(epipe)).toBeNull();
    expect(classifyWriteFailure(epipe)).toBe('operating');
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' });
    expect(classifyWriteFailure(reset)).toBe('operating');
    expect(classifyWriteFailure(new Error('Connection terminated unexpectedly'))).toBe('operating');
  });

  test('the typed write errors keep their SQLSTATE', () => {
    expect(classifyWriteFailure(new FencedError('epoch moved on'))).toBe('fenced');
    expect(classifyWriteFailure(new ConcurrentWriteError('seq moved'))).toBe('concurrent');
  });
});
