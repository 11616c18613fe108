// Proves the worker refuses the local Postgres credentials and the development command key
// in production, naming the variable.
import { UnsafeConfigError } from '@ledgerline/config';
import { loadWorkerConfig } from '../src/config';

const COMMAND_KEY = 'c'.repeat(48);

test('production refuses the local credentials of WORKER_DATABASE_URL', () => {
  expect(() => loadWorkerConfig({ LEDGERLINE_ENV: 'production' })).toThrow(UnsafeConfigError);
  expect(() => loadWorkerConfig({ LEDGERLINE_ENV: 'production' })).toThrow(/^WORKER_DATABASE_URL: uses the local stack's default credentials \(ledgerline_worker:ledgerline_worker\)/);
  const config = loadWorkerConfig({
    LEDGERLINE_ENV: 'production',
    WORKER_DATABASE_URL: 'postgres://ledgerline_worker:from-the-vault@db:6432/ledgerline',
    LEDGERLINE_COMMAND_KEY: COMMAND_KEY,
  });
  expect(config.databaseUrl).toMatch(/from-the-vault/);
  expect(config.commandKey).toEqual({ current: COMMAND_KEY, previous: [] });
});

test('production refuses a missing or development LEDGERLINE_COMMAND_KEY (a forged deposit would verify)', () => {
  const db = 'postgres://ledgerline_worker:from-the-vault@db:6432/ledgerline';
  expect(() => loadWorkerConfig({ LEDGERLINE_ENV: 'production', WORKER_DATABASE_URL: db })).toThrow(/^LEDGERLINE_COMMAND_KEY: not set/);
  expect(() => loadWorkerConfig({ LEDGERLINE_ENV: 'production', WORKER_DATABASE_URL: db, LEDGERLINE_COMMAND_KEY: 'dev-command-key-change-me' })).toThrow(
    /^LEDGERLINE_COMMAND_KEY: is the development key/,
  );
  expect(loadWorkerConfig({ LEDGERLINE_COMMAND_KEY_PREVIOUS: 'a, b' }).commandKey).toEqual({ current: 'dev-command-key-change-me', previous: ['a', 'b'] });
});

test('development (no env) connects as ledgerline_worker', () => {
  expect(loadWorkerConfig({}).databaseUrl).toMatch(/^postgres:\/\/ledgerline_worker:/);
});

test('Kafka SASL: needs its user; production refuses it without TLS', () => {
  const db = 'postgres://ledgerline_worker:from-the-vault@db:6432/ledgerline';
  const key = { LEDGERLINE_COMMAND_KEY: COMMAND_KEY };
  expect(() => loadWorkerConfig({ KAFKA_SASL_MECHANISM: 'scram-sha-512' })).toThrow(/^KAFKA_SASL_USERNAME: KAFKA_SASL_MECHANISM needs/);
  const sasl = { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'ledgerline-worker', KAFKA_SASL_PASSWORD: 'pw' };
  expect(() => loadWorkerConfig({ LEDGERLINE_ENV: 'production', WORKER_DATABASE_URL: db, ...key, ...sasl })).toThrow(/^KAFKA_SSL: SASL without TLS/);
  const config = loadWorkerConfig({ LEDGERLINE_ENV: 'production', WORKER_DATABASE_URL: db, KAFKA_SSL: 'true', ...key, ...sasl });
  expect(config.kafkaSecurity).toEqual({ ssl: true, sslCaFile: null, sasl: { mechanism: 'scram-sha-512', username: 'ledgerline-worker', password: 'pw' } });
});
