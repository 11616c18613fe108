// Proves the API refuses to start in production with each unsafe setting, one line naming
// the variable, and that development and test still start with no env at all.
import { REDIS_BREAKER_OPEN_MS_DEFAULT } from '@ledgerline/redis';
import { ConfigError, UnsafeConfigError, describeStartFailure } from '@ledgerline/config';
import { loadApiConfig } from '../src/config';

const STRONG = 'Vq3xR9tLw2mZ8pKc5nYb7hJd4sFg6aQe1uTo0iWkXyEzCvBn'; // 48 varied characters: a secret that looks random
const COMMAND_KEY = 'p7Gk2LxQ9rTz4mWc8nVb1sHd6fJy3aKe5uRo0iPqYtZwXmNc';
const DB = 'postgres://ledgerline_api:s3cret-from-the-vault@db.internal:6432/ledgerline?sslmode=verify-full';
/** Where production's Kafka and Redis are: set, since their defaults are the local stack's. */
const SERVICES = { KAFKA_BROKERS: 'kafka-1.internal:9092,kafka-2.internal:9092', REDIS_URL: 'rediss://cache.internal:6380', KAFKA_SSL: 'true' };
const prod = (env: Record<string, string>) => ({ LEDGERLINE_ENV: 'production', API_DATABASE_URL: DB, JWT_SECRET: STRONG, LEDGERLINE_COMMAND_KEY: COMMAND_KEY, ...SERVICES, ...env });

