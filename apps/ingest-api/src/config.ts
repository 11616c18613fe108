/**
 * Every tunable of the ingest API, with its unit and bounds, parsed once from env. The
 * defaults run against the local stack (infra/local/ports.env, profile dev).
 */
import { z } from 'zod';
import {
  LOCAL_DEFAULTS,
  brokersVar,
  databaseUrlProblems,
  openNetworkProblems,
  plaintextProblems,
  redisUrlVar,
  intVar,
  commandKeySettings,
  jwtSettings,
  kafkaClientTuning,
  kafkaClientVars,
  kafkaDurability,
  kafkaDurabilityVars,
  kafkaSecurity,
  kafkaSecurityVars,
  tracingConfig,
  tracingVars,
  ledgerlineEnvVar,
  logLevelVar,
  ConfigError,
  parseConfig,
  parseNetworkList,
  refuseUnsafe,
  serviceAddressProblems,
  stringVar,
  implicitDevelopmentProblem,
  topicPrefixVar,
} from '@ledgerline/config';
import { BATCH_ITEMS_MAX, WAIT_MS_MAX } from '@ledgerline/domain';
import { TOKEN_LIFETIME_MAX_S_DEFAULT } from '@ledgerline/auth';

const optionalUrl = z.url({ message: 'must be a URL' }).optional();

/** The API's Kafka requests time out at API_PRODUCE_ACK_TIMEOUT_MS: no KAFKA_REQUEST_TIMEOUT_MS here. */
const { KAFKA_REQUEST_TIMEOUT_MS: _requestTimeout, ...kafkaClientVarsOfTheApi } = kafkaClientVars;

