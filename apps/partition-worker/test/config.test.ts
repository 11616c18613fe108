// Proves the worker refuses the local Postgres credentials and the development command key
// in production, naming the variable, and that every tunable it passes to the packages has
// its default and bounds.
import { ConfigError, UnsafeConfigError } from '@ledgerline/config';
import { CONSUMER_GROUP_DEFAULTS, KAFKA_CLIENT_DEFAULTS } from '@ledgerline/kafka';
import { POOL_IDLE_TIMEOUT_MS_DEFAULT } from '@ledgerline/postgres';
import {
  REDIS_BREAKER_OPEN_MS_DEFAULT,
  REDIS_COMMAND_TIMEOUT_MS_DEFAULT,
  REDIS_CONNECT_TIMEOUT_MS_DEFAULT,
  REDIS_RECONNECT_DELAY_MS_MAX_DEFAULT,
} from '@ledgerline/redis';
import { loadWorkerConfig } from '../src/config';

const COMMAND_KEY = 'p7Gk2LxQ9rTz4mWc8nVb1sHd6fJy3aKe5uRo0iPqYtZwXmNc';
/** Where production's Kafka and Redis are: set, since their defaults are the local stack's. */
const SERVICES = { KAFKA_BROKERS: 'kafka-1.internal:9092', REDIS_URL: 'rediss://cache.internal:6380', KAFKA_SSL: 'true' };

