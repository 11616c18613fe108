// Proves migrations 0029 (and 0028, the same way) on a database that had the index pre-built CONCURRENTLY, as its
// header asks for a large live table, and that build failed: Postgres leaves an INVALID
// index of that name behind, which `CREATE INDEX IF NOT EXISTS` takes as built. The
// migration must not then drop accounts_owner_idx (the quota count's and the system
// accounts' index) and leave the owner's reads with no usable index.
import { Client } from 'pg';
import { migrate, withDatabase } from '../src';
import { useTestDatabase } from '../../../test/support/database';
import { testServices } from '../../../test/support/env';

describe('migrations 0029 and 0028: an index pre-built CONCURRENTLY', () => {
  const own = useTestDatabase(1);

  async function indexes(): Promise<Record<string, boolean>> {
    const result = await own.db.pool.query(
      `SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = 'accounts'::regclass AND c.relname IN ('accounts_owner_idx', 'accounts_owner_history_idx')`,
    );
    return Object.fromEntries(result.rows.map((r) => [r.name as string, r.valid as boolean]));
  }

  /** A CREATE INDEX CONCURRENTLY, as a migration's header gives it, that fails: it times out waiting for a writer's transaction on `table` (a cancel, a deadlock or a lost session leave the same INVALID index). */
  async function failedConcurrentBuild(table: string, statement: string): Promise<void> {
    const directUrl = withDatabase(testServices().databaseDirectUrl, own.db.name);
    const writer = new Client({ connectionString: directUrl });
    const builder = new Client({ connectionString: directUrl });
    await writer.connect();
    await builder.connect();
    try {
      await writer.query('BEGIN');
      await writer.query(`LOCK TABLE ${table} IN ROW EXCLUSIVE MODE`);
      await builder.query(`SET statement_timeout = '1s'`);
      await expect(builder.query(statement)).rejects.toThrow(/statement timeout/);
      await writer.query('ROLLBACK');
    } finally {
      await writer.end();
      await builder.end();
    }
  }

  test('an INVALID index left by a failed CREATE INDEX CONCURRENTLY is refused, and accounts_owner_idx kept', async () => {
    const { db } = own;
    // The database as it was before 0029, with some accounts.
    await db.pool.query('DROP INDEX accounts_owner_history_idx');
    await db.pool.query('CREATE INDEX accounts_owner_idx ON accounts (owner)');
    await db.pool.query('DELETE FROM schema_migrations WHERE version = 29');
    await db.pool.query(`INSERT INTO accounts (id, owner, kind, currency, overdraft_limit)
      SELECT gen_random_uuid(), 'owner-' || (g % 50), 'USER', 'USD', 0 FROM generate_series(1, 2000) AS g`);

    await failedConcurrentBuild('accounts', 'CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_owner_history_idx ON accounts (owner, created_at, id)');
    expect(await indexes()).toEqual({ accounts_owner_idx: true, accounts_owner_history_idx: false });

    // Migrating now must not go on as if the index were built.
    await expect(migrate(db.pool)).rejects.toThrow(/accounts_owner_history_idx.*INVALID/);
    expect(await indexes()).toEqual({ accounts_owner_idx: true, accounts_owner_history_idx: false });

    // Dropped and built again, as the refusal says: the migration finds it and goes on.
    await db.pool.query('DROP INDEX accounts_owner_history_idx');
    await db.pool.query('CREATE INDEX accounts_owner_history_idx ON accounts (owner, created_at, id)');
    await migrate(db.pool);
    expect(await indexes()).toEqual({ accounts_owner_history_idx: true });
  });
  test('0028 the same: an INVALID holds_account_history_idx is refused, and holds_account_idx kept', async () => {
    const { db } = own;
    const holdIndexes = async (): Promise<Record<string, boolean>> => {
      const result = await db.pool.query(
        `SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          WHERE i.indrelid = 'holds'::regclass AND c.relname IN ('holds_account_idx', 'holds_account_history_idx')`,
      );
      return Object.fromEntries(result.rows.map((r) => [r.name as string, r.valid as boolean]));
    };
    // The database as it was before 0028.
    await db.pool.query('DROP INDEX holds_account_history_idx');
    await db.pool.query(`CREATE INDEX holds_account_idx ON holds (account_id) WHERE status = 'HELD'`);
    await db.pool.query('DELETE FROM schema_migrations WHERE version >= 28');
    await failedConcurrentBuild('holds', 'CREATE INDEX CONCURRENTLY IF NOT EXISTS holds_account_history_idx ON holds (account_id, status, created_at, id)');
    expect(await holdIndexes()).toEqual({ holds_account_idx: true, holds_account_history_idx: false });

    await expect(migrate(db.pool)).rejects.toThrow(/holds_account_history_idx.*INVALID/);
    expect(await holdIndexes()).toEqual({ holds_account_idx: true, holds_account_history_idx: false });

    await db.pool.query('DROP INDEX holds_account_history_idx');
    await migrate(db.pool);
    expect(await holdIndexes()).toEqual({ holds_account_history_idx: true });
  });
});
