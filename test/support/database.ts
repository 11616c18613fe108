import { randomBytes } from 'node:crypto';
import { Client, type Pool } from 'pg';
import { createPool, ensureRouting } from '@ledgerline/postgres';
import { TEMPLATE_DATABASE, testServices, withDatabase } from './env';

export interface TestDatabase {
  name: string;
  /** Through PgBouncer, like the apps. */
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

/** A fresh, migrated database of this test file's own, with the routing table initialised. */
export async function createTestDatabase(partitionCount: number): Promise<TestDatabase> {
  const services = testServices();
  const name = `t_${randomBytes(6).toString('hex')}`;
  await adminQuery(services.databaseDirectUrl, `CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`);
  const url = withDatabase(services.databaseUrl, name);
  const pool = createPool({ connectionString: url, connectionsMax: 10, connectTimeoutMs: 10_000, applicationName: 'test' });
  await ensureRouting(pool, partitionCount);
  return {
    name,
    url,
    pool,
    async drop() {
      await pool.end();
      await adminQuery(services.databaseDirectUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

async function adminQuery(directUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: directUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
