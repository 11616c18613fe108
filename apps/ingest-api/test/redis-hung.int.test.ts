// Proves that a hung Redis costs the API one command timeout, not one per command: with the
// real Redis SIGSTOPped (the TCP connection stays open and nothing answers), the first request
// waits out its Redis timeout, and the requests after it are answered without waiting, from
// their fallbacks (the in-memory rate limit, the claim in Postgres). Once Redis answers again
// the API uses it again. An outside fault review measured about 2 s added to every request
// while Redis was stopped, before the breaker (packages/redis/src/breaker.ts).
// Told without a clock: the breaker opens only when a command Redis left unanswered times out,
// and a command sent to the stopped Redis is still run when it resumes. So the circuit gauge
// turning 1 during the first request says that request waited out a timeout, and the ACCEPTED
// records of the later requests missing after Redis resumed say their commands were refused
// without being sent, with nothing to wait for.
// Against the real API, Kafka, Postgres through PgBouncer and Redis.
import { randomUUID } from 'node:crypto';
import { loadRouting } from '@ledgerline/postgres';
import { AcceptedTransfers, createRedis } from '@ledgerline/redis';
import { useTestLedger } from '../../../test/support/test-ledger';
import { Client, startApi, token } from '../../../test/support/api';
import { testServices } from '../../../test/support/env';
import { openAccountOn } from '../../../test/support/ledger';
import { stack } from '../../../test/support/stack';
import { waitFor } from '../../../test/support/worker';

/** The API's Redis command timeout: what the first request waits out, once. */
const REDIS_COMMAND_TIMEOUT_MS = 3_000;

describe('the API while Redis is hung', () => {
  const ledger = useTestLedger(2);

  test('after the first timeout, requests do not wait for Redis; once it answers again it is used again', async () => {
    const target = ledger.target;
    const routing = await loadRouting(ledger.db.pool);
    const api = await startApi(target, { API_REDIS_COMMAND_TIMEOUT_MS: String(REDIS_COMMAND_TIMEOUT_MS) });
    // The test's own connection to Redis, to read what the API's commands left there.
    const direct = createRedis(testServices().redisUrl);
    try {
      const ivan = new Client(api.url, await token('ivan'));
      const operator = new Client(api.url, null);
      const circuit = async () => /^ledger_api_redis_circuit_open (\d)$/m.exec(String((await operator.get('/metrics')).body))?.[1];
      const from = await openAccountOn(ledger.db.pool, routing, 0, 'ivan');
      const to = await openAccountOn(ledger.db.pool, routing, 1, 'ivan');
      const transfer = () => ivan.post('/v1/transfers', { from_account_id: from, to_account_id: to, amount: '1', currency: 'USD' }, randomUUID());
      expect((await transfer()).status).toBe(202);
      expect(await circuit()).toBe('0');

      stack('pause-service', 'redis');
      const later: string[] = [];
      try {
        // The first request met the hung Redis: a command of its own timed out (nothing else
        // sends the API's commands meanwhile), which is all that opens the breaker.
        const first = await transfer();
        expect(first.status).toBe(202);
        expect(await circuit()).toBe('1');
        // The five after it, with the breaker open (only an answered PING closes it): each
        // command refused at once, each request answered from its fallbacks.
        for (let i = 0; i < 5; i += 1) {
          const answer = await transfer();
          expect(answer.status).toBe(202);
          later.push(answer.body.id);
        }
        expect(await circuit()).toBe('1');
        const ready = await operator.get('/readyz');
        expect([ready.status, ready.body.checks?.redis]).toEqual([200, 'failing']);
      } finally {
        stack('resume-service', 'redis');
      }
      // Redis answers again: the breaker's probe closes it, and a new transfer's ACCEPTED
      // record is written to Redis again (its status is served before any worker applied it).
      await waitFor('the breaker to close', async () => (await circuit()) === '0', 30_000, 200);
      const after = await transfer();
      expect(after.status).toBe(202);
      expect((await ivan.get(`/v1/transfers/${after.body.id}`)).body).toMatchObject({ id: after.body.id, status: 'ACCEPTED' });
      // Redis has now run every command the API sent while it was stopped (the PING that closed
      // the breaker came after them). The later requests' ACCEPTED records are not among them:
      // their SETs were never sent, so none of them waited on the stopped Redis. The record of
      // the transfer after is there, as each of theirs would be had its SET been sent.
      const records = await new AcceptedTransfers(direct, target.redisKeyPrefix).getAcceptedMany([...later, after.body.id]);
      expect(records.map((record) => record?.id ?? null)).toEqual([null, null, null, null, null, after.body.id]);
    } finally {
      await api.stop();
      direct.disconnect();
    }
  });
});
