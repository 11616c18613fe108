// Proves a pool's statement deadline (PoolOptions.queryTimeoutMs, the worker's
// WORKER_QUERY_TIMEOUT_MS): a statement not answered in time fails on the client as an
// operating error (no SQLSTATE: never blamed on a command), its connection is discarded,
// and the pool goes on serving. Without it a connection that died without a reset held its
// caller, a partition's whole apply loop, forever.
import { classifyWriteFailure, createPool, inTransaction, sqlStateOf } from '../src';
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

  test('inside a transaction the timed-out connection is dropped, not rolled back behind the statement', async () => {
    const pool = createPool({ connectionString: db.url, connectionsMax: 2, connectTimeoutMs: 10_000, applicationName: 'test', queryTimeoutMs: 200 });
    const sent: string[] = [];
    try {
      const failed = inTransaction(pool, (client) => {
        // Record what inTransaction sends on this connection after the statement fails.
        const query = client.query.bind(client) as (text: string) => Promise<unknown>;
        (client as unknown as { query: (text: string) => Promise<unknown> }).query = (text: string) => {
          sent.push(text);
          return query(text);
        };
        return client.query('SELECT pg_sleep(3)');
      }).then(
        () => 'committed',
        (e: unknown) => (e as Error).message,
      );
      expect(await failed).toBe('Query read timeout');
      // No ROLLBACK queued behind the statement still running: the connection is dropped. (A
      // ROLLBACK sent would be recorded here even before the 3 s statement let it run.)
      expect(sent).toEqual(['SELECT pg_sleep(3)']);
      expect(pool.totalCount).toBe(0);
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
