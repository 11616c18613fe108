// Production refuses a connection to another host in the clear (src/transport.ts): each
// dependency on its own line, loopback and Unix sockets allowed, and the operator's opt-out
// per dependency for a network that is itself encrypted.
import { plaintextProblems } from '../src/transport';

// node-pg's own reading of a connection string (no types: a library file, not its API).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ConnectionParameters = require('pg/lib/connection-parameters.js') as new (config: { connectionString: string }) => {
  ssl: boolean | string | { rejectUnauthorized?: boolean; checkServerIdentity?: unknown };
};

const remote = {
  postgres: [['WORKER_DATABASE_URL', 'postgres://ledgerline_worker:pw@db.internal:6432/ledgerline']] as const,
  redisUrl: 'redis://cache.internal:6379',
  kafka: { brokers: ['kafka-1.internal:9092', '127.0.0.1:9092'], ssl: false },
};

test('each plaintext connection to another host is refused, naming its variable and host', () => {
  expect(plaintextProblems(remote, {})).toEqual([
    'WORKER_DATABASE_URL: connects to db.internal without TLS; production needs sslmode=verify-full, or LEDGERLINE_PLAINTEXT_ALLOWED=postgres if the network between them is encrypted',
    'REDIS_URL: connects to cache.internal without TLS; production needs rediss://, or LEDGERLINE_PLAINTEXT_ALLOWED=redis if the network between them is encrypted',
    'KAFKA_SSL: the brokers (kafka-1.internal) are reached without TLS; production needs KAFKA_SSL=true, or LEDGERLINE_PLAINTEXT_ALLOWED=kafka if the network between them is encrypted',
  ]);
});

test('TLS with a verified certificate passes: sslmode=verify-full or require, rediss://, KAFKA_SSL', () => {
  for (const mode of ['verify-full', 'require', 'verify-ca']) {
    expect(
      plaintextProblems(
        {
          postgres: [['DB', `postgres://u:p@db.internal/ledgerline?sslmode=${mode}`]],
          redisUrl: 'rediss://cache.internal:6380',
          kafka: { brokers: ['kafka-1.internal:9093'], ssl: true },
        },
        {},
      ),
    ).toEqual([]);
  }
});

test('Postgres is read as node-pg reads it: sslmode=disable and no-verify refused, PGSSLMODE and PGHOST count', () => {
  const db = (url: string, env: NodeJS.ProcessEnv = {}) => plaintextProblems({ postgres: [['DB', url]] }, env);
  expect(db('postgres://u:p@db.internal/l?sslmode=disable')).toEqual([expect.stringMatching(/^DB: connects to db\.internal without TLS/)]);
  expect(db('postgres://u:p@db.internal/l?sslmode=no-verify')).toEqual([
    expect.stringMatching(/^DB: connects to db\.internal over TLS without checking its certificate or its host name/),
  ]);
  // libpq's semantics on request: require and verify-ca then check no host name.
  expect(db('postgres://u:p@db.internal/l?uselibpqcompat=true&sslmode=require')).toEqual([expect.stringMatching(/without checking its certificate or its host name/)]);
  expect(db('postgres://u:p@db.internal/l?uselibpqcompat=true&sslmode=verify-full')).toEqual([]);
  // node-pg knows five PGSSLMODE values; anything else (libpq's allow, another case) is no TLS.
  for (const mode of ['allow', 'REQUIRE', 'verify_full']) expect(db('postgres://u:p@db.internal/l', { PGSSLMODE: mode })).toHaveLength(1);
  expect(db('postgres://u:p@db.internal/l', { PGSSLMODE: 'verify-full' })).toEqual([]);
  expect(db('postgres://u:p@db.internal/l', { PGSSLMODE: 'disable' })).toHaveLength(1);
  expect(db('postgres://u:p@/l', { PGHOST: 'db.internal' })).toEqual([expect.stringMatching(/^DB: connects to db\.internal without TLS/)]);
});

