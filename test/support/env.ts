/** The services scripts/test.sh brought up (infra/local/stack.sh, profile test). */
export interface TestServices {
  kafkaBrokers: string[];
  /** Through PgBouncer: what the apps use. */
  databaseUrl: string;
  /** Straight to Postgres: for CREATE/DROP DATABASE only. */
  databaseDirectUrl: string;
  redisUrl: string;
}

export function testServices(): TestServices {
  const missing = ['KAFKA_BROKERS', 'DATABASE_URL', 'DATABASE_DIRECT_URL', 'REDIS_URL'].filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(
      `integration tests need ${missing.join(', ')}: run them with \`npm test\`, which starts the services (infra/local/stack.sh)`,
    );
  }
  return {
    kafkaBrokers: process.env.KAFKA_BROKERS!.split(','),
    databaseUrl: process.env.DATABASE_URL!,
    databaseDirectUrl: process.env.DATABASE_DIRECT_URL!,
    redisUrl: process.env.REDIS_URL!,
  };
}

// LL_TEST_TEMPLATE_DB lets two integration runs share one test stack without dropping each other's template.
export const TEMPLATE_DATABASE = process.env.LL_TEST_TEMPLATE_DB ?? 'ledgerline_template';
