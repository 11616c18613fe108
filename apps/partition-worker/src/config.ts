/** Every tunable of the partition worker, with its unit and bounds, parsed once from env. */
import { z } from 'zod';
import {
  ConfigError,
  LOCAL_DEFAULTS,
  brokersVar,
  databaseUrlProblems,
  openNetworkProblems,
  plaintextProblems,
  redisUrlVar,
  intVar,
  kafkaClientTuning,
  kafkaClientVars,
  kafkaSecurity,
  kafkaSecurityVars,
  tracingConfig,
  tracingVars,
  logLevelVar,
  ledgerlineEnvVar,
  parseConfig,
  parseNetworkList,
  commandKeySettings,
  refuseUnsafe,
  serviceAddressProblems,
  stringVar,
  KAFKA_NAME_CHARS_MAX,
  optionalNameVar,
  implicitDevelopmentProblem,
  topicPrefixVar,
} from '@ledgerline/config';

const schema = z.object({
  /** development (default), test or production: production refuses the local credentials. */
  LEDGERLINE_ENV: ledgerlineEnvVar(),
  /** Verifies operator seals on commands (docs/security.md); the API's key. Production: 32+ random bytes. */
  LEDGERLINE_COMMAND_KEY: z.string().optional(),
  /** Comma-separated earlier keys still accepted while messages sealed with them may be unapplied. */
  LEDGERLINE_COMMAND_KEY_PREVIOUS: z.string().optional(),
  KAFKA_BROKERS: brokersVar(LOCAL_DEFAULTS.kafkaBrokers),
  KAFKA_TOPIC_PREFIX: topicPrefixVar(LOCAL_DEFAULTS.topicPrefix),
  /** The workers' consumer group (one per deployment); unset: `<KAFKA_TOPIC_PREFIX>.partition-workers`. */
  KAFKA_GROUP_ID: optionalNameVar(KAFKA_NAME_CHARS_MAX),
  ...kafkaSecurityVars,
  ...kafkaClientVars,
  /** Consumer group: a member silent this long (ms) is evicted and its partitions move. */
  WORKER_KAFKA_SESSION_TIMEOUT_MS: intVar(10_000, 3_000, 300_000),
  /** Consumer group: how long (ms) a rebalance waits for every member to rejoin. */
  WORKER_KAFKA_REBALANCE_TIMEOUT_MS: intVar(20_000, 1_000, 600_000),
  /** Consumer group: heartbeats at most this far apart (ms); at most a third of the session timeout. */
  WORKER_KAFKA_HEARTBEAT_INTERVAL_MS: intVar(1_000, 100, 100_000),
  /** Partitions added to the topic (ledgerctl partitions add) join the assignment within this (ms). */
  WORKER_KAFKA_METADATA_MAX_AGE_MS: intVar(5_000, 100, 600_000),
  /** A consumer that stopped for good (non-retriable crash) is replaced after this (ms), and again while that fails. */
  WORKER_CONSUMER_RESTART_DELAY_MS: intVar(1_000, 10, 60_000),
  /** The consumer's own requests: retries before it crashes (and is replaced), first and longest delay (ms). */
  WORKER_CONSUMER_RETRIES: intVar(10, 0, 100),
  WORKER_CONSUMER_RETRY_DELAY_FIRST_MS: intVar(200, 1, 60_000),
  WORKER_CONSUMER_RETRY_DELAY_MAX_MS: intVar(5_000, 1, 300_000),
  /**
   * A batch whose write failed for an operating reason (Postgres or PgBouncer down) is tried
   * again after a delay doubling from the first (ms) up to the cap (ms), jittered down by up to half.
   */
  WORKER_WRITE_RETRY_DELAY_FIRST_MS: intVar(100, 1, 60_000),
  WORKER_WRITE_RETRY_DELAY_MAX_MS: intVar(5_000, 1, 600_000),
  /** As the ledgerline_worker role: writes the ledger tables, can never rewrite an entry. */
  WORKER_DATABASE_URL: stringVar(LOCAL_DEFAULTS.workerDatabaseUrl),
  REDIS_URL: redisUrlVar(LOCAL_DEFAULTS.redisUrl),
  REDIS_KEY_PREFIX: stringVar('ll:'),
  /** This process's name: its Kafka client id, its log name, the owner of the partitions it claims; unset: `worker-<pid>`. */
  WORKER_ID: optionalNameVar(KAFKA_NAME_CHARS_MAX),
  /** Commands in one batch at most: applied and committed together, in one Postgres transaction. */
  WORKER_BATCH_COMMANDS_MAX: intVar(2000, 1, 20000),
  /**
   * Group commit (packages/postgres/src/group-commit.ts): batches of at most this many
   * messages, of this process's partitions, that are ready while another such write is in
   * flight are written together in one statement. Larger batches are written alone, at once.
   * 0: every batch alone.
   */
  WORKER_WRITE_GROUP_MESSAGES_MAX: intVar(64, 0, 20000),
  /**
   * A batch's write through the group-commit writer (ledger_apply_batch, alone or grouped)
   * not answered within this (ms) fails as an operating error and is retried with backoff;
   * its connection is closed. It bounds how long a hung statement (a dead connection) holds
   * the process's group-commit lane; lock waits inside the function stop at 5 s on the
   * server (migration 0014), so the deadline is longer than that (the client gives up only
   * on a statement the server would not end). A 2,000-command batch takes 0.1-0.3 s in the
   * bench.
   */
  WORKER_WRITE_TIMEOUT_MS: intVar(10_000, 6_000, 600_000),
  /**
   * Every other statement of the worker (a batch's reads, poison isolation's writes, the
   * relay's published marks, the sweeper, claims) not answered within this (ms) fails as an
   * operating error, its connection discarded, and is retried by its caller. Without it, a
   * connection that died without a reset held its partition forever. Above the server's 5 s
   * lock timeout, like WORKER_WRITE_TIMEOUT_MS.
   */
  WORKER_QUERY_TIMEOUT_MS: intVar(10_000, 6_000, 600_000),
  /** Partitions this process applies at the same time (each still strictly in order). */
  WORKER_PARTITIONS_CONCURRENT_MAX: intVar(8, 1, 256),
  /** Accounts kept in memory between batches, by the whole process: each partition it applies gets an equal share. */
  WORKER_ACCOUNT_CACHE_MAX: intVar(200_000, 0, 10_000_000),
  /** How often the sweeper looks for outbox rows a crash left unpublished. */
  WORKER_OUTBOX_SWEEP_INTERVAL_MS: intVar(2000, 100, 600_000),
  /** Outbox rows younger than this are left to the relay that wrote them. */
  WORKER_OUTBOX_SWEEP_AGE_MS: intVar(3000, 0, 600_000),
  /** How often the routing table version is checked. */
  WORKER_ROUTING_REFRESH_MS: intVar(1000, 50, 60_000),
  WORKER_PG_CONNECTIONS_MAX: intVar(12, 1, 200),
  /** Waiting longer than this for a Postgres connection fails the attempt (retried by the loop). */
  WORKER_PG_CONNECT_TIMEOUT_MS: intVar(5_000, 100, 60_000),
  /** A pooled Postgres connection idle this long (ms) is closed; 0 = never. */
  WORKER_PG_IDLE_TIMEOUT_MS: intVar(30_000, 0, 3_600_000),
  /** A Redis command (balance cache, status notification) not answered within this (ms) fails. */
  WORKER_REDIS_COMMAND_TIMEOUT_MS: intVar(500, 10, 10_000),
  /** After Redis left a command unanswered, how long its commands fail at once before a PING probes it (ms; breaker.ts). */
  WORKER_REDIS_BREAKER_OPEN_MS: intVar(1_000, 100, 60_000),
  /**
   * A balance-cache refresh Redis failed is sent again after a delay doubling from the first
   * (ms) up to the cap (ms), until it lands; at most this many accounts are owed one (the
   * oldest debts beyond it are dropped: the cache is never the truth).
   */
  WORKER_BALANCE_REFRESH_RETRY_DELAY_FIRST_MS: intVar(250, 10, 60_000),
  WORKER_BALANCE_REFRESH_RETRY_DELAY_MAX_MS: intVar(5_000, 10, 600_000),
  WORKER_BALANCE_REFRESH_OWED_MAX: intVar(100_000, 1, 10_000_000),
  /**
   * How often the worker moves each partition's cache mark forward (cache-mark.ts): a worker
   * that takes a partition over after a crash refreshes the cached balances of every account
   * changed since the mark, so a shorter interval means fewer of them to send (the catch-up
   * reads the accounts table once either way).
   */
  WORKER_CACHE_MARK_INTERVAL_MS: intVar(5_000, 100, 600_000),
  /**
   * How long a worker's stop waits for its last round of the cache mark (ms). A mark not moved
   * within it only makes the next owner's catch-up longer; a longer bound makes a stop slower
   * when Postgres or Redis is slow.
   */
  WORKER_STOP_CACHE_MARK_TIMEOUT_MS: intVar(1_000, 0, 60_000),
  /** Time to open the Redis connection (ms). */
  WORKER_REDIS_CONNECT_TIMEOUT_MS: intVar(2_000, 100, 60_000),
  /** Redis reconnect attempts wait 50 ms more each, up to this (ms). */
  WORKER_REDIS_RECONNECT_DELAY_MAX_MS: intVar(2_000, 50, 60_000),
  /** Kafka fetch bytes per partition: bounds one fetch's memory. */
  WORKER_FETCH_BYTES_MAX: intVar(1_048_576, 1024, 64 * 1_048_576),
  /**
   * Smart batching: a fetch returns as soon as WORKER_FETCH_BYTES_MIN bytes are there (1: any
   * message), and the next fetch is only sent once the previous one is applied. So a quiet
   * system applies each command as it arrives, and a busy one applies, in one batch (up to
   * WORKER_BATCH_COMMANDS_MAX), whatever arrived during the previous commit: fetches and
   * batches grow with the load by themselves.
   * WORKER_FETCH_WAIT_MS is then only how long an EMPTY fetch waits on the broker (a long poll:
   * a message arriving meanwhile ends it at once); it bounds idle fetch traffic and how late
   * the consumer hears of a rebalance. The previous defaults (wait 50 ms for 64 KiB) made each
   * leg of an idle transfer wait the full 50 ms (~130 ms from 202 to COMPLETED).
   */
  WORKER_FETCH_WAIT_MS: intVar(100, 1, 10_000),
  WORKER_FETCH_BYTES_MIN: intVar(1, 1, 16 * 1_048_576),
  /** How often the group's offsets (only a hint: Postgres holds next_offset) are committed to Kafka. */
  WORKER_OFFSET_COMMIT_INTERVAL_MS: intVar(1000, 50, 600_000),
  /** How often relayed outbox rows are marked published (deleted; dead letters moved to dead_letters: for all partitions at once). */
  WORKER_OUTBOX_MARK_INTERVAL_MS: intVar(250, 10, 60_000),
  /**
   * How often the ledger is reconciled and the result exported as metrics; 0 = never. Only
   * the worker the consumer group assigned partition 0 runs it (reconcile-schedule.ts), so
   * give every worker the same value. A run scans the whole ledger in one snapshot (67 s over
   * 10.9M entries in the bench): keep it rare on a large ledger, or 0 and `ledgerctl
   * reconcile` from one place instead.
   */
  WORKER_RECONCILE_INTERVAL_MS: intVar(300_000, 0, 86_400_000),
  WORKER_RECONCILE_OUTBOX_AGE_MAX_MS: intVar(30_000, 0, 86_400_000),
  /**
   * The ops server (/healthz, /readyz, /metrics), always on. 0 takes any free port (it is
   * logged); several workers on one host need a port each (npm start gives 9101, 9102...).
   */
  WORKER_OPS_PORT: intVar(9464, 0, 65535),
  /** 0.0.0.0 in a container, so the published port reaches it. */
  WORKER_OPS_HOST: stringVar('127.0.0.1'),
  /**
   * Who may read /readyz, /metrics and / (comma-separated CIDRs, matched on the TCP peer;
   * anyone else gets 403, /healthz stays open). The worker holds no token keys: the network
   * is its only gate, so keep it narrow when WORKER_OPS_HOST is not loopback.
   */
  WORKER_OPS_NETWORKS: stringVar('127.0.0.1/8,::1/128'),
  /** Each readiness check (Postgres, Redis, Kafka, the partitions' offsets) gets at most this long. */
  WORKER_READY_CHECK_TIMEOUT_MS: intVar(1_000, 50, 30_000),
  /**
   * A partition whose writes have failed and been retried for this long makes /readyz 503
   * (the partitions check), naming it and the last error: a partition that stopped moving
   * must not look healthy while its lag grows.
   */
  WORKER_WRITES_FAILING_UNREADY_MS: intVar(60_000, 1_000, 3_600_000),
  /**
   * A partition whose applied position has stood at (or below) its last stable offset this
   * long while its log goes on past it makes /readyz 503: a transaction another client left
   * open on it hides every later record from the worker's read_committed consumer until the
   * broker aborts it (at most its transaction.max.timeout.ms). Long enough for a transaction
   * that is only slow to commit, short enough that a stopped partition is seen.
   */
  WORKER_OPEN_TRANSACTION_UNREADY_MS: intVar(30_000, 1_000, 3_600_000),
  /**
   * How long a saga leg (CREDIT_LEG, REFUND_LEG) that the write refuses for its transfer's
   * state (SQLSTATE LL003: no such transfer yet, or not in the state the leg follows) is
   * retried, its partition waiting, before it is dead-lettered. 0, the default: at once. In
   * normal operation a leg is sent only after its transfer is written, so such a leg was built
   * by no worker (docs/security.md). Set it only while workers replay Kafka into a database
   * restored from a backup (docs/operations.md): there a leg Kafka still holds can reach its
   * partition before its source partition has applied its transfer again, and waiting keeps
   * the partitions' first order (a reversal after the leg then finds its transfer COMPLETED).
   */
  WORKER_LEG_WAIT_FOR_SOURCE_MS: intVar(0, 0, 86_400_000),
  /**
   * How long the relay's producer lets the first outbox row of a produce request wait for
   * company; 0 = none: the request goes out at the end of the event-loop turn that published,
   * and what is published while it is in flight forms the next one (one request in flight at
   * a time). A credit leg is on its transfer's critical path, so no timer by default.
   */
  WORKER_RELAY_LINGER_MS: intVar(0, 0, 1_000),
  WORKER_RELAY_BATCH_SIZE_MAX: intVar(1_000, 1, 10_000),
  /**
   * Outbox rows buffered or in flight in the relay's producer. Large on purpose: committed
   * rows must go out, and they stay in Postgres for the sweeper whatever happens.
   */
  WORKER_RELAY_BUFFER_MESSAGES_MAX: intVar(1_000_000, 1_000, 10_000_000),
  /** A relay publish not acknowledged within this fails (the rows are retried). */
  WORKER_RELAY_ACK_TIMEOUT_MS: intVar(15_000, 100, 120_000),
  /** Rows waiting in one partition's relay chain before the apply loop waits for Kafka. */
  WORKER_RELAY_PENDING_ROWS_MAX: intVar(20_000, 1, 10_000_000),
  /** Published outbox ids waiting to be marked at most (beyond it the oldest marks are dropped: the sweeper republishes, consumers dedupe). */
  WORKER_OUTBOX_MARKS_PENDING_MAX: intVar(1_000_000, 1_000, 100_000_000),
  /** Published outbox ids marked (deleted) by one statement at most. */
  WORKER_OUTBOX_MARK_IDS_PER_FLUSH_MAX: intVar(20_000, 1, 1_000_000),
  LOG_LEVEL: logLevelVar(),
  ...tracingVars,
  /**
   * How often the worker looks for HELD holds that fell due on its partitions and publishes
   * their EXPIRE_HOLD (docs/api.md: released within 5 s of expires_at); 0 = never (tests only:
   * production refuses it, elsewhere the worker logs a warning at start).
   */
  WORKER_HOLD_EXPIRY_SCAN_MS: intVar(1_000, 0, 4_000),
  /**
   * How long past its expires_at a hold waits before the scan publishes its EXPIRE_HOLD: a
   * capture or a void accepted a moment before expires_at and still being produced then
   * reaches the partition first, and is decided by when it was accepted (docs/api.md).
   * Scan interval plus grace stays within 4 s: holds are released within 5 s.
   */
  WORKER_HOLD_EXPIRY_GRACE_MS: intVar(1_000, 0, 3_000),
  /** Due holds published per scan at most. */
  WORKER_HOLD_EXPIRY_HOLDS_PER_SCAN_MAX: intVar(5_000, 1, 100_000),
  /** A hold's EXPIRE_HOLD is not published again before this (the first may still be in flight). */
  WORKER_HOLD_EXPIRY_REPUBLISH_MS: intVar(3_000, 100, 600_000),
  /** Fault injection for tests and chaos runs only: `crash-after-commit` SIGKILLs the process
   * right after its first Postgres commit, before anything else (Kafka offset commit included). */
  FAULT_INJECT: z.enum(['none', 'crash-after-commit']).default('none'),
});

