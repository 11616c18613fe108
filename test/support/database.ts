import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { createPool, ensureRouting, runAdminStatement, withDatabase } from '@ledgerline/postgres';
import { TEMPLATE_DATABASE, testServices } from './env';

export interface TestDatabase {
  name: string;
  /**
   * Through PgBouncer as the schema owner (what `pool` uses). startApi and startWorker log
   * in as their own roles to the same database (env.ts roleUrl).
   */
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

/** A fresh, migrated database of this test file's own, with the routing table initialised. */
export async function createTestDatabase(partitionCount: number): Promise<TestDatabase> {
  const services = testServices();
  const name = `t_${randomBytes(6).toString('hex')}`;
  await runAdminStatement(services.databaseDirectUrl, `CREATE DATABASE ${name} OWNER ledgerline_owner TEMPLATE ${TEMPLATE_DATABASE}`);
  const url = withDatabase(services.databaseUrl, name);
  const pool = createPool({ connectionString: url, connectionsMax: 10, connectTimeoutMs: 10_000, applicationName: 'test' });
  await ensureRouting(pool, partitionCount);
  return {
    name,
    url,
    pool,
    async drop() {
      await pool.end();
      await runAdminStatement(services.databaseDirectUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/**
 * A test file's own database (createTestDatabase), made before the file's tests and dropped
 * after them. Call it at the top of a `describe`; read `db` inside the tests.
 */
export function useTestDatabase(partitionCount: number): { readonly db: TestDatabase } {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(partitionCount);
  });
  afterAll(async () => {
    await db?.drop();
  });
  return {
    get db() {
      if (db === undefined) throw new Error('useTestDatabase: read inside a test (after beforeAll)');
      return db;
    },
  };
}
