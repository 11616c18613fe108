// A stopping API keeps its producer and its pool until the requests still claiming or
// publishing are done, though their connections were cut at the end of the grace. An outside
// operator review saw otherwise: a capture cut so met a stopped producer ("producer is
// stopped") and then an ended pool when it gave its key back. Against real Kafka, PgBouncer,
// Postgres and Redis: PgBouncer is really paused (SIGSTOP) while a deposit claims its key, the
// API is stopped with a 2 s grace, PgBouncer comes back 3 s later (past the grace: the
// request's connection is cut; within the second grace the stop waits for it): the deposit's
// claim completes, it is published, and its command is in the commands topic.
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { Client, startApi, token } from '../../../test/support/api';
import { stack } from '../../../test/support/stack';

describe('an API stopping while a request claims its key', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let paused = false;

  beforeAll(async () => {
    db = await createTestDatabase(1);
    topics = await createTestTopics(1);
  });

  afterAll(async () => {
    if (paused) stack('resume-service', 'pgbouncer');
    await topics.delete();
    await db.drop();
  });

  test('keeps its producer and pool until the request has published, then stops', async () => {
    const target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
    const api = await startApi(target, { API_SHUTDOWN_GRACE_MS: '2000', API_PG_QUERY_TIMEOUT_MS: '20000' });
    let stopped = false;
    try {
      const alice = new Client(api.url, await token('alice'));
      const admin = new Client(api.url, await token('ops', 'ledger:admin'));
      const account = (await alice.post('/v1/accounts', { currency: 'USD' })).body.id as string;
      // The account is known to the API now: the deposit below waits only on its claim.
      expect((await admin.post('/v1/deposits', { account_id: account, amount: '1', currency: 'USD' })).status).toBe(202);
      const before = (await topics.admin.highWatermarks(topics.names.commands)).get(0)!;

      stack('pause-service', 'pgbouncer');
      paused = true;
      const cut = admin.post('/v1/deposits', { account_id: account, amount: '5', currency: 'USD' }).catch((error: Error) => error);
      await new Promise((resolve) => setTimeout(resolve, 300)); // claiming, against a paused PgBouncer
      const stopping = api.stop().then(() => (stopped = true));
      await new Promise((resolve) => setTimeout(resolve, 3_000)); // past the grace: its connection is cut
      expect(stopped).toBe(false);
      stack('resume-service', 'pgbouncer');
      paused = false;
      await stopping;
      expect(await cut).toMatchObject({ name: 'TypeError', message: 'fetch failed' }); // cut: the client heard nothing
      // Claimed, then published before the producer stopped.
      expect((await topics.admin.highWatermarks(topics.names.commands)).get(0)).toBe(before + 1n);
      const claims = await db.pool.query("SELECT count(*)::int AS n FROM idempotency_keys WHERE principal = 'ops'");
      expect(claims.rows[0].n).toBe(2);
    } finally {
      if (paused) stack('resume-service', 'pgbouncer');
      paused = false;
      if (!stopped) await api.stop().catch(() => undefined);
    }
  }, 120_000);
});
