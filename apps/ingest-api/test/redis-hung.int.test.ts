// Proves that a hung Redis costs the API one command timeout, not one per command: with the
// real Redis SIGSTOPped (the TCP connection stays open and nothing answers), the first request
// waits out its Redis timeout, and the requests after it are answered without waiting, from
// their fallbacks (the in-memory rate limit, the claim in Postgres). Once Redis answers again
// the API uses it again. An outside fault review measured about 2 s added to every request
// while Redis was stopped, before the breaker (packages/redis/src/breaker.ts).
// Against the real API, Kafka, Postgres through PgBouncer and Redis.
import { randomUUID } from 'node:crypto';
import { loadRouting } from '@ledgerline/postgres';
import { useTestLedger } from '../../../test/support/test-ledger';
import { Client, startApi, token } from '../../../test/support/api';
import { openAccountOn } from '../../../test/support/ledger';
import { stack } from '../../../test/support/stack';
import { waitFor } from '../../../test/support/worker';

/** Long enough that a request which waited for it cannot pass for one that did not. */
const REDIS_COMMAND_TIMEOUT_MS = 3_000;

describe('the API while Redis is hung', () => {
  const ledger = useTestLedger(2);

  test('after the first timeout, requests do not wait for Redis; once it answers again it is used again', async () => {
    const target = ledger.target;
    const routing = await loadRouting(ledger.db.pool);
    const api = await startApi(target, { API_REDIS_COMMAND_TIMEOUT_MS: String(REDIS_COMMAND_TIMEOUT_MS) });
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
      const waits: number[] = [];
      try {
        for (let i = 0; i < 6; i += 1) {
          const started = Date.now();
          const answer = await transfer();
          waits.push(Date.now() - started);
          expect(answer.status).toBe(202);
        }
        // The first request met the hung Redis and waited for its timeout; the five after it
        // did not wait for one at all (each is answered in a fraction of the timeout).
        expect(waits[0]).toBeGreaterThanOrEqual(REDIS_COMMAND_TIMEOUT_MS);
        for (const wait of waits.slice(1)) expect(wait).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS / 2);
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
    } finally {
      await api.stop();
    }
  });
});
