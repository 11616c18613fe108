// Proves ledgerctl refuses the local credentials and a weak JWT_SECRET in production, and
// uses the owner only where the routing changes.
import { ConfigError, UnsafeConfigError } from '@ledgerline/config';
import { loadCtlConfig } from '../src/config';
import { MOVE_DEFAULTS } from '../src/rebalance/move-buckets';

const OWNER = 'postgres://ledgerline_owner:vault-1@db:6432/ledgerline?sslmode=verify-full';
const READ = 'postgres://ledgerline_api:vault-2@db:6432/ledgerline?sslmode=verify-full';
/** Where production's Kafka and Redis are: set, since their defaults are the local stack's. */
const SERVICES = { KAFKA_BROKERS: 'kafka-1.internal:9092', REDIS_URL: 'rediss://cache.internal:6380', KAFKA_SSL: 'true' };

test('production refuses each local credential, the local stack\'s addresses and a weak JWT_SECRET, one line each', () => {
  try {
    loadCtlConfig({ LEDGERLINE_ENV: 'production', JWT_SECRET: 'dev-secret-change-me' });
    throw new Error('accepted');
  } catch (error) {
    expect(error).toBeInstanceOf(UnsafeConfigError);
    expect((error as UnsafeConfigError).problems).toEqual([
      expect.stringMatching(/^OWNER_DATABASE_URL: uses the local stack's default credentials/),
      expect.stringMatching(/^API_DATABASE_URL: uses the local stack's default credentials/),
      expect.stringMatching(/^KAFKA_BROKERS: not set; production needs your own/),
      expect.stringMatching(/^REDIS_URL: not set; production needs your own/),
      expect.stringMatching(/^JWT_SECRET: is the development secret/),
      // Kafka without TLS, even through the default loopback bootstrap (it leads to the brokers the cluster advertises).
      expect.stringMatching(/^KAFKA_SSL: the bootstrap brokers \(127\.0\.0\.1\) are on this machine/),
    ]);
  }
});

test('production refuses the owner\'s and the reader\'s Postgres in the clear, as the apps do', () => {
  try {
    loadCtlConfig({ LEDGERLINE_ENV: 'production', OWNER_DATABASE_URL: OWNER.replace('verify-full', 'disable'), API_DATABASE_URL: READ, ...SERVICES, KAFKA_SSL: 'false' });
    throw new Error('accepted');
  } catch (error) {
    expect((error as UnsafeConfigError).problems).toEqual([
      expect.stringMatching(/^OWNER_DATABASE_URL: connects to db without TLS/),
      expect.stringMatching(/^KAFKA_SSL: the brokers \(kafka-1\.internal\) are reached without TLS/),
    ]);
  }
});

test("production refuses the URL's ssl=no-verify and ssl= as node-pg reads them, and NODE_TLS_REJECT_UNAUTHORIZED=0 (an outside review)", () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadCtlConfig({ LEDGERLINE_ENV: 'production', OWNER_DATABASE_URL: OWNER, API_DATABASE_URL: READ, ...SERVICES, ...env });
      return [];
    } catch (error) {
      return [...(error as UnsafeConfigError).problems];
    }
  };
  expect(problems({ OWNER_DATABASE_URL: OWNER.replace('sslmode=verify-full', 'ssl=no-verify'), API_DATABASE_URL: READ.replace('sslmode=verify-full', 'ssl=') })).toEqual([
    expect.stringMatching(/^OWNER_DATABASE_URL: connects to db over TLS without checking its certificate or its host name \(ssl=no-verify\)/),
    expect.stringMatching(/^API_DATABASE_URL: connects to db without TLS \(an empty ssl= is no TLS to node-pg\)/),
  ]);
  expect(problems({ NODE_TLS_REJECT_UNAUTHORIZED: '0' })).toEqual([expect.stringMatching(/^NODE_TLS_REJECT_UNAUTHORIZED: is "0"/)]);
});

test('production refuses topics a single broker could lose: the replicas ledgerctl migrate creates', () => {
  expect(() => loadCtlConfig({ LEDGERLINE_ENV: 'production', OWNER_DATABASE_URL: OWNER, API_DATABASE_URL: READ, ...SERVICES, KAFKA_REPLICATION_FACTOR: '1' })).toThrow(
    expect.objectContaining({ problems: [expect.stringMatching(/^KAFKA_REPLICATION_FACTOR: is 1, so one broker acknowledges a command alone/)] }),
  );
  expect(loadCtlConfig({ LEDGERLINE_ENV: 'production', OWNER_DATABASE_URL: OWNER, API_DATABASE_URL: READ, ...SERVICES }).kafkaDurability).toMatchObject({ replicationFactor: 3, minInsyncReplicas: 2 });
});