const schema = z.object({
  /** development (default), test or production: production refuses local secrets and credentials. */
  LEDGERLINE_ENV: ledgerlineEnvVar(),
  ...kafkaClientVarsOfTheApi,
  PORT: intVar(8080, 0, 65535),
  HOST: stringVar('127.0.0.1'),
  /** As the ledgerline_api role (reads; writes only accounts at open, idempotency claims, routing_observers). */
  API_DATABASE_URL: stringVar(LOCAL_DEFAULTS.apiDatabaseUrl),
  REDIS_URL: redisUrlVar(LOCAL_DEFAULTS.redisUrl),
  REDIS_KEY_PREFIX: stringVar('ll:'),
  KAFKA_BROKERS: brokersVar(LOCAL_DEFAULTS.kafkaBrokers),
  KAFKA_TOPIC_PREFIX: topicPrefixVar(LOCAL_DEFAULTS.topicPrefix),
  ...kafkaDurabilityVars,
  ...kafkaSecurityVars,
  /**
   * HS256 secret. HS256 tokens are accepted only when it is set, except outside production
   * with no JWKS, where the development secret applies (packages/config jwtSettings).
   * Production: at least 32 random bytes.
   */
  JWT_SECRET: z.string().optional(),
  /**
   * Seals operator (ledger:admin) commands on Kafka so workers can tell them from forged
   * ones; the same key in the API and every worker. Production: at least 32 random bytes.
   */
  LEDGERLINE_COMMAND_KEY: z.string().optional(),
  /** Comma-separated keys workers still accept (rotation); the API always seals with the current one. */
  LEDGERLINE_COMMAND_KEY_PREVIOUS: z.string().optional(),
  /** RS256 key set; production requires JWT_ISSUER and JWT_AUDIENCE with it. */
  JWT_JWKS_URL: optionalUrl,
  /** Empty, blank or padded: refused by jwtClaimBinding, naming the variable, in every environment. */
  JWT_ISSUER: z.string().optional(),
  JWT_AUDIENCE: z.string().optional(),
  /** A token whose exp is further away than this (s) is refused (401): at most 30 days. */
  JWT_LIFETIME_MAX_S: intVar(TOKEN_LIFETIME_MAX_S_DEFAULT, 60, 30 * 86_400),
  /**
   * Who may read /readyz and /metrics without a token: comma-separated CIDRs or addresses,
   * matched against the TCP peer (X-Forwarded-For is never trusted). Anyone else needs a
   * ledger:admin token. Default: loopback only.
   */
  API_OPERATOR_NETWORKS: stringVar('127.0.0.1/8,::1/128'),
  /**
   * Per-principal rate limits, shared by every API instance through Redis: a principal gets
   * `*_PER_S` requests each second and may borrow up to `*_BURST` in a second from an
   * allowance of (BURST - PER_S) refilled over API_RATE_BURST_WINDOW_S. Writes are POSTs,
   * reads are GETs (long polls included). ledger:admin gets API_RATE_ADMIN_FACTOR times more.
   * Past it: 429 RATE_LIMITED with Retry-After.
   */
  API_RATE_WRITES_PER_S: intVar(100, 1, 1_000_000),
  API_RATE_WRITES_BURST: intVar(200, 1, 10_000_000),
  API_RATE_READS_PER_S: intVar(500, 1, 1_000_000),
  API_RATE_READS_BURST: intVar(1_000, 1, 10_000_000),
  API_RATE_BURST_WINDOW_S: intVar(10, 1, 3_600),
  API_RATE_ADMIN_FACTOR: intVar(10, 1, 1_000),
  /** Accounts one principal may open (admins too); past it 409 ACCOUNT_QUOTA_EXCEEDED. */
  API_ACCOUNTS_PER_PRINCIPAL_MAX: intVar(1_000, 1, 100_000_000),
  /** A body larger than this answers 413 before it is parsed. */
  API_REQUEST_BODY_BYTES_MAX: intVar(16_384, 1_024, 1_048_576),
  /** POST /v1/batch: the body may be this large (the other routes keep API_REQUEST_BODY_BYTES_MAX). */
  API_BATCH_BODY_BYTES_MAX: intVar(1_048_576, 1_024, 1_048_576),
  /**
   * POST /v1/batch: items per batch at most (the contract's BATCH_ITEMS_MAX, 1000, is the
   * ceiling the document declares). All of a batch's accepted items go out in one produce request.
   */
  API_BATCH_ITEMS_MAX: intVar(BATCH_ITEMS_MAX, 1, BATCH_ITEMS_MAX),
  /**
   * POST /v1/batch admission (batch-admission.ts): batch items worked on at once, at most (a
   * larger batch runs alone); a batch that does not fit waits its turn, in arrival order, up to
   * API_BATCH_ADMISSION_WAIT_MS, then answers 429 TOO_MANY_REQUESTS with Retry-After. At most
   * a round of items waits; a batch past it is refused at once. The wait lets a queued batch
   * in at the box's capacity (a 500-item batch took ~150-200 ms, a round ~270 ms at 15,000
   * items/s), where a refusal costs its client Retry-After's whole second; past capacity an
   * accepted batch may take the wait plus its own work (loadtest/JOURNAL.md, "Batch admission
   * sized to the box").
   */
  API_BATCH_ITEMS_IN_FLIGHT_MAX: intVar(4_000, 1, 1_000_000),
  API_BATCH_ADMISSION_WAIT_MS: intVar(1_000, 0, 60_000),
  /** Upper bound of `?wait_ms` (the contract allows up to WAIT_MS_MAX, 30000). */
  API_LONG_POLL_MS_MAX: intVar(WAIT_MS_MAX, 0, WAIT_MS_MAX),
  /** How long `PATCH /v1/accounts/{id}` waits for the writer's outcome before answering 202 (the contract says 5 s). */
  API_ACCOUNT_CHANGE_WAIT_MS: intVar(5_000, 0, WAIT_MS_MAX),
  /** Long polls waiting at once; beyond it a long poll answers at once (no wait). */
  API_LONG_POLLS_MAX: intVar(10_000, 0, 1_000_000),
  /** One principal's long polls waiting at once; beyond it its long poll answers at once (long-poll-shares.ts). */
  API_LONG_POLLS_PER_PRINCIPAL_MAX: intVar(1_000, 0, 1_000_000),
  /** Safety re-check of long-polled transfers (pub/sub can lose messages when Redis restarts). */
  API_LONG_POLL_RECHECK_MS: intVar(1_000, 50, 60_000),
  /** Requests in progress at once (every path but /healthz, long polls included); beyond it 429 + Retry-After. */
  API_IN_FLIGHT_REQUESTS_MAX: intVar(20_000, 1, 1_000_000),
  /**
   * Requests of one principal in progress at once; beyond it 429 + Retry-After for that
   * principal only, so that no one principal can hold every slot of API_IN_FLIGHT_REQUESTS_MAX.
   */
  API_IN_FLIGHT_PER_PRINCIPAL_MAX: intVar(5_000, 1, 1_000_000),
  /** How often the routing table's version is checked. */
  API_ROUTING_REFRESH_MS: intVar(1_000, 50, 60_000),
  API_PG_CONNECTIONS_MAX: intVar(20, 1, 500),
  /** Waiting longer than this for a Postgres connection means Postgres/PgBouncer is down: 503. */
  API_PG_CONNECT_TIMEOUT_MS: intVar(2_000, 100, 60_000),
  /**
   * A Postgres statement not answered within this (ms) fails, its connection discarded, and
   * the request answers 503 + Retry-After (a retry with the same Idempotency-Key is safe).
   * Without it a connection that died without a reset held its request, and its in-flight
   * slot, forever.
   */
  API_PG_QUERY_TIMEOUT_MS: intVar(5_000, 100, 120_000),
  /** Owner and currency of accounts kept in memory (they never change). */
  API_ACCOUNT_CACHE_ENTRIES_MAX: intVar(100_000, 0, 10_000_000),
  /** Verified bearer tokens kept in memory (each for at most 60 s, never past its exp); 0 verifies every request. */
  API_VERIFIED_TOKENS_MAX: intVar(10_000, 0, 1_000_000),
  /** Idempotency claims sent to Postgres in one statement at most. */
  API_IDEMPOTENCY_CLAIM_BATCH_SIZE_MAX: intVar(500, 1, 10_000),
  /** Idempotency claim statements in flight at once; claims arriving meanwhile join the next one. */
  API_IDEMPOTENCY_CLAIM_FLUSHES_MAX: intVar(2, 1, 64),
  API_REDIS_COMMAND_TIMEOUT_MS: intVar(500, 10, 10_000),
  /** After Redis left a command unanswered, how long its commands fail at once before a PING probes it (ms; breaker.ts). */
  API_REDIS_BREAKER_OPEN_MS: intVar(1_000, 100, 60_000),
  /** Time to open a Redis connection (ms). */
  API_REDIS_CONNECT_TIMEOUT_MS: intVar(2_000, 100, 60_000),
  /** Redis reconnect attempts wait 50 ms more each, up to this (ms). */
  API_REDIS_RECONNECT_DELAY_MAX_MS: intVar(2_000, 50, 60_000),
  /** A pooled Postgres connection idle this long (ms) is closed; 0 = never. */
  API_PG_IDLE_TIMEOUT_MS: intVar(30_000, 0, 3_600_000),
  /**
   * HTTP server timeouts (ms). An idle keep-alive connection is kept this long: longer than a
   * load balancer's idle timeout (often 60 s), or it may reuse one the API just closed.
   */
  API_HTTP_KEEP_ALIVE_TIMEOUT_MS: intVar(65_000, 1_000, 600_000),
  /** Time to receive a request's headers (ms); more than the keep-alive timeout (Node's advice). */
  API_HTTP_HEADERS_TIMEOUT_MS: intVar(66_000, 1_000, 600_000),
  /** Time to receive a whole request (ms); long polls answer within API_LONG_POLL_MS_MAX, well inside it. */
  API_HTTP_REQUEST_TIMEOUT_MS: intVar(60_000, 1_000, 600_000),
  /** How long an ACCEPTED record stays in Redis at most: its worker removes it once applied (Postgres has the transfer then). */
  API_ACCEPTED_TTL_S: intVar(86_400, 60, 30 * 86_400),
  /**
   * The first message of a produce request waits at most this long for company. 0 (the
   * default): it goes out at the end of the event-loop turn that published it, with whatever
   * else that turn published, and what arrives while a request is in flight forms the next
   * one, so requests grow with the load by themselves. A linger is only delay when nothing
   * else is coming (loadtest/JOURNAL.md, forty-first round: 2 ms added 2 ms to every quiet 202).
   */
  API_PRODUCE_LINGER_MS: intVar(0, 0, 1_000),
  API_PRODUCE_BATCH_SIZE_MAX: intVar(500, 1, 10_000),
  /**
   * A batch's commands go to Kafka together, in produce requests of at most this many bytes
   * of message values each, sent one after another. Kafka refuses a partition's record
   * batch over its message.max.bytes (1 MiB by default): 768 KiB leaves room for keys and
   * record overhead. A 500-transfer batch is about 200 KiB: one request. The API refuses to
   * start when the commands topic's max.message.bytes is below this plus 256 KiB.
   */
  API_PRODUCE_GROUP_BYTES_MAX: intVar(786_432, 1_024, 8_388_608),
  /** Commands buffered or in flight at most; beyond it POSTs answer 429. */
  API_PRODUCE_BUFFER_MESSAGES_MAX: intVar(20_000, 1, 1_000_000),
  /** A command not acknowledged by Kafka within this answers 503. */
  API_PRODUCE_ACK_TIMEOUT_MS: intVar(5_000, 100, 120_000),
  /** Each readiness check (Kafka, Postgres, Redis) gets at most this long. */
  API_READY_CHECK_TIMEOUT_MS: intVar(1_000, 50, 30_000),
  /** Retry-After of a 429 (BACKPRESSURE, TOO_MANY_REQUESTS) and of a 503 BUCKET_MOVING (a move takes about a second); of a 503 DEPENDENCY_UNAVAILABLE. */
  API_BACKPRESSURE_RETRY_AFTER_S: intVar(1, 1, 3_600),
  API_UNAVAILABLE_RETRY_AFTER_S: intVar(2, 1, 3_600),
  /** On SIGTERM, requests in progress get this long to finish before connections are cut. */
  API_SHUTDOWN_GRACE_MS: intVar(10_000, 0, 120_000),
  /** Start-up waits this long for Kafka and Redis, then serves anyway (readyz says which is down). */
  API_DEPENDENCY_START_WAIT_MS: intVar(5_000, 0, 120_000),
  /** The same warning (a dependency failing on the request path) is logged at most this often. */
  API_WARN_INTERVAL_MS: intVar(10_000, 0, 3_600_000),
  /** fatal..trace or silent; answered requests log at debug (4xx at info, 5xx at error). */
  LOG_LEVEL: logLevelVar(),
  ...tracingVars,
});

