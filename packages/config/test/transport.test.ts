// Production refuses a connection to another host in the clear (src/transport.ts): each
// dependency on its own line, loopback and Unix sockets allowed, and the operator's opt-out
// per dependency for a network that is itself encrypted.
import { plaintextProblems } from '../src/transport';

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

test('connections that stay on this machine need no TLS: loopback, localhost, a Unix socket', () => {
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
        kafka: { brokers: ['localhost:9092', '127.0.0.2:9092'], ssl: false },
      },
      {},
    ),
  ).toEqual([]);
  // Only the loopback range: 128.0.0.1 and a name that merely starts with "localhost" leave the machine.
  expect(plaintextProblems({ redisUrl: 'redis://128.0.0.1:6379', kafka: { brokers: ['localhost.example.com:9092'], ssl: false } }, {})).toHaveLength(2);
});

test('LEDGERLINE_PLAINTEXT_ALLOWED opts out per dependency; an unknown name is refused', () => {
  expect(plaintextProblems(remote, { LEDGERLINE_PLAINTEXT_ALLOWED: 'postgres, Kafka' })).toEqual([expect.stringMatching(/^REDIS_URL: connects to cache\.internal without TLS/)]);
  expect(plaintextProblems(remote, { LEDGERLINE_PLAINTEXT_ALLOWED: 'postgres,redis,kafka' })).toEqual([]);
  expect(plaintextProblems({}, { LEDGERLINE_PLAINTEXT_ALLOWED: 'postgres,rabbitmq' })).toEqual([
    'LEDGERLINE_PLAINTEXT_ALLOWED: "rabbitmq" is not one of postgres, redis, kafka',
  ]);
});