export type WorkerConfig = ReturnType<typeof loadWorkerConfig>;

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env) {
  const raw = parseConfig(schema, env);
  const implicit = implicitDevelopmentProblem(
    env,
    { postgres: [['WORKER_DATABASE_URL', raw.WORKER_DATABASE_URL]], redisUrl: raw.REDIS_URL, kafka: { brokers: raw.KAFKA_BROKERS, ssl: false } },
    [['WORKER_OPS_HOST', raw.WORKER_OPS_HOST]],
  );
  if (implicit) throw new ConfigError(implicit);
  const problems: string[] = [];
  const kafkaSecurityConfig = kafkaSecurity(raw.LEDGERLINE_ENV, raw, problems);
  if (raw.LEDGERLINE_ENV === 'production') {
    problems.push(
      ...databaseUrlProblems('WORKER_DATABASE_URL', raw.WORKER_DATABASE_URL, env, true),
      ...serviceAddressProblems(env),
      ...openNetworkProblems('WORKER_OPS_NETWORKS', raw.WORKER_OPS_NETWORKS),
      ...(raw.FAULT_INJECT === 'none' ? [] : [`FAULT_INJECT: ${raw.FAULT_INJECT} is a test switch (the worker kills itself); unset it`]),
      // The other test switch: with it no hold of this worker's partitions ever expires, and
      // their amounts stay out of `available` (an outside review).
      ...(raw.WORKER_HOLD_EXPIRY_SCAN_MS === 0
        ? ['WORKER_HOLD_EXPIRY_SCAN_MS: 0 turns hold expiry off (a test switch): holds past expires_at would keep their amount out of available; unset it (a scan every 1,000 ms)']
        : []),
      ...plaintextProblems(
        { postgres: [['WORKER_DATABASE_URL', raw.WORKER_DATABASE_URL]], redisUrl: raw.REDIS_URL, kafka: { brokers: raw.KAFKA_BROKERS, ssl: kafkaSecurityConfig.ssl }, tracing: raw.OTEL_TRACING === 'on' },
        env,
      ),
    );
  }
  const commandKey = commandKeySettings(raw.LEDGERLINE_ENV, raw, problems);
  refuseUnsafe(problems);
  // Marks must land before the sweeper takes a published row for a crash leftover.
  if (raw.WORKER_OUTBOX_MARK_INTERVAL_MS * 2 > raw.WORKER_OUTBOX_SWEEP_AGE_MS && raw.WORKER_OUTBOX_SWEEP_AGE_MS > 0) {
    throw new ConfigError(
      `WORKER_OUTBOX_MARK_INTERVAL_MS=${raw.WORKER_OUTBOX_MARK_INTERVAL_MS} must be at most half of WORKER_OUTBOX_SWEEP_AGE_MS=${raw.WORKER_OUTBOX_SWEEP_AGE_MS}`,
    );
  }
  if (raw.WORKER_KAFKA_HEARTBEAT_INTERVAL_MS * 3 > raw.WORKER_KAFKA_SESSION_TIMEOUT_MS) {
    throw new ConfigError(
      `WORKER_KAFKA_HEARTBEAT_INTERVAL_MS=${raw.WORKER_KAFKA_HEARTBEAT_INTERVAL_MS} must be at most a third of WORKER_KAFKA_SESSION_TIMEOUT_MS=${raw.WORKER_KAFKA_SESSION_TIMEOUT_MS}`,
    );
  }
  // Unset, the grace yields to a scan interval set before it existed (up to 4,000 ms, which
  // the default grace would have pushed past the promise: an outside review of the change).
  const holdExpiryGraceMs =
    env.WORKER_HOLD_EXPIRY_GRACE_MS === undefined ? Math.min(raw.WORKER_HOLD_EXPIRY_GRACE_MS, 4_000 - raw.WORKER_HOLD_EXPIRY_SCAN_MS) : raw.WORKER_HOLD_EXPIRY_GRACE_MS;
  if (raw.WORKER_HOLD_EXPIRY_SCAN_MS + holdExpiryGraceMs > 4_000) {
    throw new ConfigError(
      `WORKER_HOLD_EXPIRY_SCAN_MS=${raw.WORKER_HOLD_EXPIRY_SCAN_MS} plus WORKER_HOLD_EXPIRY_GRACE_MS=${raw.WORKER_HOLD_EXPIRY_GRACE_MS} must be at most 4000: holds are released within 5 s of expires_at`,
    );
  }
  orderedDelays('WORKER_CONSUMER_RETRY_DELAY', raw.WORKER_CONSUMER_RETRY_DELAY_FIRST_MS, raw.WORKER_CONSUMER_RETRY_DELAY_MAX_MS);
  orderedDelays('WORKER_WRITE_RETRY_DELAY', raw.WORKER_WRITE_RETRY_DELAY_FIRST_MS, raw.WORKER_WRITE_RETRY_DELAY_MAX_MS);
  const workerId = raw.WORKER_ID ?? `worker-${process.pid}`;
  return {
    kafkaBrokers: raw.KAFKA_BROKERS,
    kafkaSecurity: kafkaSecurityConfig,
    kafkaClient: kafkaClientTuning(raw),
    consumerGroup: {
      sessionTimeoutMs: raw.WORKER_KAFKA_SESSION_TIMEOUT_MS,
      rebalanceTimeoutMs: raw.WORKER_KAFKA_REBALANCE_TIMEOUT_MS,
      heartbeatIntervalMs: raw.WORKER_KAFKA_HEARTBEAT_INTERVAL_MS,
      metadataMaxAgeMs: raw.WORKER_KAFKA_METADATA_MAX_AGE_MS,
      restartDelayMs: raw.WORKER_CONSUMER_RESTART_DELAY_MS,
      retry: { retries: raw.WORKER_CONSUMER_RETRIES, delayFirstMs: raw.WORKER_CONSUMER_RETRY_DELAY_FIRST_MS, delayMaxMs: raw.WORKER_CONSUMER_RETRY_DELAY_MAX_MS },
    },
    writeRetryDelay: { firstMs: raw.WORKER_WRITE_RETRY_DELAY_FIRST_MS, maxMs: raw.WORKER_WRITE_RETRY_DELAY_MAX_MS },
    topicPrefix: raw.KAFKA_TOPIC_PREFIX,
    groupId: raw.KAFKA_GROUP_ID ?? `${raw.KAFKA_TOPIC_PREFIX}.partition-workers`,
    ledgerlineEnv: raw.LEDGERLINE_ENV,
    commandKey,
    databaseUrl: raw.WORKER_DATABASE_URL,
    redisUrl: raw.REDIS_URL,
    redisKeyPrefix: raw.REDIS_KEY_PREFIX,
    workerId,
    batchCommandsMax: raw.WORKER_BATCH_COMMANDS_MAX,
    writeGroupMessagesMax: raw.WORKER_WRITE_GROUP_MESSAGES_MAX,
    writeTimeoutMs: raw.WORKER_WRITE_TIMEOUT_MS,
    queryTimeoutMs: raw.WORKER_QUERY_TIMEOUT_MS,
    balanceRefreshRetryDelayFirstMs: raw.WORKER_BALANCE_REFRESH_RETRY_DELAY_FIRST_MS,
    balanceRefreshRetryDelayMaxMs: raw.WORKER_BALANCE_REFRESH_RETRY_DELAY_MAX_MS,
    balanceRefreshOwedMax: raw.WORKER_BALANCE_REFRESH_OWED_MAX,
    partitionsConcurrentMax: raw.WORKER_PARTITIONS_CONCURRENT_MAX,
    accountCacheMax: raw.WORKER_ACCOUNT_CACHE_MAX,
    outboxSweepIntervalMs: raw.WORKER_OUTBOX_SWEEP_INTERVAL_MS,
    cacheMarkIntervalMs: raw.WORKER_CACHE_MARK_INTERVAL_MS,
    stopCacheMarkTimeoutMs: raw.WORKER_STOP_CACHE_MARK_TIMEOUT_MS,
    outboxSweepAgeMs: raw.WORKER_OUTBOX_SWEEP_AGE_MS,
    routingRefreshMs: raw.WORKER_ROUTING_REFRESH_MS,
    pgConnectionsMax: raw.WORKER_PG_CONNECTIONS_MAX,
    fetchBytesMax: raw.WORKER_FETCH_BYTES_MAX,
    fetchWaitMs: raw.WORKER_FETCH_WAIT_MS,
    fetchBytesMin: raw.WORKER_FETCH_BYTES_MIN,
    offsetCommitIntervalMs: raw.WORKER_OFFSET_COMMIT_INTERVAL_MS,
    outboxMarkIntervalMs: raw.WORKER_OUTBOX_MARK_INTERVAL_MS,
    pgConnectTimeoutMs: raw.WORKER_PG_CONNECT_TIMEOUT_MS,
    pgIdleTimeoutMs: raw.WORKER_PG_IDLE_TIMEOUT_MS,
    redis: {
      commandTimeoutMs: raw.WORKER_REDIS_COMMAND_TIMEOUT_MS,
      breakerOpenMs: raw.WORKER_REDIS_BREAKER_OPEN_MS,
      connectTimeoutMs: raw.WORKER_REDIS_CONNECT_TIMEOUT_MS,
      reconnectDelayMsMax: raw.WORKER_REDIS_RECONNECT_DELAY_MAX_MS,
    },
    opsPort: raw.WORKER_OPS_PORT,
    opsHost: raw.WORKER_OPS_HOST,
    opsNetworks: parseNetworkList('WORKER_OPS_NETWORKS', raw.WORKER_OPS_NETWORKS),
    readyCheckTimeoutMs: raw.WORKER_READY_CHECK_TIMEOUT_MS,
    writesFailingUnreadyMs: raw.WORKER_WRITES_FAILING_UNREADY_MS,
    openTransactionUnreadyMs: raw.WORKER_OPEN_TRANSACTION_UNREADY_MS,
    legWaitForSourceMs: raw.WORKER_LEG_WAIT_FOR_SOURCE_MS,
    relayLingerMs: raw.WORKER_RELAY_LINGER_MS,
    relayBatchSizeMax: raw.WORKER_RELAY_BATCH_SIZE_MAX,
    relayBufferMessagesMax: raw.WORKER_RELAY_BUFFER_MESSAGES_MAX,
    relayAckTimeoutMs: raw.WORKER_RELAY_ACK_TIMEOUT_MS,
    relayPendingRowsMax: raw.WORKER_RELAY_PENDING_ROWS_MAX,
    outboxMarksPendingMax: raw.WORKER_OUTBOX_MARKS_PENDING_MAX,
    outboxMarkIdsPerFlushMax: raw.WORKER_OUTBOX_MARK_IDS_PER_FLUSH_MAX,
    logLevel: raw.LOG_LEVEL,
    tracing: tracingConfig(raw, 'ledgerline-partition-worker'),
    holdExpiryScanMs: raw.WORKER_HOLD_EXPIRY_SCAN_MS,
    holdExpiryGraceMs,
    holdExpiryHoldsPerScanMax: raw.WORKER_HOLD_EXPIRY_HOLDS_PER_SCAN_MAX,
    holdExpiryRepublishMs: raw.WORKER_HOLD_EXPIRY_REPUBLISH_MS,
    reconcileIntervalMs: raw.WORKER_RECONCILE_INTERVAL_MS,
    reconcileOutboxAgeMaxMs: raw.WORKER_RECONCILE_OUTBOX_AGE_MAX_MS,
    faultInject: raw.FAULT_INJECT,
  };
}

function orderedDelays(prefix: string, firstMs: number, maxMs: number): void {
  if (firstMs > maxMs) throw new ConfigError(`${prefix}_FIRST_MS=${firstMs} must be at most ${prefix}_MAX_MS=${maxMs}`);
}