export type ApiConfig = ReturnType<typeof loadApiConfig>;

export function loadApiConfig(env: NodeJS.ProcessEnv = process.env) {
  const raw = parseConfig(schema, env);
  const implicit = implicitDevelopmentProblem(env, { postgres: [['API_DATABASE_URL', raw.API_DATABASE_URL]], redisUrl: raw.REDIS_URL, kafka: { brokers: raw.KAFKA_BROKERS, ssl: false } }, [['HOST', raw.HOST]]);
  if (implicit) throw new ConfigError(implicit);
  const problems: string[] = [];
  const kafkaSecurityConfig = kafkaSecurity(raw.LEDGERLINE_ENV, raw, problems);
  if (raw.LEDGERLINE_ENV === 'production') {
    problems.push(
      ...databaseUrlProblems('API_DATABASE_URL', raw.API_DATABASE_URL, env, true),
      ...serviceAddressProblems(env),
      ...openNetworkProblems('API_OPERATOR_NETWORKS', raw.API_OPERATOR_NETWORKS),
      ...plaintextProblems(
        { postgres: [['API_DATABASE_URL', raw.API_DATABASE_URL]], redisUrl: raw.REDIS_URL, kafka: { brokers: raw.KAFKA_BROKERS, ssl: kafkaSecurityConfig.ssl }, tracing: raw.OTEL_TRACING === 'on' },
        env,
      ),
    );
  }
  const commandKey = commandKeySettings(raw.LEDGERLINE_ENV, raw, problems);
  const jwt = jwtSettings(raw.LEDGERLINE_ENV, raw, problems);
  // One value for both: every worker holds the command key, so any worker host (or anyone who
  // reads its env) could sign an admin token for the API; the two secrets must be independent.
  if (raw.LEDGERLINE_ENV === 'production' && jwt.hs256Secret !== null && [commandKey.current, ...commandKey.previous].includes(jwt.hs256Secret)) {
    problems.push(
      'JWT_SECRET: is also LEDGERLINE_COMMAND_KEY (or one of its previous keys), which every partition worker holds: a worker host could sign an admin token; give each its own random value',
    );
  }
  const durability = kafkaDurability(raw.LEDGERLINE_ENV, raw, problems);
  refuseUnsafe(problems);
  for (const [perS, burst] of [['API_RATE_WRITES_PER_S', 'API_RATE_WRITES_BURST'], ['API_RATE_READS_PER_S', 'API_RATE_READS_BURST']] as const) {
    if (raw[burst] < raw[perS]) throw new ConfigError(`${burst}: ${raw[burst]} is less than ${perS}=${raw[perS]}`);
  }
  if (raw.API_HTTP_HEADERS_TIMEOUT_MS <= raw.API_HTTP_KEEP_ALIVE_TIMEOUT_MS) {
    throw new ConfigError(`API_HTTP_HEADERS_TIMEOUT_MS: ${raw.API_HTTP_HEADERS_TIMEOUT_MS} must be more than API_HTTP_KEEP_ALIVE_TIMEOUT_MS=${raw.API_HTTP_KEEP_ALIVE_TIMEOUT_MS}`);
  }
  return {
    ledgerlineEnv: raw.LEDGERLINE_ENV,
    port: raw.PORT,
    host: raw.HOST,
    databaseUrl: raw.API_DATABASE_URL,
    redisUrl: raw.REDIS_URL,
    redisKeyPrefix: raw.REDIS_KEY_PREFIX,
    kafkaBrokers: raw.KAFKA_BROKERS,
    kafkaTopicPrefix: raw.KAFKA_TOPIC_PREFIX,
    kafkaDurability: durability,
    kafkaSecurity: kafkaSecurityConfig,
    /** Its request timeout is replaced by produceAckTimeoutMs (runtime.ts). */
    kafkaClient: kafkaClientTuning({ ...raw, KAFKA_REQUEST_TIMEOUT_MS: raw.API_PRODUCE_ACK_TIMEOUT_MS }),
    http: {
      keepAliveTimeoutMs: raw.API_HTTP_KEEP_ALIVE_TIMEOUT_MS,
      headersTimeoutMs: raw.API_HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: raw.API_HTTP_REQUEST_TIMEOUT_MS,
    },
    jwt,
    jwtLifetimeMaxS: raw.JWT_LIFETIME_MAX_S,
    commandKey,
    operatorNetworks: parseNetworkList('API_OPERATOR_NETWORKS', raw.API_OPERATOR_NETWORKS),
    rateLimits: {
      writesPerS: raw.API_RATE_WRITES_PER_S,
      writesBurst: raw.API_RATE_WRITES_BURST,
      readsPerS: raw.API_RATE_READS_PER_S,
      readsBurst: raw.API_RATE_READS_BURST,
      burstWindowS: raw.API_RATE_BURST_WINDOW_S,
      adminFactor: raw.API_RATE_ADMIN_FACTOR,
    },
    accountsPerPrincipalMax: raw.API_ACCOUNTS_PER_PRINCIPAL_MAX,
    requestBodyBytesMax: raw.API_REQUEST_BODY_BYTES_MAX,
    batchBodyBytesMax: raw.API_BATCH_BODY_BYTES_MAX,
    batchItemsMax: raw.API_BATCH_ITEMS_MAX,
    batchItemsInFlightMax: raw.API_BATCH_ITEMS_IN_FLIGHT_MAX,
    batchAdmissionWaitMs: raw.API_BATCH_ADMISSION_WAIT_MS,
    longPollMsMax: raw.API_LONG_POLL_MS_MAX,
    accountChangeWaitMs: raw.API_ACCOUNT_CHANGE_WAIT_MS,
    longPollsMax: raw.API_LONG_POLLS_MAX,
    longPollsPerPrincipalMax: raw.API_LONG_POLLS_PER_PRINCIPAL_MAX,
    longPollRecheckMs: raw.API_LONG_POLL_RECHECK_MS,
    inFlightRequestsMax: raw.API_IN_FLIGHT_REQUESTS_MAX,
    inFlightPerPrincipalMax: raw.API_IN_FLIGHT_PER_PRINCIPAL_MAX,
    routingRefreshMs: raw.API_ROUTING_REFRESH_MS,
    pgConnectionsMax: raw.API_PG_CONNECTIONS_MAX,
    pgConnectTimeoutMs: raw.API_PG_CONNECT_TIMEOUT_MS,
    pgIdleTimeoutMs: raw.API_PG_IDLE_TIMEOUT_MS,
    pgQueryTimeoutMs: raw.API_PG_QUERY_TIMEOUT_MS,
    redisConnectTimeoutMs: raw.API_REDIS_CONNECT_TIMEOUT_MS,
    redisReconnectDelayMsMax: raw.API_REDIS_RECONNECT_DELAY_MAX_MS,
    accountCacheEntriesMax: raw.API_ACCOUNT_CACHE_ENTRIES_MAX,
    verifiedTokensMax: raw.API_VERIFIED_TOKENS_MAX,
    idempotencyClaimBatchSizeMax: raw.API_IDEMPOTENCY_CLAIM_BATCH_SIZE_MAX,
    idempotencyClaimFlushesMax: raw.API_IDEMPOTENCY_CLAIM_FLUSHES_MAX,
    redisCommandTimeoutMs: raw.API_REDIS_COMMAND_TIMEOUT_MS,
    redisBreakerOpenMs: raw.API_REDIS_BREAKER_OPEN_MS,
    acceptedTtlS: raw.API_ACCEPTED_TTL_S,
    produceLingerMs: raw.API_PRODUCE_LINGER_MS,
    produceBatchSizeMax: raw.API_PRODUCE_BATCH_SIZE_MAX,
    produceGroupBytesMax: raw.API_PRODUCE_GROUP_BYTES_MAX,
    produceBufferMessagesMax: raw.API_PRODUCE_BUFFER_MESSAGES_MAX,
    produceAckTimeoutMs: raw.API_PRODUCE_ACK_TIMEOUT_MS,
    readyCheckTimeoutMs: raw.API_READY_CHECK_TIMEOUT_MS,
    backpressureRetryAfterS: raw.API_BACKPRESSURE_RETRY_AFTER_S,
    unavailableRetryAfterS: raw.API_UNAVAILABLE_RETRY_AFTER_S,
    shutdownGraceMs: raw.API_SHUTDOWN_GRACE_MS,
    dependencyStartWaitMs: raw.API_DEPENDENCY_START_WAIT_MS,
    warnIntervalMs: raw.API_WARN_INTERVAL_MS,
    logLevel: raw.LOG_LEVEL,
    tracing: tracingConfig(raw, 'ledgerline-ingest-api'),
  };
}
