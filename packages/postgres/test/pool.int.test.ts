// Proves a pool's statement deadline (PoolOptions.queryTimeoutMs, the worker's
// WORKER_QUERY_TIMEOUT_MS): a statement not answered in time fails on the client as an
// operating error (no SQLSTATE: never blamed on a command), its connection is discarded,
// and the pool goes on serving. Without it a connection that died without a reset held its
// caller, a partition's whole apply loop, forever.
import { classifyWriteFailure, createPool, sqlStateOf } from '../src';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';

describe('pool statement deadline', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(1);
  });
  afterAll(async () => {
    await db.drop();
  });

  test('a statement past the deadline fails as an operating error, and the pool goes on', async () => {
    const pool = createPool({ connectionString: db.url, connectionsMax: 2, connectTimeoutMs: 10_000, applicationName: 'test', queryTimeoutMs: 200 });
    try {
      // The server would answer after 2 s; the client stops waiting at 200 ms.
      const error = await pool.query('SELECT pg_sleep(2)').then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/timeout/i);
      expect(sqlStateOf(error)).toBeNull();
      expect(classifyWriteFailure(error)).toBe('operating');
      expect(pool.totalCount).toBe(0); // the timed-out connection is not handed out again
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    } finally {
      await pool.end();
    }
  });

  test('without a deadline a pool waits for the answer (the default of createPool)', async () => {
    const pool = createPool({ connectionString: db.url, connectionsMax: 1, connectTimeoutMs: 10_000, applicationName: 'test' });
    try {
      expect((await pool.query<{ done: string }>("SELECT pg_sleep(0.3)::text AS done")).rows[0]!.done).toBe('');
    } finally {
      await pool.end();
    }
  });
});
