// A migration that changes a table a long transaction reads (a reconcile reads every table for
// minutes) waits for its lock at most lockTimeoutMs, then steps aside and tries again: queued
// behind that reader, its ACCESS EXCLUSIVE request made every writer of the table queue behind
// it, and the workers' batches failed on their own 5 s lock timeout for as long as the reader
// ran (an outside schema review). Writers get through between attempts; the migration lands
// once the reader ends.
import { Client } from 'pg';
import { migrate, withDatabase } from '../src';
import { useTestDatabase } from '../../../test/support/database';
import { testServices } from '../../../test/support/env';
import { waitFor } from '../../../test/support/worker';

describe('a migration behind a long reader', () => {
  const own = useTestDatabase(1);

  test('gives way to the writers of the table it changes, and lands once the reader ends', async () => {
    const { db } = own;
    await db.pool.query('CREATE TABLE lock_probe (id int PRIMARY KEY, n int NOT NULL)');
    await db.pool.query('INSERT INTO lock_probe VALUES (1, 0)');
    const directUrl = withDatabase(testServices().databaseDirectUrl, db.name);
    const reader = new Client({ connectionString: directUrl });
    const writer = new Client({ connectionString: directUrl });
    await reader.connect();
    await writer.connect();
    try {
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await reader.query('SELECT count(*) FROM lock_probe');
      const waits: number[] = [];
      const migration = { version: 9_001, name: '9001_lock_probe_column.sql', sql: 'ALTER TABLE lock_probe ADD COLUMN note text' };
      const migrating = migrate(db.pool, [migration], { lockTimeoutMs: 300, lockRetryDelayMs: 200, onLockWait: (_name, attempt) => waits.push(attempt) });
      await waitFor('the migration to give way twice', async () => waits.length >= 2, 10_000);
      // A worker's batch: its lock timeout (here 2 s) is longer than the migration's wait.
      await writer.query(`SET lock_timeout = '2s'`);
      for (let i = 0; i < 5; i++) await writer.query('UPDATE lock_probe SET n = n + 1 WHERE id = 1');
      expect((await writer.query('SELECT n FROM lock_probe')).rows[0].n).toBe(5);
      await reader.query('COMMIT');
      expect(await migrating).toEqual([migration.name]);
      expect((await db.pool.query(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'lock_probe' AND column_name = 'note'`)).rows[0].n).toBe(1);
    } finally {
      await reader.end();
      await writer.end();
    }
  }, 60_000);

  test('a second migrate waits for the first one\'s long migration, however long, and then finds it applied', async () => {
    const { db } = own;
    const slow = { version: 9_003, name: '9003_slow.sql', sql: 'SELECT pg_sleep(1.5)' };
    const waits: string[] = [];
    const options = { lockTimeoutMs: 100, lockRetryDelayMs: 50, lockAttemptsMax: 2, onLockWait: (name: string) => waits.push(name) };
    const first = migrate(db.pool, [slow], options);
    await waitFor('the first migrate running its migration', async () =>
      (await db.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(1.5)%'`)).rows[0].n === 1,
    );
    const second = migrate(db.pool, [slow], options);
    expect(await first).toEqual([slow.name]);
    expect(await second).toEqual([]);
    expect(waits).toEqual([]);
  }, 60_000);

  test('gives up after lockAttemptsMax attempts, naming the migration, with nothing applied', async () => {
    const { db } = own;
    await db.pool.query('CREATE TABLE lock_probe_2 (id int PRIMARY KEY)');
    const reader = new Client({ connectionString: withDatabase(testServices().databaseDirectUrl, db.name) });
    await reader.connect();
    try {
      await reader.query('BEGIN');
      await reader.query('SELECT count(*) FROM lock_probe_2');
      const migration = { version: 9_002, name: '9002_lock_probe_2_column.sql', sql: 'ALTER TABLE lock_probe_2 ADD COLUMN note text' };
      await expect(migrate(db.pool, [migration], { lockTimeoutMs: 100, lockRetryDelayMs: 50, lockAttemptsMax: 3 })).rejects.toThrow(
        /^9002_lock_probe_2_column\.sql: no lock within 100 ms in 3 attempts/,
      );
      expect((await db.pool.query('SELECT count(*)::int AS n FROM schema_migrations WHERE version = 9002')).rows[0].n).toBe(0);
    } finally {
      await reader.query('ROLLBACK');
      await reader.end();
    }
  }, 60_000);
});