function refusal(env: Record<string, string | undefined>): string[] {
  try {
    loadApiConfig(env as NodeJS.ProcessEnv);
  } catch (error) {
    if (error instanceof UnsafeConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('LEDGERLINE_ENV=production refuses', () => {
  test('no env at all: the local credentials, then JWT_SECRET on the last line', () => {
    const problems = refusal({ LEDGERLINE_ENV: 'production' });
    expect(problems[0]).toMatch(/^API_DATABASE_URL: uses the local stack's default credentials/);
    expect(problems.at(-1)).toMatch(/^JWT_SECRET: not set, and JWT_JWKS_URL neither/);
    let printed = '';
    try {
      loadApiConfig({ LEDGERLINE_ENV: 'production' });
    } catch (error) {
      printed = describeStartFailure('ingest-api', error);
    }
    expect(printed.trimEnd().split('\n').at(-1)).toMatch(/JWT_SECRET/);
  });

  test('the development secret', () => {
    expect(refusal(prod({ JWT_SECRET: 'dev-secret-change-me' }))).toEqual([expect.stringMatching(/^JWT_SECRET: is the development secret/)]);
  });

  // Regression (an operator run): the same random value as JWT_SECRET and LEDGERLINE_COMMAND_KEY
  // passed every check, and the workers, which hold the command key and no token key, could
  // then sign admin tokens.
  test('a JWT secret that is also the command key, current or previous', () => {
    expect(refusal(prod({ LEDGERLINE_COMMAND_KEY: STRONG }))).toEqual([expect.stringMatching(/^JWT_SECRET: is also LEDGERLINE_COMMAND_KEY/)]);
    expect(refusal(prod({ LEDGERLINE_COMMAND_KEY_PREVIOUS: STRONG }))).toEqual([expect.stringMatching(/^JWT_SECRET: is also LEDGERLINE_COMMAND_KEY/)]);
    expect(() => loadApiConfig(prod({}))).not.toThrow();
  });

  test('a secret shorter than 32 bytes', () => {
    expect(refusal(prod({ JWT_SECRET: 'short-but-not-dev' }))).toEqual([expect.stringMatching(/^JWT_SECRET: is 17 bytes; production needs at least 32/)]);
  });

  test('neither a secret nor a JWKS URL', () => {
    expect(refusal({ LEDGERLINE_ENV: 'production', API_DATABASE_URL: DB, LEDGERLINE_COMMAND_KEY: COMMAND_KEY, ...SERVICES })).toEqual([
      expect.stringMatching(/^JWT_SECRET: not set, and JWT_JWKS_URL neither/),
    ]);
  });

  test('JWT_JWKS_URL without JWT_ISSUER and JWT_AUDIENCE', () => {
    const problems = refusal({ LEDGERLINE_ENV: 'production', API_DATABASE_URL: DB, LEDGERLINE_COMMAND_KEY: COMMAND_KEY, ...SERVICES, JWT_JWKS_URL: 'https://idp.example/jwks.json' });
    expect(problems).toEqual([expect.stringMatching(/^JWT_ISSUER: required with JWT_JWKS_URL/), expect.stringMatching(/^JWT_AUDIENCE: required with JWT_JWKS_URL/)]);
  });

  // Regression (an outside review): blank ones started, and every token then failed the claim.
  test('a blank JWT_ISSUER or JWT_AUDIENCE, or one with white space around it, in every environment, naming the variable', () => {
    const jwks = { JWT_JWKS_URL: 'https://idp.example/jwks.json', JWT_ISSUER: 'https://idp.example/', JWT_AUDIENCE: 'ledgerline' };
    expect(() => loadApiConfig({ JWT_ISSUER: ' ' })).toThrow(new ConfigError("JWT_ISSUER: is blank; set the value every token's iss must equal, or leave it unset"));
    // Empty too, with the same words as ledgerctl's (an outside review: zod's own message here,
    // while ledgerctl took it as unset and signed tokens without the claim).
    expect(() => loadApiConfig({ JWT_ISSUER: '' })).toThrow(new ConfigError("JWT_ISSUER: is blank; set the value every token's iss must equal, or leave it unset"));
    expect(() => loadApiConfig({ JWT_AUDIENCE: '\t ' })).toThrow(new ConfigError("JWT_AUDIENCE: is blank; set the value every token's aud must equal, or leave it unset"));
    expect(() => loadApiConfig({ JWT_AUDIENCE: 'ledgerline ' })).toThrow(/^JWT_AUDIENCE: starts or ends with white space/);
    // Bounded and printable (a review of the change: any length or an escape sequence was taken).
    expect(() => loadApiConfig({ JWT_ISSUER: 'https://idp.example/\u001b[2J' })).toThrow(/^JWT_ISSUER: must be at most 1024 characters, without control characters/);
    expect(() => loadApiConfig({ JWT_AUDIENCE: 'a'.repeat(1025) })).toThrow(/^JWT_AUDIENCE: must be at most 1024 characters/);
    expect(loadApiConfig({ JWT_AUDIENCE: 'a'.repeat(1024) }).jwt.audience).toHaveLength(1024);
    // In production, listed with every other refusal (a review of the change: it stopped at the first).
    expect(refusal(prod({ ...jwks, JWT_ISSUER: ' ', JWT_AUDIENCE: 'ledgerline ', JWT_SECRET: 'dev-secret-change-me' }))).toEqual([
      "JWT_ISSUER: is blank; set the value every token's iss must equal, or leave it unset",
      expect.stringMatching(/^JWT_AUDIENCE: starts or ends with white space/),
      expect.stringMatching(/^JWT_SECRET: is the development secret/),
    ]);
    expect(loadApiConfig(prod(jwks)).jwt).toMatchObject({ issuer: 'https://idp.example/', audience: 'ledgerline' });
  });

  test('no LEDGERLINE_COMMAND_KEY, the development one, or one shorter than 32 bytes (anyone holding it can seal a deposit)', () => {
    const { LEDGERLINE_COMMAND_KEY: _unset, ...withoutKey } = prod({});
    expect(refusal(withoutKey)).toEqual([expect.stringMatching(/^LEDGERLINE_COMMAND_KEY: not set; production needs a random key of at least 32 bytes/)]);
    expect(refusal(prod({ LEDGERLINE_COMMAND_KEY: 'dev-command-key-change-me' }))).toEqual([expect.stringMatching(/^LEDGERLINE_COMMAND_KEY: is the development key/)]);
    expect(refusal(prod({ LEDGERLINE_COMMAND_KEY: 'short' }))).toEqual([expect.stringMatching(/^LEDGERLINE_COMMAND_KEY: is 5 bytes/)]);
    expect(refusal(prod({ LEDGERLINE_COMMAND_KEY_PREVIOUS: 'old-key-'.repeat(5) + ',dev-command-key-change-me' }))).toEqual([
      expect.stringMatching(/^LEDGERLINE_COMMAND_KEY_PREVIOUS: is the development key \(in the list\)/),
    ]);
    expect(refusal(prod({ LEDGERLINE_COMMAND_KEY_PREVIOUS: 'old' }))).toEqual([expect.stringMatching(/^LEDGERLINE_COMMAND_KEY_PREVIOUS: is 3 bytes/)]);
  });

  test("KAFKA_BROKERS and REDIS_URL unset: the local stack's addresses are not a production default", () => {
    const { KAFKA_BROKERS: _k, REDIS_URL: _r, ...withoutServices } = prod({});
    expect(refusal(withoutServices)).toEqual([
      expect.stringMatching(/^KAFKA_BROKERS: not set; production needs your own \(the default, 127\.0\.0\.1:19092, is the local stack\)/),
      expect.stringMatching(/^REDIS_URL: not set; production needs your own/),
    ]);
    expect(refusal(prod({ REDIS_URL: '  ' }))).toEqual([expect.stringMatching(/^REDIS_URL: not set/)]);
    expect(loadApiConfig(prod({})).kafkaBrokers).toEqual(['kafka-1.internal:9092', 'kafka-2.internal:9092']);
  });

  test.each(['ledgerline:ledgerline', 'ledgerline_api:ledgerline_api', 'ledgerline_owner:ledgerline_owner'])('the local Postgres credentials %s', (credentials) => {
    expect(refusal(prod({ API_DATABASE_URL: `postgres://${credentials}@db.internal:6432/ledgerline?sslmode=verify-full` }))).toEqual([
      expect.stringMatching(/^API_DATABASE_URL: uses the local stack's default credentials/),
    ]);
  });
});

describe('LEDGERLINE_ENV=production refuses what slipped past the first checks (an outside review)', () => {
  test.each([
    ['32 times the same character', 'a'.repeat(32), /^JWT_SECRET: does not look random/],
    ['a short phrase repeated', 'abcd'.repeat(12), /^JWT_SECRET: does not look random/],
    ['the development secret padded to length', `dev-secret-change-me${' '.repeat(12)}`, /^JWT_SECRET: is the development secret/],
    ['a random secret with a trailing space', `${STRONG} `, /^JWT_SECRET: starts or ends with white space/],
  ])('a JWT_SECRET that is %s', (_what, secret, line) => {
    expect(refusal(prod({ JWT_SECRET: secret }))).toEqual([expect.stringMatching(line)]);
  });

  test.each([
    ['KAFKA_REPLICATION_FACTOR=1 (one in sync implied)', { KAFKA_REPLICATION_FACTOR: '1' }, /^KAFKA_REPLICATION_FACTOR: is 1, so one broker acknowledges a command alone/],
    ['KAFKA_MIN_INSYNC_REPLICAS=1 under 3 replicas', { KAFKA_MIN_INSYNC_REPLICAS: '1' }, /^KAFKA_MIN_INSYNC_REPLICAS: is 1, so one broker acknowledges a command alone/],
  ])('a 202 resting on one broker: %s', (_what, env, line) => {
    expect(refusal(prod(env))).toEqual([expect.stringMatching(line)]);
  });

  test('a LEDGERLINE_COMMAND_KEY of 32 spaces', () => {
    expect(refusal(prod({ LEDGERLINE_COMMAND_KEY: ' '.repeat(32) }))).toEqual([expect.stringMatching(/^LEDGERLINE_COMMAND_KEY: starts or ends with white space/)]);
  });

  test("the local credentials given as the URL's query, or through PGPASSWORD", () => {
    expect(refusal(prod({ API_DATABASE_URL: 'postgres://db.internal:6432/ledgerline?user=ledgerline_api&password=ledgerline_api&sslmode=verify-full' }))).toEqual([
      expect.stringMatching(/^API_DATABASE_URL: uses the local stack's default credentials \(ledgerline_api:ledgerline_api\)/),
    ]);
    expect(refusal(prod({ API_DATABASE_URL: 'postgres://ledgerline_api@db.internal:6432/ledgerline?sslmode=verify-full', PGPASSWORD: 'ledgerline_api' }))).toEqual([
      expect.stringMatching(/^API_DATABASE_URL: uses the local stack's default credentials/),
    ]);
  });

  test("the API connecting as the schema's owner", () => {
    expect(refusal(prod({ API_DATABASE_URL: 'postgres://ledgerline_owner:s3cret-from-the-vault@db.internal:6432/ledgerline?sslmode=verify-full' }))).toEqual([
      expect.stringMatching(/^API_DATABASE_URL: logs in as ledgerline_owner, the schema's owner/),
    ]);
  });

  test('operator endpoints opened to every address', () => {
    expect(refusal(prod({ API_OPERATOR_NETWORKS: '10.0.0.0/8,0.0.0.0/0' }))).toEqual([expect.stringMatching(/^API_OPERATOR_NETWORKS: 0\.0\.0\.0\/0 opens the operator endpoints/)]);
    // Every address without a /0: two halves; and most of IPv6.
    expect(refusal(prod({ API_OPERATOR_NETWORKS: '0.0.0.0/1,128.0.0.0/1' }))).toEqual([
      expect.stringMatching(/^API_OPERATOR_NETWORKS: 0\.0\.0\.0\/1, 128\.0\.0\.0\/1 opens the operator endpoints/),
    ]);
    expect(refusal(prod({ API_OPERATOR_NETWORKS: '2000::/3' }))).toEqual([expect.stringMatching(/^API_OPERATOR_NETWORKS: 2000::\/3 opens/)]);
    // The widest private ranges pass.
    expect(loadApiConfig(prod({ API_OPERATOR_NETWORKS: '10.0.0.0/8,fc00::/7,192.168.1.7' })).operatorNetworks.has('10.1.2.3')).toBe(true);
    expect(refusal(prod({ API_OPERATOR_NETWORKS: '::/0' }))).toEqual([expect.stringMatching(/^API_OPERATOR_NETWORKS: ::\/0 opens/)]);
    expect(refusal(prod({ API_OPERATOR_NETWORKS: '10.0.0.0/0,::0/00' }))).toEqual([expect.stringMatching(/^API_OPERATOR_NETWORKS: 10\.0\.0\.0\/0, ::0\/00 opens/)]);
    expect(loadApiConfig(prod({ API_OPERATOR_NETWORKS: '10.0.0.0/8,fd00::/8' })).operatorNetworks.text).toBe('10.0.0.0/8,fd00::/8');
  });

  // A review of docs/security.md against the code: an IPv6 subnet holding the IPv4-mapped
  // range (::ffff:a.b.c.d) passed the IPv6 width check, yet matches IPv4 peers as IPv4.
  test('operator endpoints opened to all of IPv4 through IPv4-mapped IPv6', () => {
    for (const wide of ['::ffff:0:0/96', '::/8', '::ffff:0.0.0.0/97', '::ffff:10.0.0.0/100']) {
      expect(refusal(prod({ API_OPERATOR_NETWORKS: wide }))).toEqual([expect.stringMatching(/^API_OPERATOR_NETWORKS: \S+ opens the operator endpoints/)]);
    }
    // As narrow as an IPv4 /8 passes, and means that /8.
    const mapped = loadApiConfig(prod({ API_OPERATOR_NETWORKS: '::ffff:10.0.0.0/104' })).operatorNetworks;
    expect([mapped.has('10.1.2.3'), mapped.has('11.1.2.3')]).toEqual([true, false]);
    expect(loadApiConfig(prod({ API_OPERATOR_NETWORKS: '::1/128,fd00::/8' })).operatorNetworks.has('10.1.2.3')).toBe(false);
  });
});

describe('numbers, addresses and names are what they say, in every environment', () => {
  test.each([
    ['API_LONG_POLL_MS_MAX', ''],
    ['API_SHUTDOWN_GRACE_MS', ' '],
    ['PORT', ''],
    ['KAFKA_RETRIES', ''],
  ])('%s=%j is refused, not read as 0', (name, value) => {
    expect(() => loadApiConfig({ [name]: value })).toThrow(new RegExp(`${name}="${value}": is empty: unset it to use the default`));
  });

  test.each(['1e3', '0x10', '10abc', '1.5'])('a number written %j is refused', (value) => {
    expect(() => loadApiConfig({ PORT: value })).toThrow(/PORT=.*: must be an integer in decimal digits/);
  });

  test('surrounding blanks are trimmed; the bounds still hold', () => {
    expect(loadApiConfig({ PORT: ' 8081 ' }).port).toBe(8081);
    expect(() => loadApiConfig({ PORT: '70000' })).toThrow(/PORT="70000": must be <= 65535/);
  });

  test("the Redis breaker's open time defaults to the package's, and is bounded", () => {
    expect(loadApiConfig({}).redisBreakerOpenMs).toBe(REDIS_BREAKER_OPEN_MS_DEFAULT);
    expect(loadApiConfig({ API_REDIS_BREAKER_OPEN_MS: '250' }).redisBreakerOpenMs).toBe(250);
    expect(() => loadApiConfig({ API_REDIS_BREAKER_OPEN_MS: '99' })).toThrow(/API_REDIS_BREAKER_OPEN_MS.*must be >= 100/);
  });

  test('REDIS_URL must be a redis:// or rediss:// URL; HOST must not be blank', () => {
    expect(() => loadApiConfig({ REDIS_URL: 'NaN' })).toThrow(/REDIS_URL="NaN": must be a redis:\/\/ or rediss:\/\/ URL/);
    // ioredis turns TLS on only for `rediss://` as written: an upper-case scheme, which URL
    // reads as rediss:, passed production's TLS check and connected in plain text.
    for (const scheme of ['REDISS', 'Rediss', 'REDIS']) {
      expect(() => loadApiConfig({ REDIS_URL: `${scheme}://127.0.0.1:6380` })).toThrow(/REDIS_URL=.*the scheme in lower case/);
    }
    expect(loadApiConfig({ REDIS_URL: 'rediss://127.0.0.1:6380' }).redisUrl).toBe('rediss://127.0.0.1:6380');
    // ioredis reads a URL's query as options: `?tls` (tls "") turned TLS off under rediss://.
    for (const tail of ['/?tls', '/?tls=', '/0?family=6', '?tls=false', '/#x']) {
      expect(() => loadApiConfig({ REDIS_URL: `rediss://127.0.0.1:6380${tail}` })).toThrow(/REDIS_URL=.*without a query or fragment/);
    }
    // The path is the database: ioredis read `/1abc` as 1 and `/ledger` as 0 (an outside review).
    for (const path of ['/1abc', '/ledger', '/-1', '/16', '/01', '/99999999999', '/1/']) {
      expect(() => loadApiConfig({ REDIS_URL: `rediss://127.0.0.1:6380${path}` })).toThrow(/REDIS_URL=.*must name no database or one from 0 to 15 in decimal digits/);
    }
    for (const path of ['', '/', '/0', '/15']) expect(loadApiConfig({ REDIS_URL: `rediss://127.0.0.1:6380${path}` }).redisUrl).toBe(`rediss://127.0.0.1:6380${path}`);
    // A refused URL is shown without its user and password (the message goes to the logs).
    const refused = (() => {
      try {
        loadApiConfig({ REDIS_URL: 'valkey://default:S3cr3t@cache:6379' });
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();
    expect(refused).toMatch(/REDIS_URL="valkey:\/\/\*\*\*@cache:6379": must be/);
    expect(refused).not.toMatch(/S3cr3t/);
    expect(() => loadApiConfig({ REDIS_URL: 'http://cache:6379' })).toThrow(/REDIS_URL/);
    expect(() => loadApiConfig({ HOST: ' ' })).toThrow(/HOST=" ": must not be empty or blank/);
  });
});

describe('LEDGERLINE_ENV=production refuses connections in the clear to another host', () => {
  test('a key set fetched over plain HTTP: anyone on the path could sign tokens (an outside review)', () => {
    const jwks = { JWT_SECRET: undefined, JWT_ISSUER: 'https://idp.example/', JWT_AUDIENCE: 'ledgerline' };
    expect(refusal(prod({ ...jwks, JWT_JWKS_URL: 'http://idp.internal/.well-known/jwks.json' } as unknown as Record<string, string>))).toEqual([
      expect.stringMatching(/^JWT_JWKS_URL: fetches the key set from idp\.internal without TLS; production needs https:\/\//),
    ]);
    expect(loadApiConfig(prod({ ...jwks, JWT_JWKS_URL: 'http://127.0.0.1:8181/jwks.json' } as unknown as Record<string, string>)).jwt.jwksUrl).toBe('http://127.0.0.1:8181/jwks.json');
  });

  test('Postgres without sslmode, redis://, Kafka without KAFKA_SSL: one line each', () => {
    const plain = prod({ API_DATABASE_URL: DB.replace('?sslmode=verify-full', ''), REDIS_URL: 'redis://cache.internal:6379', KAFKA_SSL: 'false' });
    expect(refusal(plain)).toEqual([
      expect.stringMatching(/^API_DATABASE_URL: connects to db\.internal without TLS; production needs sslmode=verify-full/),
      expect.stringMatching(/^REDIS_URL: connects to cache\.internal without TLS; production needs rediss:\/\//),
      expect.stringMatching(/^KAFKA_SSL: the brokers \(kafka-1\.internal, kafka-2\.internal\) are reached without TLS/),
    ]);
    // The operator's word that the network is encrypted (a service mesh): started.
    expect(loadApiConfig({ ...plain, LEDGERLINE_PLAINTEXT_ALLOWED: 'postgres,redis,kafka' }).redisUrl).toBe('redis://cache.internal:6379');
  });

  test("the database URL's ssl parameter as node-pg reads it: ssl= is no TLS, ssl=no-verify checks nothing, PGSSLMODE then unread (an outside review)", () => {
    const withSsl = (value: string) => prod({ API_DATABASE_URL: DB.replace('sslmode=verify-full', `ssl=${value}`), PGSSLMODE: 'verify-full' });
    expect(refusal(withSsl(''))).toEqual([expect.stringMatching(/^API_DATABASE_URL: connects to db\.internal without TLS \(an empty ssl= is no TLS to node-pg\)/)]);
    expect(refusal(withSsl('no-verify'))).toEqual([expect.stringMatching(/^API_DATABASE_URL: connects to db\.internal over TLS without checking its certificate/)]);
    expect(loadApiConfig(withSsl('true')).databaseUrl).toMatch(/\?ssl=true$/);
  });

  test('tracing on to a collector on another host over http:// is refused: spans carry ids and the collector token (an outside security review)', () => {
    expect(refusal(prod({ OTEL_TRACING: 'on', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.internal:4318' }))).toEqual([
      expect.stringMatching(/^OTEL_EXPORTER_OTLP_ENDPOINT: sends spans \(request paths, ids\) and OTEL_EXPORTER_OTLP_HEADERS to otel-collector\.internal without TLS/),
    ]);
    expect(loadApiConfig(prod({ OTEL_TRACING: 'on', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.internal:4318', LEDGERLINE_PLAINTEXT_ALLOWED: 'tracing' })).tracing.enabled).toBe(true);
    expect(loadApiConfig(prod({ OTEL_TRACING: 'off', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.internal:4318' })).tracing.enabled).toBe(false);
  });

  test('NODE_TLS_REJECT_UNAUTHORIZED=0, every certificate check off, is refused (an outside review)', () => {
    expect(refusal(prod({ NODE_TLS_REJECT_UNAUTHORIZED: '0' }))).toEqual([expect.stringMatching(/^NODE_TLS_REJECT_UNAUTHORIZED: is "0", which turns off the certificate check/)]);
  });

  test('Kafka on this machine without TLS is refused: the client goes on to the brokers the cluster advertises (an outside review)', () => {
    expect(refusal(prod({ KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_SSL: 'false' }))).toEqual([expect.stringMatching(/^KAFKA_SSL: the bootstrap brokers \(127\.0\.0\.1\) are on this machine, but/)]);
    expect(loadApiConfig(prod({ KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_SSL: 'false', LEDGERLINE_PLAINTEXT_ALLOWED: 'kafka' })).kafkaSecurity.ssl).toBe(false);
  });
});

describe('what production accepts, and its defaults', () => {
  test('a strong secret alone: HS256 with it', () => {
    const config = loadApiConfig(prod({}));
    expect(config.jwt).toEqual({ hs256Secret: STRONG, jwksUrl: null, issuer: null, audience: null });
    expect(config.kafkaDurability).toMatchObject({ replicationFactor: 3, minInsyncReplicas: 2 });
    expect(loadApiConfig(prod({ KAFKA_REPLICATION_FACTOR: '2' })).kafkaDurability).toMatchObject({ replicationFactor: 2, minInsyncReplicas: 2 });
  });

  test('JWKS with issuer and audience and no secret: HS256 refused (no secret at all)', () => {
    const config = loadApiConfig({
      LEDGERLINE_ENV: 'production',
      API_DATABASE_URL: DB,
      LEDGERLINE_COMMAND_KEY: COMMAND_KEY,
      ...SERVICES,
      JWT_JWKS_URL: 'https://idp.example/jwks.json',
      JWT_ISSUER: 'https://idp.example/',
      JWT_AUDIENCE: 'ledgerline',
    });
    expect(config.jwt.hs256Secret).toBeNull();
  });
});

describe('development and test', () => {
  test('start with no env: the local defaults, the dev secret, one Kafka replica', () => {
    for (const env of [{}, { LEDGERLINE_ENV: 'test' }]) {
      const config = loadApiConfig(env);
      expect(config.jwt.hs256Secret).toBe('dev-secret-change-me');
      expect(config.commandKey).toEqual({ current: 'dev-command-key-change-me', previous: [] });
      expect(config.kafkaDurability).toMatchObject({ replicationFactor: 1, minInsyncReplicas: 1 });
      expect(config.databaseUrl).toMatch(/^postgres:\/\/ledgerline_api:/);
    }
  });

  test('LEDGERLINE_ENV unset while reaching or listening beyond this machine is refused: a deployment that forgot production would take tokens signed with the public dev secret', () => {
    const refusal = (env: Record<string, string>) => {
      try {
        loadApiConfig(env);
        return null;
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(refusal({ API_DATABASE_URL: 'postgres://u:p@db.internal:5432/ledgerline' })).toBe(
      'LEDGERLINE_ENV: not set, so the development defaults apply (a public JWT secret and command key), yet API_DATABASE_URL reaches db.internal, beyond this machine. ' +
        'Set LEDGERLINE_ENV=production for a deployment, or LEDGERLINE_ENV=development to run the development defaults on a network deliberately',
    );
    expect(refusal({ HOST: '0.0.0.0' })).toMatch(/^LEDGERLINE_ENV: not set, .* yet HOST listens on 0\.0\.0\.0, beyond this machine/);
    expect(refusal({ KAFKA_BROKERS: '127.0.0.1:9092,kafka-2:9092' })).toMatch(/yet KAFKA_BROKERS reaches kafka-2,/);
    expect(refusal({ REDIS_URL: 'redis://cache.internal:6379' })).toMatch(/yet REDIS_URL reaches cache.internal,/);
    // Said explicitly, or all on this machine (loopback, localhost, a Unix socket): it starts.
    expect(refusal({ LEDGERLINE_ENV: 'development', HOST: '0.0.0.0', API_DATABASE_URL: 'postgres://u:p@db.internal:5432/ledgerline' })).toBeNull();
    expect(refusal({ LEDGERLINE_ENV: 'test', REDIS_URL: 'redis://cache.internal:6379' })).toBeNull();
    expect(refusal({ HOST: '::1', API_DATABASE_URL: 'postgres://u:p@localhost:5432/ledgerline', REDIS_URL: 'redis://127.0.0.2:6379' })).toBeNull();
  });

  test('NODE_ENV=production (the Dockerfile sets it) without LEDGERLINE_ENV is refused though everything is on loopback: behind a local proxy the public secret signed admin tokens (an outside review)', () => {
    expect(() => loadApiConfig({ NODE_ENV: 'production' })).toThrow(
      new ConfigError(
        'LEDGERLINE_ENV: not set, so the development defaults apply (a public JWT secret and command key), yet NODE_ENV="production" says this is a deployment. ' +
          'Set LEDGERLINE_ENV=production, or LEDGERLINE_ENV=development to run the development defaults deliberately',
      ),
    );
    for (const nodeEnv of ['Production', 'staging', ' prod ']) expect(() => loadApiConfig({ NODE_ENV: nodeEnv })).toThrow(/^LEDGERLINE_ENV: not set, .* yet NODE_ENV="[^"]+" says this is a deployment/);
    // Said explicitly (docker compose says development over the image's NODE_ENV), or a development NODE_ENV: it starts.
    expect(loadApiConfig({ NODE_ENV: 'production', LEDGERLINE_ENV: 'development' }).jwt.hs256Secret).toBe('dev-secret-change-me');
    for (const nodeEnv of ['development', 'test', 'dev', '']) expect(loadApiConfig({ NODE_ENV: nodeEnv }).ledgerlineEnv).toBe('development');
  });

  test('with a JWKS URL the dev secret no longer applies: HS256 needs an explicit JWT_SECRET everywhere', () => {
    expect(loadApiConfig({ JWT_JWKS_URL: 'https://idp.example/jwks.json' }).jwt.hs256Secret).toBeNull();
  });

  test('an unknown LEDGERLINE_ENV, a min.insync above the replication factor, a bad operator network are refused', () => {
    expect(() => loadApiConfig({ LEDGERLINE_ENV: 'prod' })).toThrow(/LEDGERLINE_ENV="prod": must be development, test or production/);
    expect(() => loadApiConfig({ KAFKA_REPLICATION_FACTOR: '2', KAFKA_MIN_INSYNC_REPLICAS: '3' })).toThrow(/^KAFKA_MIN_INSYNC_REPLICAS: 3 is more than KAFKA_REPLICATION_FACTOR=2/);
    expect(() => loadApiConfig({ API_OPERATOR_NETWORKS: '10.0.0.0/33' })).toThrow(/^API_OPERATOR_NETWORKS: "10.0.0.0\/33" is not an address or CIDR/);
    expect(() => loadApiConfig({ API_RATE_WRITES_PER_S: '100', API_RATE_WRITES_BURST: '50' })).toThrow(/^API_RATE_WRITES_BURST: 50 is less than API_RATE_WRITES_PER_S=100/);
  });
});

describe('timeouts passed to the HTTP server, Postgres, Redis and Kafka', () => {
  test('unset: the long-standing values; the Kafka request timeout is the produce ack timeout', () => {
    const config = loadApiConfig({});
    expect(config.http).toEqual({ keepAliveTimeoutMs: 65_000, headersTimeoutMs: 66_000, requestTimeoutMs: 60_000 });
    expect(config.pgIdleTimeoutMs).toBe(30_000);
    expect(config.pgQueryTimeoutMs).toBe(5_000);
    expect([config.redisConnectTimeoutMs, config.redisReconnectDelayMsMax]).toEqual([2_000, 2_000]);
    expect(config.kafkaClient).toEqual({ connectionTimeoutMs: 3_000, requestTimeoutMs: 5_000, retry: { retries: 8, delayFirstMs: 100, delayMaxMs: 2_000 } });
    expect(loadApiConfig({ API_PRODUCE_ACK_TIMEOUT_MS: '7000' }).kafkaClient.requestTimeoutMs).toBe(7_000);
  });

  test('out of bounds or out of order is refused, naming the variable', () => {
    expect(() => loadApiConfig({ API_HTTP_KEEP_ALIVE_TIMEOUT_MS: '999' })).toThrow(/API_HTTP_KEEP_ALIVE_TIMEOUT_MS="999": must be >= 1000/);
    expect(() => loadApiConfig({ API_PG_IDLE_TIMEOUT_MS: '3600001' })).toThrow(/API_PG_IDLE_TIMEOUT_MS="3600001": must be <= 3600000/);
    expect(() => loadApiConfig({ API_PG_QUERY_TIMEOUT_MS: '99' })).toThrow(/API_PG_QUERY_TIMEOUT_MS="99": must be >= 100/);
    expect(() => loadApiConfig({ API_REDIS_CONNECT_TIMEOUT_MS: '99' })).toThrow(/API_REDIS_CONNECT_TIMEOUT_MS="99": must be >= 100/);
    expect(() => loadApiConfig({ KAFKA_CONNECTION_TIMEOUT_MS: '60001' })).toThrow(/KAFKA_CONNECTION_TIMEOUT_MS="60001": must be <= 60000/);
    expect(() => loadApiConfig({ API_HTTP_HEADERS_TIMEOUT_MS: '65000' })).toThrow(/^API_HTTP_HEADERS_TIMEOUT_MS: 65000 must be more than API_HTTP_KEEP_ALIVE_TIMEOUT_MS=65000/);
  });
});

describe("the producer's linger", () => {
  test('unset: 0, so a 202 on a quiet API waits for no timer (smart batching); a linger is still settable', () => {
    expect(loadApiConfig({}).produceLingerMs).toBe(0);
    expect(loadApiConfig({ API_PRODUCE_LINGER_MS: '2' }).produceLingerMs).toBe(2);
    expect(() => loadApiConfig({ API_PRODUCE_LINGER_MS: '1001' })).toThrow(/API_PRODUCE_LINGER_MS="1001": must be <= 1000/);
  });
});
