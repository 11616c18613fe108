/** ledgerctl's settings: the same env names as the apps, so one `.env` serves all three. */
import { z } from 'zod';
import {
  LOCAL_DEFAULTS,
  brokersVar,
  databaseUrlProblems,
  redisUrlVar,
  ConfigError,
  intVar,
  jwtClaimBinding,
  jwtSecretProblems,
  kafkaClientTuning,
  kafkaClientVars,
  kafkaDurability,
  kafkaDurabilityVars,
  kafkaSecurity,
  kafkaSecurityVars,
  ledgerlineEnvVar,
  parseConfig,
  refuseUnsafe,
  plaintextProblems,
  serviceAddressProblems,
  stringVar,
  KAFKA_NAME_CHARS_MAX,
  optionalNameVar,
  implicitDevelopmentProblem,
  unfilledProfileProblem,
  topicPrefixVar,
} from '@ledgerline/config';
import { BUCKET_COUNT } from '@ledgerline/domain';
import { createPool } from '@ledgerline/postgres';

const schema = z.object({
  /** development (default), test or production: production refuses local secrets and credentials. */
  LEDGERLINE_ENV: ledgerlineEnvVar(),
  KAFKA_BROKERS: brokersVar(LOCAL_DEFAULTS.kafkaBrokers),
  KAFKA_TOPIC_PREFIX: topicPrefixVar(LOCAL_DEFAULTS.topicPrefix),
  KAFKA_PARTITIONS: intVar(LOCAL_DEFAULTS.partitionCount, 1, BUCKET_COUNT),
  /** The workers' consumer group, as they are given it; unset: `<KAFKA_TOPIC_PREFIX>.partition-workers`. */
  KAFKA_GROUP_ID: optionalNameVar(KAFKA_NAME_CHARS_MAX),
  /** The schema owner (ledgerline_owner): only `migrate`, `buckets move`, `partitions add`, `rebalance --apply`, `dead-letters redrive` and `ack` (their records). */
  OWNER_DATABASE_URL: stringVar(LOCAL_DEFAULTS.ownerDatabaseUrl),
  /** Every read-only command (reconcile, workers, routing show, rebalance --plan) reads as the API role. */
  API_DATABASE_URL: stringVar(LOCAL_DEFAULTS.apiDatabaseUrl),
  ...kafkaDurabilityVars,
  ...kafkaSecurityVars,
  ...kafkaClientVars,
  REDIS_URL: redisUrlVar(LOCAL_DEFAULTS.redisUrl),
  REDIS_KEY_PREFIX: stringVar('ll:'),
  /** `ledgerctl token` signs with it; the development secret outside production when unset. */
  JWT_SECRET: z.string().optional(),
  /** `ledgerctl token`'s default `--iss` and `--aud`: the API's own (it checks them when set). */
  JWT_ISSUER: z.string().optional(),
  JWT_AUDIENCE: z.string().optional(),
  /** reconcile: an outbox row unpublished longer than this is a violation. */
  RECONCILE_OUTBOX_AGE_MAX_MS: intVar(30_000, 0, 86_400_000),
  /** reconcile: accounts compared with Redis per round trip. */
  CTL_CACHE_CHECK_ACCOUNTS_PER_STEP: intVar(1_000, 1, 100_000),
  /** Waiting longer than this for a Postgres connection fails the command. */
  CTL_PG_CONNECT_TIMEOUT_MS: intVar(10_000, 100, 120_000),
  /** routing show and rebalance measure per-bucket traffic over this window. */
  CTL_TRAFFIC_WINDOW_MS: intVar(5 * 60_000, 10_000, 86_400_000),
  /** Buckets held at once while moving many (partitions add, rebalance --apply): bounds the pause any one client sees. */
  CTL_BUCKETS_PER_MOVE_MAX: intVar(64, 1, BUCKET_COUNT),
  /** After growing the topics: clients refresh topic metadata every 5 s, so wait one refresh and a margin. */
  CTL_METADATA_REFRESH_WAIT_MS: intVar(6_000, 0, 600_000),
  /** Bucket moves: how long the APIs get to pick up a hold before the move is rolled back (ms). */
  CTL_MOVE_ROUTERS_WAIT_MS: intVar(15_000, 100, 600_000),
  /** Bucket moves: an API that has not reported its routing version within this (ms) is taken as gone. */
  CTL_MOVE_ROUTER_FRESH_MS: intVar(5_000, 100, 600_000),
  /** Bucket moves: how long the old partition gets to apply the fence before the move is rolled back (ms). */
  CTL_MOVE_FENCE_WAIT_MS: intVar(60_000, 1_000, 3_600_000),
  /** Bucket moves: how often the routers and the fence are polled (ms). */
  CTL_MOVE_POLL_MS: intVar(25, 1, 10_000),
  /** Bucket moves: one attempt waits this long (ms) for Kafka to take the fence markers. */
  CTL_MOVE_FENCE_PUBLISH_TIMEOUT_MS: intVar(15_000, 100, 600_000),
  /** Bucket moves: how long (ms) a fenced move waits for its old partition's outbox to be published up to the fence before it switches anyway (0: no wait). */
  CTL_MOVE_OUTBOX_WAIT_MS: intVar(30_000, 0, 3_600_000),
  /** Bucket moves: attempts after Postgres or Kafka failed under a move, each resuming it. */
  CTL_MOVE_ATTEMPTS_MAX: intVar(10, 1, 100),
  /** Bucket moves: attempt n waits n times this (ms) first. */
  CTL_MOVE_ATTEMPT_DELAY_MS: intVar(1_000, 0, 60_000),
  /** reconcile: how long (ms) to wait for the Redis connection before comparing the cache. */
  CTL_REDIS_READY_WAIT_MS: intVar(5_000, 100, 120_000),
  /** A pooled Postgres connection idle this long (ms) is closed; 0 = never. */
  CTL_PG_IDLE_TIMEOUT_MS: intVar(30_000, 0, 3_600_000),
});

