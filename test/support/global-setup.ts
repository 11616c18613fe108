/**
 * Once per `jest --selectProjects integration` run: a migrated template database that every
 * test file clones (CREATE DATABASE ... TEMPLATE), so each file starts from a fresh schema
 * in milliseconds instead of re-running migrations. Migrated as ledgerline_owner, like
 * `ledgerctl migrate` does: ownership and grants live in the database's catalogs, so every
 * clone has them too.
 */
import { Client } from 'pg';
import { createPool, migrate, withCredentials, withDatabase } from '@ledgerline/postgres';
import { TEMPLATE_DATABASE, testServices } from './env';

export default async function globalSetup(): Promise<void> {
  const services = testServices();
  const admin = new Client({ connectionString: services.databaseDirectUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE} OWNER ledgerline_owner`);
  } finally {
    await admin.end();
  }
  const pool = createPool({
    connectionString: withDatabase(withCredentials(services.databaseDirectUrl, services.databaseUrl), TEMPLATE_DATABASE),
    connectionsMax: 1,
    connectTimeoutMs: 10_000,
    applicationName: 'test-template',
  });
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }
}
