/** The services scripts/test.sh brought up (infra/local/stack.sh, profile test). */
import { withDatabase } from '@ledgerline/postgres';

export interface TestServices {
  kafkaBrokers: string[];
  /**
   * Through PgBouncer as the schema owner (ledgerline_owner): what tests use to arrange
   * and inspect data. The apps under test connect as their own roles (`roleUrl`).
   */
  databaseUrl: string;
  /** Through PgBouncer, per app role (same database as databaseUrl). */
  apiDatabaseUrl: string;
  workerDatabaseUrl: string;
  /** Straight to Postgres as the superuser: for CREATE/DROP DATABASE and pg_stat_statements only. */
  databaseDirectUrl: string;
  redisUrl: string;
}

const REQUIRED = ['KAFKA_BROKERS', 'OWNER_DATABASE_URL', 'API_DATABASE_URL', 'WORKER_DATABASE_URL', 'DATABASE_DIRECT_URL', 'REDIS_URL'];

export function testServices(): TestServices {
  const missing = REQUIRED.filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(
      `integration tests need ${missing.join(', ')}: run them with \`npm test\`, which starts the services (infra/local/stack.sh)`,
    );
  }
  return {
    kafkaBrokers: process.env.KAFKA_BROKERS!.split(','),
    databaseUrl: process.env.OWNER_DATABASE_URL!,
    apiDatabaseUrl: process.env.API_DATABASE_URL!,
    workerDatabaseUrl: process.env.WORKER_DATABASE_URL!,
    databaseDirectUrl: process.env.DATABASE_DIRECT_URL!,
    redisUrl: process.env.REDIS_URL!,
  };
}

export type AppRole = 'owner' | 'api' | 'worker';

/** `url` (any database of the test stack) logging in as `role`'s login, through PgBouncer. */
export function roleUrl(url: string, role: AppRole): string {
  const services = testServices();
  const credentials = role === 'api' ? services.apiDatabaseUrl : role === 'worker' ? services.workerDatabaseUrl : services.databaseUrl;
  const database = decodeURIComponent(new URL(url).pathname.slice(1));
  return withDatabase(credentials, database);
}

// LL_TEST_TEMPLATE_DB lets two integration runs share one test stack without dropping each other's template.
export const TEMPLATE_DATABASE = process.env.LL_TEST_TEMPLATE_DB ?? 'ledgerline_template';
