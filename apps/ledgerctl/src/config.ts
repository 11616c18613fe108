/** ledgerctl's settings: the same env names as the apps, so one `.env` serves all three. */
import { z } from 'zod';
import {
  LOCAL_DEFAULTS,
  brokersVar,
  databaseUrlProblems,
  intVar,
  jwtSecretProblems,
  kafkaDurability,
  kafkaDurabilityVars,
  kafkaSecurity,
  kafkaSecurityVars,
  ledgerlineEnvVar,
  parseConfig,
  refuseUnsafe,
  stringVar,
} from '@ledgerline/config';
import { BUCKET_COUNT } from '@ledgerline/domain';

const schema = z.object({
  /** development (default), test or production: production refuses local secrets and credentials. */
  LEDGERLINE_ENV: ledgerlineEnvVar(),
  KAFKA_BROKERS: brokersVar(LOCAL_DEFAULTS.kafkaBrokers),
  KAFKA_TOPIC_PREFIX: stringVar(LOCAL_DEFAULTS.topicPrefix),
  KAFKA_PARTITIONS: intVar(LOCAL_DEFAULTS.partitionCount, 1, BUCKET_COUNT),
  KAFKA_GROUP_ID: z.string().optional(),
  /** The schema owner (ledgerline_owner): only `migrate`, `buckets move`, `partitions add`, `rebalance --apply`. */
  OWNER_DATABASE_URL: stringVar(LOCAL_DEFAULTS.ownerDatabaseUrl),
  /** Every read-only command (reconcile, workers, routing show, rebalance --plan) reads as the API role. */
  API_DATABASE_URL: stringVar(LOCAL_DEFAULTS.apiDatabaseUrl),
  ...kafkaDurabilityVars,
  ...kafkaSecurityVars,
  REDIS_URL: stringVar(LOCAL_DEFAULTS.redisUrl),
  REDIS_KEY_PREFIX: stringVar('ll:'),
  /** `ledgerctl token` signs with it; the development secret outside production when unset. */
  JWT_SECRET: z.string().optional(),
  /** reconcile: an outbox row unpublished longer than this is a violation. */
  RECONCILE_OUTBOX_AGE_MAX_MS: intVar(30_000, 0, 86_400_000),
});

export function loadCtlConfig(env: NodeJS.ProcessEnv = process.env) {
  const raw = parseConfig(schema, env);
  const production = raw.LEDGERLINE_ENV === 'production';
  const securityProblems: string[] = [];
  const kafkaSecurityConfig = kafkaSecurity(raw.LEDGERLINE_ENV, raw, securityProblems);
  if (production) {
    refuseUnsafe([
      ...securityProblems,
      ...databaseUrlProblems('OWNER_DATABASE_URL', raw.OWNER_DATABASE_URL),
      ...databaseUrlProblems('API_DATABASE_URL', raw.API_DATABASE_URL),
      ...(raw.JWT_SECRET ? jwtSecretProblems(raw.JWT_SECRET) : []),
    ]);
  }
  return {
    ledgerlineEnv: raw.LEDGERLINE_ENV,
    kafkaBrokers: raw.KAFKA_BROKERS,
    kafkaSecurity: kafkaSecurityConfig,
    topicPrefix: raw.KAFKA_TOPIC_PREFIX,
    partitionCount: raw.KAFKA_PARTITIONS,
    groupId: raw.KAFKA_GROUP_ID ?? `${raw.KAFKA_TOPIC_PREFIX}.partition-workers`,
    ownerDatabaseUrl: raw.OWNER_DATABASE_URL,
    readDatabaseUrl: raw.API_DATABASE_URL,
    kafkaDurability: kafkaDurability(raw.LEDGERLINE_ENV, raw),
    redisUrl: raw.REDIS_URL,
    redisKeyPrefix: raw.REDIS_KEY_PREFIX,
    /** null in production without JWT_SECRET: `token` refuses (there is no default to sign with). */
    jwtSecret: raw.JWT_SECRET || (production ? null : LOCAL_DEFAULTS.jwtSecret),
    reconcileOutboxAgeMaxMs: raw.RECONCILE_OUTBOX_AGE_MAX_MS,
  };
}
export type CtlConfig = ReturnType<typeof loadCtlConfig>;