test('production without JWT_SECRET has nothing to sign tokens with; development has the dev secret', () => {
  expect(loadCtlConfig({ LEDGERLINE_ENV: 'production', OWNER_DATABASE_URL: OWNER, API_DATABASE_URL: READ, ...SERVICES }).jwtSecret).toBeNull();
  expect(loadCtlConfig({}).jwtSecret).toBe('dev-secret-change-me');
});

test('owner for migrate and moves, the API role for reads; topic durability by environment', () => {
  const config = loadCtlConfig({ LEDGERLINE_ENV: 'production', OWNER_DATABASE_URL: OWNER, API_DATABASE_URL: READ, ...SERVICES, KAFKA_RETENTION_MS: '86400000' });
  expect([config.ownerDatabaseUrl, config.readDatabaseUrl]).toEqual([OWNER, READ]);
  expect(config.kafkaDurability).toEqual({ replicationFactor: 3, minInsyncReplicas: 2, retentionMs: 86_400_000, deadLetterRetentionMs: 30 * 86_400_000 });
  expect(loadCtlConfig({}).kafkaDurability).toMatchObject({ replicationFactor: 1, minInsyncReplicas: 1 });
});

test('bucket-move timing: the defaults of MOVE_DEFAULTS, bounds and order checked', () => {
  expect(loadCtlConfig({}).move).toEqual(MOVE_DEFAULTS);
  expect(loadCtlConfig({ CTL_MOVE_ATTEMPTS_MAX: '3' }).move.attemptsMax).toBe(3);
  expect(() => loadCtlConfig({ CTL_MOVE_ATTEMPTS_MAX: '0' })).toThrow(/CTL_MOVE_ATTEMPTS_MAX="0": must be >= 1/);
  expect(() => loadCtlConfig({ CTL_MOVE_FENCE_WAIT_MS: '999' })).toThrow(/CTL_MOVE_FENCE_WAIT_MS="999": must be >= 1000/);
  expect(() => loadCtlConfig({ CTL_MOVE_POLL_MS: '10001' })).toThrow(/CTL_MOVE_POLL_MS="10001": must be <= 10000/);
  expect(() => loadCtlConfig({ CTL_MOVE_POLL_MS: '5000', CTL_MOVE_FENCE_WAIT_MS: '4000' })).toThrow(/^CTL_MOVE_POLL_MS: 5000 is longer than the waits it polls/);
  expect(loadCtlConfig({}).kafkaClient).toEqual({ connectionTimeoutMs: 3_000, requestTimeoutMs: 10_000, retry: { retries: 8, delayFirstMs: 100, delayMaxMs: 2_000 } });
  expect(() => loadCtlConfig({ CTL_REDIS_READY_WAIT_MS: '99' })).toThrow(/CTL_REDIS_READY_WAIT_MS="99": must be >= 100/);
});

test("LL_PROFILE naming another stack than dev, without its addresses, is refused: the dev stack's would be used", () => {
  const filled = { KAFKA_BROKERS: '127.0.0.1:31092', OWNER_DATABASE_URL: 'postgres://o:p@127.0.0.1:31532/ledgerline', API_DATABASE_URL: 'postgres://a:p@127.0.0.1:31532/ledgerline', REDIS_URL: 'redis://127.0.0.1:31379' };
  expect(() => loadCtlConfig({ LL_PROFILE: 'ws1' })).toThrow(
    /^LL_PROFILE="ws1" names a local stack, but KAFKA_BROKERS, OWNER_DATABASE_URL, API_DATABASE_URL, REDIS_URL are not set, so the dev stack's addresses would be used/,
  );
  expect(() => loadCtlConfig({ LL_PROFILE: 'ws1', ...filled, REDIS_URL: ' ' })).toThrow(/but REDIS_URL is not set/);
  expect(loadCtlConfig({ LL_PROFILE: 'ws1', ...filled }).kafkaBrokers).toEqual(['127.0.0.1:31092']);
  // dev's own addresses are the defaults; no profile, no check.
  expect(loadCtlConfig({ LL_PROFILE: 'dev' }).kafkaBrokers).toEqual(['127.0.0.1:19092']);
  expect(loadCtlConfig({}).kafkaBrokers).toEqual(['127.0.0.1:19092']);
  // A command that connects to nothing (token) is not asked for addresses.
  expect(loadCtlConfig({ LL_PROFILE: 'ws1' }, { connects: false }).jwtSecret).toBe('dev-secret-change-me');
});