test('Postgres and Redis on this machine need no TLS: loopback, localhost, a Unix socket', () => {
  expect(
    plaintextProblems(
      {
        postgres: [
          ['A', 'postgres://u:p@127.0.0.1:6432/l'],
          ['B', 'postgres://u:p@localhost/l'],
          ['C', 'postgres://u:p@[::1]:5432/l'],
          ['D', 'postgres:///l?host=/var/run/postgresql'],
          ['E', 'postgres://u:p@/l'],
        ],
        redisUrl: 'redis://127.0.0.1:6379',
      },
      {},
    ),
  ).toEqual([]);
  // Only the loopback range: 128.0.0.1 and a name that merely starts with "localhost" leave the machine.
  expect(plaintextProblems({ redisUrl: 'redis://128.0.0.1:6379', kafka: { brokers: ['localhost.example.com:9092'], ssl: false } }, {})).toHaveLength(2);
});

test('Kafka without TLS is refused through a loopback bootstrap address too: the client then goes to the brokers the cluster advertises (an outside review)', () => {
  expect(plaintextProblems({ kafka: { brokers: ['localhost:9092', '127.0.0.2:9092'], ssl: false } }, {})).toEqual([
    'KAFKA_SSL: the bootstrap brokers (localhost, 127.0.0.2) are on this machine, but the client then connects to every broker the cluster advertises, ' +
      'without TLS, wherever it is; production needs KAFKA_SSL=true, or LEDGERLINE_PLAINTEXT_ALLOWED=kafka if the network between them is encrypted (or every broker is on this machine)',
  ]);
  expect(plaintextProblems({ kafka: { brokers: ['127.0.0.1:9092'], ssl: false } }, { LEDGERLINE_PLAINTEXT_ALLOWED: 'kafka' })).toEqual([]);
  expect(plaintextProblems({ kafka: { brokers: ['127.0.0.1:9093'], ssl: true } }, {})).toEqual([]);
});

test('NODE_TLS_REJECT_UNAUTHORIZED=0, which turns off every certificate check, is refused whatever is opted out (an outside review)', () => {
  const local = { postgres: [['DB', 'postgres://u:p@127.0.0.1/l']] as const };
  for (const value of ['0', 'false']) {
    expect(plaintextProblems(local, { NODE_TLS_REJECT_UNAUTHORIZED: value, LEDGERLINE_PLAINTEXT_ALLOWED: 'postgres,redis,kafka' })).toEqual([
      expect.stringMatching(/^NODE_TLS_REJECT_UNAUTHORIZED: is "(0|false)", which (turns|looks meant to turn) off the certificate check of every TLS connection/),
    ]);
  }
  for (const value of [undefined, '', '1', 'true', 'TRUE', 'yes', 'on']) expect(plaintextProblems(local, { NODE_TLS_REJECT_UNAUTHORIZED: value })).toEqual([]);
});

/**
 * The TLS node-pg connects with for `url` under `pgsslmode`, from node-pg's own code
 * (connection-parameters.js, then client.js's `ssl || false`): the check must agree with it.
 */
function nodePgTls(url: string, pgsslmode: string | undefined): 'none' | 'unverified' | 'verified' {
  const saved = process.env.PGSSLMODE;
  if (pgsslmode === undefined) delete process.env.PGSSLMODE;
  else process.env.PGSSLMODE = pgsslmode;
  try {
    const ssl = new ConnectionParameters({ connectionString: url }).ssl || false;
    if (ssl === false) return 'none';
    if (typeof ssl === 'object' && (ssl.rejectUnauthorized === false || typeof ssl.checkServerIdentity === 'function')) return 'unverified';
    return 'verified';
  } finally {
    if (saved === undefined) delete process.env.PGSSLMODE;
    else process.env.PGSSLMODE = saved;
  }
}

