// Proves a build refuses a database older than its own migrations (assertSchemaCurrent, which
// the API and the worker run before anything else): their statements would use columns and
// functions the schema does not have yet, and a worker would take the refusals for bad
// commands. The order is: migrate, then start the new processes.
import { SchemaBehindError, assertSchemaCurrent, listMigrations } from '../src';
import { useTestDatabase } from '../../../test/support/database';

describe('assertSchemaCurrent', () => {
  const own = useTestDatabase(1);

  test('passes on a migrated database, refuses one a migration behind, naming both versions', async () => {
    const { db } = own;
    const migrations = listMigrations();
    await expect(assertSchemaCurrent(db.pool, migrations)).resolves.toBeUndefined();
    const newest = Math.max(...migrations.map((m) => m.version));
    const ahead = [...migrations, { version: newest + 1, name: 'later.sql', sql: '' }];
    await expect(assertSchemaCurrent(db.pool, ahead)).rejects.toThrow(SchemaBehindError);
    await expect(assertSchemaCurrent(db.pool, ahead)).rejects.toThrow(`schema is at migration ${newest}, this build needs ${newest + 1}`);
  });

  test('a database never migrated is at migration 0', async () => {
    const { db } = own;
    await db.pool.query('ALTER TABLE schema_migrations RENAME TO schema_migrations_away');
    try {
      await expect(assertSchemaCurrent(db.pool)).rejects.toThrow('schema is at migration 0');
    } finally {
      await db.pool.query('ALTER TABLE schema_migrations_away RENAME TO schema_migrations');
    }
  });
});