test('production refuses the local credentials of WORKER_DATABASE_URL', () => {
  expect(() => loadWorkerConfig({ LEDGERLINE_ENV: 'production' })).toThrow(UnsafeConfigError);
  expect(() => loadWorkerConfig({ LEDGERLINE_ENV: 'production' })).toThrow(/^WORKER_DATABASE_URL: uses the local stack's default credentials \(ledgerline_worker:ledgerline_worker\)/);
  const config = loadWorkerConfig({
    LEDGERLINE_ENV: 'production',
    WORKER_DATABASE_URL: 'postgres://ledgerline_worker:from-the-vault@db:6432/ledgerline?sslmode=verify-full',
    LEDGERLINE_COMMAND_KEY: COMMAND_KEY,
    ...SERVICES,
  });
  expect(config.databaseUrl).toMatch(/from-the-vault/);
  expect(config.commandKey).toEqual({ current: COMMAND_KEY, previous: [] });
});

test('production refuses a missing or development LEDGERLINE_COMMAND_KEY (a forged deposit would verify)', () => {
  const db = 'postgres://ledgerline_worker:from-the-vault@db:6432/ledgerline?sslmode=verify-full';
  expect(() => loadWorkerConfig({ LEDGERLINE_ENV: 'production', ...SERVICES, WORKER_DATABASE_URL: db })).toThrow(/^LEDGERLINE_COMMAND_KEY: not set/);
  expect(() => loadWorkerConfig({ LEDGERLINE_ENV: 'production', ...SERVICES, WORKER_DATABASE_URL: db, LEDGERLINE_COMMAND_KEY: 'dev-command-key-change-me' })).toThrow(
    /^LEDGERLINE_COMMAND_KEY: is the development key/,
  );
  expect(loadWorkerConfig({ LEDGERLINE_COMMAND_KEY_PREVIOUS: 'a, b' }).commandKey).toEqual({ current: 'dev-command-key-change-me', previous: ['a', 'b'] });
});

test("production refuses unset KAFKA_BROKERS and REDIS_URL (the defaults are the local stack's)", () => {
  const db = 'postgres://ledgerline_worker:from-the-vault@db:6432/ledgerline?sslmode=verify-full';
  const env = { LEDGERLINE_ENV: 'production', WORKER_DATABASE_URL: db, LEDGERLINE_COMMAND_KEY: COMMAND_KEY };
  expect(() => loadWorkerConfig(env)).toThrow(/^KAFKA_BROKERS: not set; production needs your own[^\n]*\nREDIS_URL: not set/);
  expect(() => loadWorkerConfig({ ...env, KAFKA_BROKERS: 'kafka-1.internal:9092' })).toThrow(/^REDIS_URL: not set/);
  expect(loadWorkerConfig({ ...env, ...SERVICES }).redisUrl).toBe('rediss://cache.internal:6380');
});

test('development (no env) connects as ledgerline_worker', () => {
  expect(loadWorkerConfig({}).databaseUrl).toMatch(/^postgres:\/\/ledgerline_worker:/);
});

test('Kafka SASL: needs its user; production refuses it without TLS', () => {
  const db = 'postgres://ledgerline_worker:from-the-vault@db:6432/ledgerline?sslmode=verify-full';
  const key = { LEDGERLINE_COMMAND_KEY: COMMAND_KEY };
  expect(() => loadWorkerConfig({ KAFKA_SASL_MECHANISM: 'scram-sha-512' })).toThrow(/^KAFKA_SASL_USERNAME: KAFKA_SASL_MECHANISM needs/);
  // Credentials without a mechanism were ignored: the worker connected unauthenticated (an outside review).
  expect(() => loadWorkerConfig({ KAFKA_SASL_USERNAME: 'worker', KAFKA_SASL_PASSWORD: 'pw' })).toThrow(/^KAFKA_SASL_MECHANISM: KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD need KAFKA_SASL_MECHANISM/);
  expect(() => loadWorkerConfig({ KAFKA_SASL_PASSWORD: 'pw' })).toThrow(/^KAFKA_SASL_MECHANISM: /);
  const sasl = { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'ledgerline-worker', KAFKA_SASL_PASSWORD: 'pw' };
  expect(() => loadWorkerConfig({ LEDGERLINE_ENV: 'production', ...SERVICES, KAFKA_SSL: 'false', WORKER_DATABASE_URL: db, ...key, ...sasl })).toThrow(/^KAFKA_SSL: SASL without TLS/);
  const config = loadWorkerConfig({ LEDGERLINE_ENV: 'production', ...SERVICES, WORKER_DATABASE_URL: db, KAFKA_SSL: 'true', ...key, ...sasl });
  expect(config.kafkaSecurity).toEqual({ ssl: true, sslCaFile: null, sasl: { mechanism: 'scram-sha-512', username: 'ledgerline-worker', password: 'pw' } });
  // A CA file alone turns TLS on; SASL over it was refused as "without TLS" (an outside review).
  const { KAFKA_SSL: _ssl, ...servicesWithoutSsl } = SERVICES;
  const overCaFile = loadWorkerConfig({ LEDGERLINE_ENV: 'production', ...servicesWithoutSsl, WORKER_DATABASE_URL: db, KAFKA_SSL_CA_FILE: '/etc/ca.pem', ...key, ...sasl });
  expect(overCaFile.kafkaSecurity).toEqual({ ssl: true, sslCaFile: '/etc/ca.pem', sasl: { mechanism: 'scram-sha-512', username: 'ledgerline-worker', password: 'pw' } });
});

describe('tunables passed to the packages', () => {
  test('unset, they are the values the packages fall back to', () => {
    const config = loadWorkerConfig({});
    expect(config.consumerGroup).toEqual(CONSUMER_GROUP_DEFAULTS);
    expect(config.kafkaClient).toEqual(KAFKA_CLIENT_DEFAULTS);
    expect(config.pgIdleTimeoutMs).toBe(POOL_IDLE_TIMEOUT_MS_DEFAULT);
    expect(config.redis).toEqual({
      commandTimeoutMs: REDIS_COMMAND_TIMEOUT_MS_DEFAULT,
      breakerOpenMs: REDIS_BREAKER_OPEN_MS_DEFAULT,
      connectTimeoutMs: REDIS_CONNECT_TIMEOUT_MS_DEFAULT,
      reconnectDelayMsMax: REDIS_RECONNECT_DELAY_MS_MAX_DEFAULT,
    });
    expect(config.writeRetryDelay).toEqual({ firstMs: 100, maxMs: 5_000 });
    // Every statement has a deadline by default (a dead connection must not hold a partition).
    expect(config.writeTimeoutMs).toBe(10_000);
    expect(config.queryTimeoutMs).toBe(10_000);
    expect(config.openTransactionUnreadyMs).toBe(30_000);
  });

  test.each([
    ['WORKER_KAFKA_SESSION_TIMEOUT_MS', '2999', /must be >= 3000/],
    ['WORKER_KAFKA_SESSION_TIMEOUT_MS', '300001', /must be <= 300000/],
    ['WORKER_KAFKA_HEARTBEAT_INTERVAL_MS', '99', /must be >= 100/],
    ['WORKER_KAFKA_REBALANCE_TIMEOUT_MS', '999', /must be >= 1000/],
    ['WORKER_KAFKA_METADATA_MAX_AGE_MS', '600001', /must be <= 600000/],
    ['WORKER_CONSUMER_RESTART_DELAY_MS', '9', /must be >= 10/],
    ['WORKER_CONSUMER_RETRIES', '101', /must be <= 100/],
    ['WORKER_WRITE_RETRY_DELAY_FIRST_MS', '0', /must be >= 1/],
    ['WORKER_PG_IDLE_TIMEOUT_MS', '-1', /must be >= 0/],
    ['WORKER_OPEN_TRANSACTION_UNREADY_MS', '999', /must be >= 1000/],
    ['WORKER_OPEN_TRANSACTION_UNREADY_MS', '3600001', /must be <= 3600000/],
    ['WORKER_QUERY_TIMEOUT_MS', '0', /must be >= 6000/],
    ['WORKER_WRITE_TIMEOUT_MS', '5000', /must be >= 6000/],
    ['WORKER_REDIS_COMMAND_TIMEOUT_MS', '9', /must be >= 10/],
    ['WORKER_REDIS_RECONNECT_DELAY_MAX_MS', '60001', /must be <= 60000/],
    ['KAFKA_REQUEST_TIMEOUT_MS', '99', /must be >= 100/],
    ['KAFKA_RETRIES', '1.5', /must be an integer/],
  ])('%s=%s is refused, naming the variable', (name, value, why) => {
    expect(() => loadWorkerConfig({ [name]: value })).toThrow(new RegExp(`${name}="${value.replace('.', '\\.')}": ${why.source}`));
  });

  test('set, they reach the packages; the pairs that must be ordered are checked', () => {
    const config = loadWorkerConfig({
      WORKER_KAFKA_SESSION_TIMEOUT_MS: '30000',
      WORKER_KAFKA_HEARTBEAT_INTERVAL_MS: '3000',
      WORKER_CONSUMER_RETRIES: '0',
      KAFKA_RETRY_DELAY_MAX_MS: '10000',
    });
    expect(config.consumerGroup).toMatchObject({ sessionTimeoutMs: 30_000, heartbeatIntervalMs: 3_000, retry: { retries: 0, delayFirstMs: 200, delayMaxMs: 5_000 } });
    expect(config.kafkaClient.retry).toEqual({ retries: 8, delayFirstMs: 100, delayMaxMs: 10_000 });
    expect(() => loadWorkerConfig({ WORKER_KAFKA_HEARTBEAT_INTERVAL_MS: '4000' })).toThrow(/^WORKER_KAFKA_HEARTBEAT_INTERVAL_MS=4000 must be at most a third of WORKER_KAFKA_SESSION_TIMEOUT_MS=10000/);
    expect(() => loadWorkerConfig({ WORKER_WRITE_RETRY_DELAY_FIRST_MS: '6000' })).toThrow(/^WORKER_WRITE_RETRY_DELAY_FIRST_MS=6000 must be at most WORKER_WRITE_RETRY_DELAY_MAX_MS=5000/);
    expect(() => loadWorkerConfig({ KAFKA_RETRY_DELAY_FIRST_MS: '3000' })).toThrow(/^KAFKA_RETRY_DELAY_FIRST_MS: 3000 is more than KAFKA_RETRY_DELAY_MAX_MS=2000/);
    // Holds are released within 5 s of expires_at: the scan's interval and the grace together stay within 4 s.
    expect(loadWorkerConfig({}).holdExpiryGraceMs).toBe(1_000);
    expect(loadWorkerConfig({ WORKER_HOLD_EXPIRY_SCAN_MS: '1000', WORKER_HOLD_EXPIRY_GRACE_MS: '3000' }).holdExpiryGraceMs).toBe(3_000);
    // A scan interval set before the grace existed still starts: the unset grace yields to it.
    expect(loadWorkerConfig({ WORKER_HOLD_EXPIRY_SCAN_MS: '3500' }).holdExpiryGraceMs).toBe(500);
    expect(loadWorkerConfig({ WORKER_HOLD_EXPIRY_SCAN_MS: '4000' }).holdExpiryGraceMs).toBe(0);
    expect(() => loadWorkerConfig({ WORKER_HOLD_EXPIRY_SCAN_MS: '3500', WORKER_HOLD_EXPIRY_GRACE_MS: '1000' })).toThrow(/must be at most 4000/);
    expect(() => loadWorkerConfig({ WORKER_HOLD_EXPIRY_SCAN_MS: '2000', WORKER_HOLD_EXPIRY_GRACE_MS: '2500' })).toThrow(
      /^WORKER_HOLD_EXPIRY_SCAN_MS=2000 plus WORKER_HOLD_EXPIRY_GRACE_MS=2500 must be at most 4000/,
    );
  });
});

test('production refuses the test-only fault switch, open ops networks and the owner role; a bad delay pair is one line', () => {
  const prod = { LEDGERLINE_ENV: 'production', WORKER_DATABASE_URL: 'postgres://ledgerline_worker:from-the-vault@db:6432/ledgerline?sslmode=verify-full', LEDGERLINE_COMMAND_KEY: COMMAND_KEY, ...SERVICES };
  expect(() => loadWorkerConfig({ ...prod, FAULT_INJECT: 'crash-after-commit' })).toThrow(/^FAULT_INJECT: crash-after-commit is a test switch/);
  expect(() => loadWorkerConfig({ ...prod, WORKER_OPS_NETWORKS: '0.0.0.0/0' })).toThrow(/^WORKER_OPS_NETWORKS: 0\.0\.0\.0\/0 opens/);
  expect(() => loadWorkerConfig({ ...prod, WORKER_DATABASE_URL: 'postgres://ledgerline_owner:from-the-vault@db:6432/ledgerline?sslmode=verify-full' })).toThrow(/^WORKER_DATABASE_URL: logs in as ledgerline_owner/);
  expect(() => loadWorkerConfig({ ...prod, WORKER_DATABASE_URL: 'postgres://ledgerline_worker:from-the-vault@db:6432/ledgerline' })).toThrow(
    /^WORKER_DATABASE_URL: connects to db without TLS/,
  );
  expect(() => loadWorkerConfig({ ...prod, REDIS_URL: 'redis://cache.internal:6379' })).toThrow(/^REDIS_URL: connects to cache\.internal without TLS/);
  // Spans carry account and transfer ids in their paths (an outside security review).
  expect(() => loadWorkerConfig({ ...prod, OTEL_TRACING: 'on', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel.internal:4318' })).toThrow(/^OTEL_EXPORTER_OTLP_ENDPOINT: sends spans .* to otel\.internal without TLS/);
  expect(loadWorkerConfig({ ...prod, OTEL_TRACING: 'on', OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.internal:4318' }).tracing.enabled).toBe(true);
  expect(() => loadWorkerConfig({ WORKER_OUTBOX_SWEEP_AGE_MS: '100' })).toThrow(ConfigError);
  expect(() => loadWorkerConfig({ WORKER_HOLD_EXPIRY_SCAN_MS: '' })).toThrow(/WORKER_HOLD_EXPIRY_SCAN_MS="": is empty/);
  // The other test switch: no hold would ever expire (an outside review). Outside production it is taken (tests use it).
  expect(() => loadWorkerConfig({ ...prod, WORKER_HOLD_EXPIRY_SCAN_MS: '0' })).toThrow(/^WORKER_HOLD_EXPIRY_SCAN_MS: 0 turns hold expiry off \(a test switch\)/);
  expect(loadWorkerConfig({ ...prod, WORKER_HOLD_EXPIRY_SCAN_MS: '100' }).holdExpiryScanMs).toBe(100);
  expect(loadWorkerConfig({ LEDGERLINE_ENV: 'test', WORKER_HOLD_EXPIRY_SCAN_MS: '0' }).holdExpiryScanMs).toBe(0);
  // node-pg reads ?ssl=no-verify as TLS without checks, PGSSLMODE notwithstanding.
  expect(() => loadWorkerConfig({ ...prod, PGSSLMODE: 'verify-full', WORKER_DATABASE_URL: prod.WORKER_DATABASE_URL.replace('sslmode=verify-full', 'ssl=no-verify') })).toThrow(
    /^WORKER_DATABASE_URL: connects to db over TLS without checking its certificate or its host name \(ssl=no-verify\)/,
  );
  expect(loadWorkerConfig({ ...prod }).databaseUrl).toMatch(/from-the-vault/);
});

describe('the names the worker hands to Kafka are refused at load when empty, over-long or not a name, naming the variable', () => {
  const prod = { LEDGERLINE_ENV: 'production', WORKER_DATABASE_URL: 'postgres://ledgerline_worker:from-the-vault@db:6432/ledgerline?sslmode=verify-full', LEDGERLINE_COMMAND_KEY: COMMAND_KEY, ...SERVICES };
  /** The message loading `env` fails with ('' when it loads). */
  const refusal = (env: NodeJS.ProcessEnv) => {
    try {
      loadWorkerConfig(env);
      return '';
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
  };

  // KAFKA_GROUP_ID='' reached kafkajs, which stopped the worker with "Consumer groupId must be
  // a non-empty string", naming no variable; WORKER_ID='' named the worker ''.
  test.each([
    ['KAFKA_GROUP_ID', '""', '', 'is empty or blank: unset it to use the default'],
    ['KAFKA_GROUP_ID', 'two spaces', '  ', 'is empty or blank: unset it to use the default'],
    ['KAFKA_GROUP_ID', 'a leading space', ' ledger.partition-workers', 'starts or ends with white space'],
    ['KAFKA_GROUP_ID', '250 characters', 'g'.repeat(250), 'must be at most 249 characters'],
    ['WORKER_ID', '""', '', 'is empty or blank: unset it to use the default'],
    ['WORKER_ID', '250 characters', 'w'.repeat(250), 'must be at most 249 characters'],
    ['WORKER_ID', 'an escape sequence', 'worker-1\u001b[2J', 'must not contain a control or invisible format character'],
    ['WORKER_ID', 'a right-to-left override', 'worker\u202e1', 'must not contain a control or invisible format character'],
  ])('%s set to %s is refused, in development and in production', (name, _shown, value, why) => {
    for (const env of [{}, prod]) expect(refusal({ ...env, [name]: value })).toBe(`invalid configuration:\n  ${name}=${JSON.stringify(value)}: ${why}`);
  });

  test('unset: the defaults; set: as given, up to 249 characters', () => {
    expect(loadWorkerConfig({})).toMatchObject({ groupId: 'ledger.partition-workers', workerId: `worker-${process.pid}` });
    expect(loadWorkerConfig({ KAFKA_TOPIC_PREFIX: 'blue' }).groupId).toBe('blue.partition-workers');
    const config = loadWorkerConfig({ ...prod, KAFKA_GROUP_ID: 'g'.repeat(249), WORKER_ID: 'wörker-3' });
    expect([config.groupId, config.workerId]).toEqual(['g'.repeat(249), 'wörker-3']);
  });
});

test('LEDGERLINE_ENV unset while reaching or listening beyond this machine is refused: it would trust seals made with the public development command key', () => {
  expect(() => loadWorkerConfig({ ...SERVICES })).toThrow(new ConfigError(
    'LEDGERLINE_ENV: not set, so the development defaults apply (a public JWT secret and command key), yet REDIS_URL reaches cache.internal, beyond this machine. ' +
      'Set LEDGERLINE_ENV=production for a deployment, or LEDGERLINE_ENV=development to run the development defaults on a network deliberately',
  ));
  expect(() => loadWorkerConfig({ WORKER_OPS_HOST: '0.0.0.0' })).toThrow(/yet WORKER_OPS_HOST listens on 0\.0\.0\.0, beyond this machine/);
  expect(() => loadWorkerConfig({ WORKER_DATABASE_URL: 'postgres://u:p@10.0.0.5:6432/ledgerline' })).toThrow(/yet WORKER_DATABASE_URL reaches 10\.0\.0\.5,/);
  expect(loadWorkerConfig({ LEDGERLINE_ENV: 'development', WORKER_OPS_HOST: '0.0.0.0', ...SERVICES }).commandKey.current).toBe('dev-command-key-change-me');
  expect(() => loadWorkerConfig({})).not.toThrow();
  // All on loopback, but NODE_ENV says deployment (an outside review): refused.
  expect(() => loadWorkerConfig({ NODE_ENV: 'production' })).toThrow(/^LEDGERLINE_ENV: not set, .* yet NODE_ENV="production" says this is a deployment/);
});
