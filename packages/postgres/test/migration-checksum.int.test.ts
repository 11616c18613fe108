// A migration edited after it was applied used to be skipped silently (its version was
// recorded), leaving a database that differs from what the file says. migrate now records each
// migration's checksum and, before applying anything, refuses files that changed since.
import { MigrationChangedError, migrate, migrationChecksum } from '../src';
import { useTestDatabase } from '../../../test/support/database';

describe('migration checksums', () => {
  const own = useTestDatabase(1);

  const checksumOf = async (version: number): Promise<string | null> =>
    (await own.db.pool.query('SELECT checksum FROM schema_migrations WHERE version = $1', [version])).rows[0]?.checksum ?? null;

  test('records the checksum of each migration it applies', async () => {
    const first = { version: 9_101, name: '9101_checksum_probe.sql', sql: 'CREATE TABLE checksum_probe (id int PRIMARY KEY)' };
    expect(await migrate(own.db.pool, [first])).toEqual([first.name]);
    expect(await checksumOf(first.version)).toBe(migrationChecksum(first.sql));
    expect(await migrate(own.db.pool, [first])).toEqual([]);
  });

  test('refuses a migration changed since it was applied, naming it, and applies nothing after it', async () => {
    const first = { version: 9_102, name: '9102_checksum_changed.sql', sql: 'CREATE TABLE checksum_changed (\n  id int PRIMARY KEY\n)\n' };
    await migrate(own.db.pool, [first]);
    const edited = { ...first, sql: 'CREATE TABLE checksum_changed (\n  id int PRIMARY KEY,\n  note text\n)\n' };
    const next = { version: 9_103, name: '9103_after_the_change.sql', sql: 'CREATE TABLE after_the_change (id int)' };
    const attempt = migrate(own.db.pool, [edited, next]);
    await expect(attempt).rejects.toThrow(MigrationChangedError);
    await expect(attempt).rejects.toThrow(/^9102_checksum_changed\.sql: changed since it was applied/);
    expect((await own.db.pool.query('SELECT count(*)::int AS n FROM schema_migrations WHERE version = 9103')).rows[0].n).toBe(0);
    expect((await own.db.pool.query(`SELECT to_regclass('after_the_change') AS t`)).rows[0].t).toBeNull();
    // Line endings alone are not a change (a checkout with CRLF).
    expect(await migrate(own.db.pool, [{ ...first, sql: first.sql.replace(/\n/g, '\r\n') }, next])).toEqual([next.name]);
  });

  test('a row recorded before checksums were kept takes the file\'s checksum, then guards it', async () => {
    const first = { version: 9_104, name: '9104_checksum_unrecorded.sql', sql: 'CREATE TABLE checksum_unrecorded (id int)' };
    await migrate(own.db.pool, [first]);
    await own.db.pool.query('UPDATE schema_migrations SET checksum = NULL WHERE version = $1', [first.version]);
    expect(await migrate(own.db.pool, [first])).toEqual([]);
    expect(await checksumOf(first.version)).toBe(migrationChecksum(first.sql));
    await expect(migrate(own.db.pool, [{ ...first, sql: 'CREATE TABLE checksum_unrecorded (id bigint)' }])).rejects.toThrow(MigrationChangedError);
  });

  test('a database from before checksums (no column) gets the column and every known migration\'s checksum', async () => {
    await own.db.pool.query('ALTER TABLE schema_migrations DROP COLUMN checksum');
    expect(await migrate(own.db.pool)).toEqual([]);
    expect((await own.db.pool.query('SELECT count(*)::int AS n FROM schema_migrations WHERE checksum IS NULL AND version < 9000')).rows[0].n).toBe(0);
  });

  test('the project\'s own migrations all carry their checksums on a migrated database', async () => {
    expect((await own.db.pool.query('SELECT count(*)::int AS n FROM schema_migrations WHERE checksum IS NULL AND version < 9000')).rows[0].n).toBe(0);
  });
});