describe("Postgres's ssl parameter, read as node-pg reads it (an outside review: ?ssl= and ?ssl=no-verify passed)", () => {
  const db = (query: string, env: NodeJS.ProcessEnv = {}) => plaintextProblems({ postgres: [['DB', `postgres://u:p@db.internal:6432/l?${query}`]] }, env);

  test.each([
    ['no PGSSLMODE', {}],
    ['PGSSLMODE=verify-full, which node-pg then ignores', { PGSSLMODE: 'verify-full' }],
  ])('%s: ssl= is no TLS, ssl=no-verify checks nothing, ssl=false means nothing node-pg defines', (_label, env: NodeJS.ProcessEnv) => {
    expect(db('ssl=', env)).toEqual([expect.stringMatching(/^DB: connects to db\.internal without TLS \(an empty ssl= is no TLS to node-pg\)/)]);
    expect(db('ssl=no-verify', env)).toEqual([expect.stringMatching(/^DB: connects to db\.internal over TLS without checking its certificate or its host name \(ssl=no-verify\)/)]);
    expect(db('ssl=false', env)).toEqual([expect.stringMatching(/^DB: gives ssl="false", which node-pg does not define/)]);
    expect(db('ssl=0', env)).toEqual([expect.stringMatching(/^DB: connects to db\.internal without TLS;/)]);
    expect(db('ssl=true', env)).toEqual([]);
    expect(db('ssl=1', env)).toEqual([]);
    // sslmode wins over ssl in pg-connection-string.
    expect(db('ssl=&sslmode=verify-full', env)).toEqual([]);
  });

  test('every URL node-pg would connect to without TLS, or without checks, is refused; the rest pass', () => {
    const queries = ['', 'ssl=', 'ssl=no-verify', 'ssl=false', 'ssl=0', 'ssl=1', 'ssl=true', 'ssl=yes', 'sslmode=disable', 'sslmode=no-verify', 'sslmode=require',
      'sslmode=verify-full', 'ssl=no-verify&sslmode=verify-full', 'uselibpqcompat=true&sslmode=require', 'sslnegotiation=direct'];
    for (const pgsslmode of [undefined, 'disable', 'no-verify', 'require', 'verify-full', 'allow']) {
      for (const query of queries) {
        const url = `postgres://u:p@db.internal:6432/l?${query}`;
        const tls = nodePgTls(url, pgsslmode);
        const refused = plaintextProblems({ postgres: [['DB', url]] }, pgsslmode === undefined ? {} : { PGSSLMODE: pgsslmode }).length > 0;
        const what = `${query} with PGSSLMODE=${pgsslmode}: node-pg ${tls}`;
        // A string node-pg defines no meaning for (false, yes) is refused though node-pg happens to verify it.
        const undefinedString = /^ssl=(false|yes)$/.test(query);
        expect(`${what}, ${refused ? 'refused' : 'passed'}`).toBe(`${what}, ${tls === 'verified' && !undefinedString ? 'passed' : 'refused'}`);
      }
    }
  });
});

test('LEDGERLINE_PLAINTEXT_ALLOWED opts out per dependency; an unknown name is refused', () => {
  expect(plaintextProblems(remote, { LEDGERLINE_PLAINTEXT_ALLOWED: 'postgres, Kafka' })).toEqual([expect.stringMatching(/^REDIS_URL: connects to cache\.internal without TLS/)]);
  expect(plaintextProblems(remote, { LEDGERLINE_PLAINTEXT_ALLOWED: 'postgres,redis,kafka' })).toEqual([]);
  expect(plaintextProblems({}, { LEDGERLINE_PLAINTEXT_ALLOWED: 'postgres,rabbitmq' })).toEqual([
    'LEDGERLINE_PLAINTEXT_ALLOWED: "rabbitmq" is not one of postgres, redis, kafka, tracing',
  ]);
});

test('tracing on: spans to another host in the clear are refused (an outside security review); to this host, over https or opted out, they pass', () => {
  const on = { tracing: true };
  const refusal = (name: string, host: string) =>
    `${name}: sends spans (request paths, ids) and OTEL_EXPORTER_OTLP_HEADERS to ${host} without TLS; production needs https://, or LEDGERLINE_PLAINTEXT_ALLOWED=tracing if the network between them is encrypted`;
  expect(plaintextProblems(on, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.internal:4318' })).toEqual([refusal('OTEL_EXPORTER_OTLP_ENDPOINT', 'otel-collector.internal')]);
  // The traces endpoint is what the exporter uses when both are set.
  expect(plaintextProblems(on, { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.internal', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://10.0.0.7:4318/v1/traces' })).toEqual([
    refusal('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', '10.0.0.7'),
  ]);
  expect(plaintextProblems(on, { OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).toEqual(['OTEL_EXPORTER_OTLP_ENDPOINT: is not a URL']);
  for (const env of [{}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://[::1]:4318' }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.internal' }]) {
    expect(plaintextProblems(on, env)).toEqual([]);
  }
  expect(plaintextProblems(on, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel.internal', LEDGERLINE_PLAINTEXT_ALLOWED: 'tracing' })).toEqual([]);
  // Tracing off: the exporter never starts, so its endpoint is not read.
  expect(plaintextProblems({ tracing: false }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel.internal' })).toEqual([]);
});
