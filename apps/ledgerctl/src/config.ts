/** ledgerctl's settings: the same env names as the apps, so one `.env` serves all three. */
import { z } from 'zod';
import { LOCAL_DEFAULTS, brokersVar, intVar, parseConfig, stringVar } from '@ledgerline/config';
import { BUCKET_COUNT } from '@ledgerline/domain';

const schema = z.object({
  KAFKA_BROKERS: brokersVar(LOCAL_DEFAULTS.kafkaBrokers),
  KAFKA_TOPIC_PREFIX: stringVar(LOCAL_DEFAULTS.topicPrefix),
  KAFKA_PARTITIONS: intVar(LOCAL_DEFAULTS.partitionCount, 1, BUCKET_COUNT),
  KAFKA_GROUP_ID: z.string().optional(),
  DATABASE_URL: stringVar(LOCAL_DEFAULTS.databaseUrl),
  REDIS_URL: stringVar(LOCAL_DEFAULTS.redisUrl),
  REDIS_KEY_PREFIX: stringVar('ll:'),
  JWT_SECRET: stringVar(LOCAL_DEFAULTS.jwtSecret),
  /** reconcile: an outbox row unpublished longer than this is a violation. */
  RECONCILE_OUTBOX_AGE_MAX_MS: intVar(30_000, 0, 86_400_000),
});

export function loadCtlConfig(env: NodeJS.ProcessEnv = process.env) {
  const raw = parseConfig(schema, env);
  return {
    kafkaBrokers: raw.KAFKA_BROKERS,
    topicPrefix: raw.KAFKA_TOPIC_PREFIX,
    partitionCount: raw.KAFKA_PARTITIONS,
    groupId: raw.KAFKA_GROUP_ID ?? `${raw.KAFKA_TOPIC_PREFIX}.partition-workers`,
    databaseUrl: raw.DATABASE_URL,
    redisUrl: raw.REDIS_URL,
    redisKeyPrefix: raw.REDIS_KEY_PREFIX,
    jwtSecret: raw.JWT_SECRET,
    reconcileOutboxAgeMaxMs: raw.RECONCILE_OUTBOX_AGE_MAX_MS,
  };
}
export type CtlConfig = ReturnType<typeof loadCtlConfig>;
