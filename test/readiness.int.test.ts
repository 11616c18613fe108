// Proves /readyz answers 200 with Kafka, Postgres and Redis up, 503 naming Kafka or Postgres
// when it is really stopped, and 200 `degraded` naming Redis when Redis is (the API serves
// without its cache). Each service is stopped and restarted for real.
import { type TestDatabase, createTestDatabase } from './support/database';
import { type TestTopics, createTestTopics } from './support/kafka';
import { Client, startApi } from './support/api';
import { stack } from './support/stack';
import { waitFor } from './support/worker';

describe('GET /readyz against really stopped services', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let api: Awaited<ReturnType<typeof startApi>>;
  let probe: Client;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    api = await startApi({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` }, { API_READY_CHECK_TIMEOUT_MS: '1000' });
    probe = new Client(api.url, null);
  });

  afterAll(async () => {
    await api.stop();
    await topics.delete();
    await db.drop();
  });

  async function readiness() {
    const answer = await probe.get('/readyz');
    return { status: answer.status, body: answer.body, text: JSON.stringify(answer.body), retryAfter: answer.headers.get('retry-after') };
  }

  test('all up: 200 ok, every check ok (not a degraded 200)', async () => {
    const ready = await waitFor('ready', async () => {
      const r = await readiness();
      return r.status === 200 && r.body.status === 'ok' ? r : null;
    });
    expect(ready.body).toEqual({ status: 'ok', checks: { kafka: 'ok', postgres: 'ok', redis: 'ok' } });
  });

  test('redis stopped: still 200, degraded, naming redis; ok again once it is back', async () => {
    stack('stop-service', 'redis');
    try {
      const degraded = await waitFor('readyz to notice redis', async () => {
        const r = await readiness();
        return r.body.status === 'degraded' ? r : null;
      });
      expect(degraded.status).toBe(200);
      expect(degraded.body).toEqual({ status: 'degraded', checks: { kafka: 'ok', postgres: 'ok', redis: 'failing' } });
    } finally {
      stack('start-service', 'redis');
    }
    await waitFor('readyz ok again', async () => (await readiness()).body.status === 'ok', 60_000, 250);
  });

  test.each([
    ['pgbouncer', 'postgres'],
    ['kafka', 'kafka'],
  ] as const)('%s stopped: 503 naming %s, then 200 again once it is back', async (service, named) => {
    stack('stop-service', service);
    try {
      const down = await waitFor(`readyz to notice ${service}`, async () => {
        const r = await readiness();
        return r.status === 503 ? r : null;
      });
      expect(down.text).toMatch(new RegExp(named));
      // Names and ok/failing only: the reason (addresses, error text) goes to the log.
      expect(down.body.error.details.checks[named]).toBe('failing');
      for (const other of ['kafka', 'postgres', 'redis'].filter((n) => n !== named)) {
        expect(down.body.error.details.checks[other]).toBe('ok');
      }
      expect(down.text).not.toMatch(/ECONN|127\.0\.0\.1|timeout|within/i);
      expect(down.retryAfter).toMatch(/^\d+$/);
    } finally {
      stack('start-service', service);
    }
    await waitFor('readyz to recover', async () => (await readiness()).status === 200, 60_000, 250);
  });
});
