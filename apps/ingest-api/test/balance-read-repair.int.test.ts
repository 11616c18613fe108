// Proves that a cached balance is never older than a status the client has seen (docs/api.md,
// `GET /v1/accounts/{id}/balance`). The worker refreshes the cache after its commit without
// waiting for Redis, so a client can read a status before the refresh lands. Here the refresh
// "has not landed yet" for sure: once the worker applied a command (seen in Postgres), the
// test puts the account's cached figure from before back into Redis. Reading the transfer or
// the hold must then repair the cache before the client can read the balance. An outside
// review found holds read without the repair: `available` still counted a hold shown VOIDED.
// Against the real API, a worker, Kafka, Postgres through PgBouncer and Redis.
import { randomUUID } from 'node:crypto';
import { createRedis } from '@ledgerline/redis';
import { useTestLedger } from '../../../test/support/test-ledger';
import { Client, startApi, token } from '../../../test/support/api';
import { testServices } from '../../../test/support/env';
import { startWorker, waitFor } from '../../../test/support/worker';

describe('the balance cache read-repaired by the status a client reads', () => {
  const ledger = useTestLedger(2);

  test('after a transfer COMPLETED, a hold HELD and a hold VOIDED, the balance read next shows it', async () => {
    const target = ledger.target;
    const worker = await startWorker(target);
    const api = await startApi(target);
    const redis = createRedis(testServices().redisUrl);
    try {
      const carol = new Client(api.url, await token('carol'));
      const admin = new Client(api.url, await token('ops', 'ledger:read ledger:write ledger:admin'));
      const opened = await carol.post('/v1/accounts', { currency: 'USD' });
      expect(opened.status).toBe(201);
      const account = opened.body.id as string;
      const cacheKey = `${target.redisKeyPrefix}bal:${account}`;
      const balance = async () => {
        const answer = await carol.get(`/v1/accounts/${account}/balance`);
        return { balance: answer.body.balance as string, available: answer.body.available as string };
      };
      /** The account's cached figure now, to put back later. */
      const cachedFigure = async () => {
        await waitFor('the cache to hold the account', async () => (await redis.exists(cacheKey)) === 1);
        return redis.hgetall(cacheKey);
      };
      /** As if the worker's refresh after its commit had not reached Redis yet. */
      const putBack = async (figure: Record<string, string>) => {
        await redis.del(cacheKey);
        await redis.hset(cacheKey, figure);
      };
      /** Applied in Postgres, and the worker's own refresh landed (so it cannot land after putBack). */
      const applied = async (sql: string, id: string, figureBefore: Record<string, string>) => {
        await waitFor('the worker to apply it', async () => (await ledger.db.pool.query(sql, [id])).rowCount === 1);
        await waitFor("the worker's refresh to land", async () => (await redis.hget(cacheKey, 'rev')) !== figureBefore.rev);
      };

      const deposit = await admin.post('/v1/deposits', { account_id: account, amount: '100', currency: 'USD' }, randomUUID());
      expect(deposit.status).toBe(202);
      const deposited = await admin.get(`/v1/transfers/${deposit.body.id}?wait_ms=5000`);
      expect(deposited.body.status).toBe('COMPLETED');
      expect(await balance()).toEqual({ balance: '100', available: '100' });

      // A transfer: the figure before the deposit of 5 is put back once it is applied.
      let before = await cachedFigure();
      const more = await admin.post('/v1/deposits', { account_id: account, amount: '5', currency: 'USD' }, randomUUID());
      await applied(`SELECT 1 FROM transfers WHERE id = $1 AND status = 'COMPLETED'`, more.body.id, before);
      await putBack(before);
      expect((await admin.get(`/v1/transfers/${more.body.id}`)).body.status).toBe('COMPLETED');
      expect(await balance()).toEqual({ balance: '105', available: '105' });

      // A hold placed: HELD lowers `available`.
      before = await cachedFigure();
      const hold = await carol.post('/v1/holds', { account_id: account, amount: '10', currency: 'USD', expires_in_s: 600 }, randomUUID());
      expect(hold.status).toBe(202);
      const holdId = hold.body.id as string;
      await applied(`SELECT 1 FROM holds WHERE id = $1 AND status = 'HELD'`, holdId, before);
      await putBack(before);
      expect((await carol.get(`/v1/holds/${holdId}`)).body.status).toBe('HELD');
      expect(await balance()).toEqual({ balance: '105', available: '95' });

      // The hold voided: `available` back.
      before = await cachedFigure();
      expect((await carol.post(`/v1/holds/${holdId}/void`, {})).status).toBe(202);
      await applied(`SELECT 1 FROM holds WHERE id = $1 AND status = 'VOIDED'`, holdId, before);
      await putBack(before);
      expect((await carol.get(`/v1/holds/${holdId}`)).body.status).toBe('VOIDED');
      expect(await balance()).toEqual({ balance: '105', available: '105' });
    } finally {
      redis.disconnect();
      await api.stop();
      await worker.stop();
    }
  });
});