test('LEDGERLINE_ENV unset while reaching another host is refused (it would sign tokens with the public development secret there)', () => {
  expect(() => loadCtlConfig({ OWNER_DATABASE_URL: OWNER })).toThrow(/^LEDGERLINE_ENV: not set, .* yet OWNER_DATABASE_URL reaches db, beyond this machine/);
  // All on loopback, but NODE_ENV says deployment (the image's ledgerctl; an outside review): refused.
  expect(() => loadCtlConfig({ NODE_ENV: 'production' })).toThrow(/^LEDGERLINE_ENV: not set, .* yet NODE_ENV="production" says this is a deployment/);
  expect(() => loadCtlConfig({ KAFKA_BROKERS: 'kafka-1.internal:9092' })).toThrow(/yet KAFKA_BROKERS reaches kafka-1\.internal,/);
  expect(() => loadCtlConfig({ LEDGERLINE_ENV: 'development', OWNER_DATABASE_URL: OWNER, API_DATABASE_URL: READ })).not.toThrow();
  expect(() => loadCtlConfig({})).not.toThrow();
});

test('KAFKA_GROUP_ID empty, blank or over-long is refused at load, naming it; unset is the workers\' default group', () => {
  // '' reached kafkajs (describeGroups) and failed there, naming no variable.
  for (const [value, why] of [
    ['', 'is empty or blank: unset it to use the default'],
    [' ', 'is empty or blank: unset it to use the default'],
    ['g'.repeat(250), 'must be at most 249 characters'],
  ] as const) {
    expect(() => loadCtlConfig({ KAFKA_GROUP_ID: value })).toThrow(new ConfigError(`invalid configuration:\n  KAFKA_GROUP_ID=${JSON.stringify(value)}: ${why}`));
  }
  expect(loadCtlConfig({}).groupId).toBe('ledger.partition-workers');
  expect(loadCtlConfig({ KAFKA_GROUP_ID: 'blue.workers' }).groupId).toBe('blue.workers');
});

// An outside upgrade review: an env file's empty JWT_ISSUER= stopped `migrate`, which signs
// nothing; only `token` judges them (token.test: refused there, naming the variable).
test('JWT_ISSUER and JWT_AUDIENCE are judged when a token is signed, not at load', () => {
  const config = loadCtlConfig({ JWT_ISSUER: '', JWT_AUDIENCE: ' ' });
  expect(() => config.jwtIssuer()).toThrow(/^JWT_ISSUER: is blank/);
  expect(() => config.jwtAudience()).toThrow(/^JWT_AUDIENCE: is blank/);
  expect(loadCtlConfig({ JWT_ISSUER: 'https://idp.example/' }).jwtIssuer()).toBe('https://idp.example/');
  expect(loadCtlConfig({}).jwtAudience()).toBeNull();
});

test('KAFKA_TOPIC_PREFIX that makes no Kafka topic name is refused at load, naming it', () => {
  // 'ledger prod' passed and `ledgerctl migrate` ran the migrations, then failed with
  // kafkajs's "Topic creation errors", naming neither the variable nor the topic.
  const charsMax = 249 - '.partition-workers'.length;
  for (const [value, why] of [
    ['ledger prod', "must be ASCII letters, digits, '.', '_' and '-' only (a Kafka topic name)"],
    ['ledger/blue', "must be ASCII letters, digits, '.', '_' and '-' only (a Kafka topic name)"],
    ['lédger', "must be ASCII letters, digits, '.', '_' and '-' only (a Kafka topic name)"],
    ['', 'must not be empty'],
    ['p'.repeat(charsMax + 1), `must be at most ${charsMax} characters (its topics and consumer group stay within Kafka's 249)`],
  ] as const) {
    expect(() => loadCtlConfig({ KAFKA_TOPIC_PREFIX: value })).toThrow(new ConfigError(`invalid configuration:\n  KAFKA_TOPIC_PREFIX=${JSON.stringify(value)}: ${why}`));
  }
  const longest = 'p'.repeat(charsMax);
  expect(loadCtlConfig({ KAFKA_TOPIC_PREFIX: longest })).toMatchObject({ topicPrefix: longest, groupId: `${longest}.partition-workers` });
  expect(loadCtlConfig({ KAFKA_TOPIC_PREFIX: 'blue-2.ledger_x' }).topicPrefix).toBe('blue-2.ledger_x');
});