/** The addresses a local profile must give (scripts/with-profile.sh); every other setting has one default for all. */
const PROFILE_ADDRESSES = ['KAFKA_BROKERS', 'OWNER_DATABASE_URL', 'API_DATABASE_URL', 'REDIS_URL'] as const;

/** `connects: false` for a command that reaches no service (token): LL_PROFILE's addresses are not asked for. */
export function loadCtlConfig(env: NodeJS.ProcessEnv = process.env, { connects = true }: { connects?: boolean } = {}) {
  const unfilled = connects ? unfilledProfileProblem(env, PROFILE_ADDRESSES) : null;
  if (unfilled) throw new ConfigError(unfilled);
  const raw = parseConfig(schema, env);
  const postgres = [
    ['OWNER_DATABASE_URL', raw.OWNER_DATABASE_URL],
    ['API_DATABASE_URL', raw.API_DATABASE_URL],
  ] as const;
  const implicit = implicitDevelopmentProblem(env, { postgres, redisUrl: raw.REDIS_URL, kafka: { brokers: raw.KAFKA_BROKERS, ssl: false } });
  if (implicit) throw new ConfigError(implicit);
  const production = raw.LEDGERLINE_ENV === 'production';
  const securityProblems: string[] = [];
  const kafkaSecurityConfig = kafkaSecurity(raw.LEDGERLINE_ENV, raw, securityProblems);
  const durability = kafkaDurability(raw.LEDGERLINE_ENV, raw, securityProblems);
  if (production) {
    refuseUnsafe([
      ...securityProblems,
      ...databaseUrlProblems('OWNER_DATABASE_URL', raw.OWNER_DATABASE_URL, env),
      ...databaseUrlProblems('API_DATABASE_URL', raw.API_DATABASE_URL, env, true),
      ...serviceAddressProblems(env),
      ...(raw.JWT_SECRET ? jwtSecretProblems(raw.JWT_SECRET) : []),
      ...plaintextProblems(
        {
          postgres: [
            ['OWNER_DATABASE_URL', raw.OWNER_DATABASE_URL],
            ['API_DATABASE_URL', raw.API_DATABASE_URL],
          ],
          redisUrl: raw.REDIS_URL,
          kafka: { brokers: raw.KAFKA_BROKERS, ssl: kafkaSecurityConfig.ssl },
        },
        env,
      ),
    ]);
  }
  if (raw.CTL_MOVE_FENCE_WAIT_MS < raw.CTL_MOVE_POLL_MS || raw.CTL_MOVE_ROUTERS_WAIT_MS < raw.CTL_MOVE_POLL_MS) {
    throw new ConfigError(`CTL_MOVE_POLL_MS: ${raw.CTL_MOVE_POLL_MS} is longer than the waits it polls (CTL_MOVE_ROUTERS_WAIT_MS, CTL_MOVE_FENCE_WAIT_MS)`);
  }
  return {
    ledgerlineEnv: raw.LEDGERLINE_ENV,
    kafkaBrokers: raw.KAFKA_BROKERS,
    kafkaSecurity: kafkaSecurityConfig,
    kafkaClient: kafkaClientTuning(raw),
    topicPrefix: raw.KAFKA_TOPIC_PREFIX,
    partitionCount: raw.KAFKA_PARTITIONS,
    groupId: raw.KAFKA_GROUP_ID ?? `${raw.KAFKA_TOPIC_PREFIX}.partition-workers`,
    ownerDatabaseUrl: raw.OWNER_DATABASE_URL,
    readDatabaseUrl: raw.API_DATABASE_URL,
    kafkaDurability: durability,
    redisUrl: raw.REDIS_URL,
    redisKeyPrefix: raw.REDIS_KEY_PREFIX,
    /** null in production without JWT_SECRET: `token` refuses (there is no default to sign with). */
    jwtSecret: raw.JWT_SECRET || (production ? null : LOCAL_DEFAULTS.jwtSecret),
    /**
     * What `token` puts in `iss` and `aud` unless told otherwise; null: no such claim. Judged
     * (jwtClaimBinding: empty, blank or padded refused) only by `token`, which uses them: a
     * migrate or a reconcile signs nothing (an outside upgrade review: an env file's empty
     * `JWT_ISSUER=` stopped `migrate`).
     */
    jwtIssuer: () => jwtClaimBinding('JWT_ISSUER', raw.JWT_ISSUER),
    jwtAudience: () => jwtClaimBinding('JWT_AUDIENCE', raw.JWT_AUDIENCE),
    reconcileOutboxAgeMaxMs: raw.RECONCILE_OUTBOX_AGE_MAX_MS,
    cacheCheckAccountsPerStep: raw.CTL_CACHE_CHECK_ACCOUNTS_PER_STEP,
    pgConnectTimeoutMs: raw.CTL_PG_CONNECT_TIMEOUT_MS,
    trafficWindowMs: raw.CTL_TRAFFIC_WINDOW_MS,
    bucketsPerMoveMax: raw.CTL_BUCKETS_PER_MOVE_MAX,
    metadataRefreshWaitMs: raw.CTL_METADATA_REFRESH_WAIT_MS,
    move: {
      routersWaitMs: raw.CTL_MOVE_ROUTERS_WAIT_MS,
      routerFreshMs: raw.CTL_MOVE_ROUTER_FRESH_MS,
      fenceWaitMs: raw.CTL_MOVE_FENCE_WAIT_MS,
      pollMs: raw.CTL_MOVE_POLL_MS,
      fencePublishTimeoutMs: raw.CTL_MOVE_FENCE_PUBLISH_TIMEOUT_MS,
      outboxWaitMs: raw.CTL_MOVE_OUTBOX_WAIT_MS,
      attemptsMax: raw.CTL_MOVE_ATTEMPTS_MAX,
      attemptDelayMs: raw.CTL_MOVE_ATTEMPT_DELAY_MS,
    },
    redisReadyWaitMs: raw.CTL_REDIS_READY_WAIT_MS,
    pgIdleTimeoutMs: raw.CTL_PG_IDLE_TIMEOUT_MS,
  };
}
export type CtlConfig = ReturnType<typeof loadCtlConfig>;

/**
 * ledgerctl's Postgres pool as `role`: `owner` for what changes the routing or records an
 * operator's act on a dead letter, `read` (the API role) for everything else.
 */
export function ctlPool(config: CtlConfig, role: 'owner' | 'read', connectionsMax: number, applicationName = 'ledgerctl') {
  return createPool({
    connectionString: role === 'owner' ? config.ownerDatabaseUrl : config.readDatabaseUrl,
    connectionsMax,
    connectTimeoutMs: config.pgConnectTimeoutMs,
    idleTimeoutMs: config.pgIdleTimeoutMs,
    applicationName,
  });
}
