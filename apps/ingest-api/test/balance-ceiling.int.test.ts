// An account filled to its ceiling (USER_BALANCE_MAX) by deposits. Proves that a payee whose
// own account's ceiling refused a movement is told so: a transfer or deposit into it ends
// REJECTED BALANCE_LIMIT_EXCEEDED, and the payee (the account's owner, neither sender nor
// admin) sees that reason. A debit can never pass a user account's bound, so the reason is
// never the payer's business (docs/api.md, `reason`); an outside review found it hidden from
// the payee. And that the system account the deposits came from reads, for an admin, as what
// it is: owner `system`, no limit (`overdraft_limit` null, not the "0" it once showed while
// far below zero). Against the real API, a worker, Kafka, Postgres through PgBouncer and Redis.
import { AMOUNT_MAX, USER_BALANCE_MAX, externalAccountId } from '@ledgerline/domain';
import { loadRouting } from '@ledgerline/postgres';
import { useTestLedger } from '../../../test/support/test-ledger';
import { Client, startApi, token } from '../../../test/support/api';
import { startWorker, waitFor } from '../../../test/support/worker';

describe("a rejection for the payee's own ceiling", () => {
  const ledger = useTestLedger(2);

  test('BALANCE_LIMIT_EXCEEDED is shown to the payee, as to the sender', async () => {
    const target = ledger.target;
    const worker = await startWorker(target);
    // The account is filled by 4,611 deposits: the writes budget is raised for that alone.
    const api = await startApi(target, { API_RATE_WRITES_PER_S: '100000', API_RATE_WRITES_BURST: '100000' });
    try {
      const bob = new Client(api.url, await token('bob'));
      const alice = new Client(api.url, await token('alice'));
      const admin = new Client(api.url, await token('ops', 'ledger:read ledger:write ledger:admin'));
      const full = (await bob.post('/v1/accounts', { currency: 'USD' })).body.id as string;
      const payer = (await alice.post('/v1/accounts', { currency: 'USD' })).body.id as string;
      const deposit = (account: string, amount: bigint) => ({ kind: 'DEPOSIT', account_id: account, amount: amount.toString(), currency: 'USD' });

      // Fill bob's account to its ceiling's last multiple of AMOUNT_MAX, and give alice one
      // more than the room that leaves.
      const fits = Number(USER_BALANCE_MAX / AMOUNT_MAX);
      const tooMuch = USER_BALANCE_MAX - AMOUNT_MAX * BigInt(fits) + 1n;
      const items = [...Array.from({ length: fits }, () => deposit(full, AMOUNT_MAX)), deposit(payer, tooMuch)];
      for (let start = 0; start < items.length; start += 1_000) {
        const batch = await admin.post('/v1/batch', { items: items.slice(start, start + 1_000) });
        expect(batch.status).toBe(202);
      }
      await waitFor('the deposits applied', async () => (await bob.get(`/v1/accounts/${full}/balance`)).body.balance === (AMOUNT_MAX * BigInt(fits)).toString(), 60_000);
      await waitFor("alice's deposit applied", async () => (await alice.get(`/v1/accounts/${payer}/balance`)).body.balance === tooMuch.toString(), 60_000);

      const settled = async (client: Client, id: string) => {
        const answer = await client.get(`/v1/transfers/${id}?wait_ms=15000`);
        expect(answer.status).toBe(200);
        return answer.body;
      };
      const overDeposit = await admin.post('/v1/deposits', { account_id: full, amount: AMOUNT_MAX.toString(), currency: 'USD' });
      expect(await settled(admin, overDeposit.body.id)).toMatchObject({ status: 'REJECTED', reason: 'BALANCE_LIMIT_EXCEEDED' });
      expect(await settled(bob, overDeposit.body.id)).toMatchObject({ status: 'REJECTED', reason: 'BALANCE_LIMIT_EXCEEDED' });

      // A transfer of one more than the room left: refused by bob's ceiling, alice's funds suffice.
      const refused = await alice.post('/v1/transfers', { from_account_id: payer, to_account_id: full, amount: tooMuch.toString(), currency: 'USD' });
      expect(await settled(alice, refused.body.id)).toMatchObject({ status: 'REJECTED', reason: 'BALANCE_LIMIT_EXCEEDED' });
      expect(await settled(bob, refused.body.id)).toMatchObject({ status: 'REJECTED', reason: 'BALANCE_LIMIT_EXCEEDED' });
      const history = (await bob.get(`/v1/transfers?account_id=${full}&limit=5`)).body.transfers as { id: string; reason?: string }[];
      expect(history.find((t) => t.id === overDeposit.body.id)).toMatchObject({ reason: 'BALANCE_LIMIT_EXCEEDED' });
      expect(history.find((t) => t.id === refused.body.id)).toMatchObject({ reason: 'BALANCE_LIMIT_EXCEEDED' });

      // Where bob's deposits came from: its partition's external account, for an admin only.
      const external = externalAccountId((await loadRouting(ledger.db.pool)).partitionOf(full), 'USD');
      expect((await admin.get(`/v1/accounts/${external}`)).body).toMatchObject({ id: external, owner: 'system', overdraft_limit: null, status: 'OPEN' });
      expect(BigInt((await admin.get(`/v1/accounts/${external}/balance`)).body.balance)).toBeLessThanOrEqual(-(AMOUNT_MAX * BigInt(fits)));
      expect((await bob.get(`/v1/accounts/${external}`)).status).toBe(404);
      // No movement names it (a deposit has no source): its history is refused, not an empty
      // page that would say nothing moved; its entries show its side of each deposit.
      const systemHistory = await admin.get(`/v1/transfers?account_id=${external}`);
      expect(systemHistory.status).toBe(400);
      expect(systemHistory.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'account_id' }] });
      const externalEntries = (await admin.get(`/v1/accounts/${external}/entries?limit=200`)).body.entries as { transfer_id: string }[];
      expect(externalEntries.some((e) => e.transfer_id === overDeposit.body.id)).toBe(false);
      expect(externalEntries.length).toBeGreaterThan(0);
    } finally {
      await api.stop();
      await worker.stop();
    }
  });
});
