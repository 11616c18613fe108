// Corruptions reconcile() once passed as OK, each planted in SQL on a consistent ledger (an
// outside review of the database core: ledger_apply_batch accepts each of them from a buggy or
// forged worker, so reconcile is where they must show). Each test names the check that finds it.
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { type ReconcileReport, inTransaction, reconcile } from '../src';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';

const EXTERNAL = randomUUID();
const ALICE = randomUUID();
const BOB = randomUUID();
const CAROL = randomUUID();

async function row(pool: Pool, t: { id?: string; kind: string; from: string | null; to: string | null; amount: bigint; currency?: string; reverses?: string }): Promise<string> {
  const id = t.id ?? randomUUID();
  await pool.query(
    `INSERT INTO transfers (id, kind, status, from_account_id, to_account_id, amount, currency, principal, request_hash, source_partition, created_at, completed_at, reverses)
     VALUES ($1, $2, 'COMPLETED', $3, $4, $5, $6, 'p', 'h', 0, now(), now(), $7)`,
    [id, t.kind, t.from, t.to, t.amount.toString(), t.currency ?? 'USD', t.reverses ?? null],
  );
  return id;
}

async function post(pool: Pool, transferId: string, legs: { account: string; amount: bigint; currency?: string }[]): Promise<void> {
  await inTransaction(pool, async (client) => {
    for (const leg of legs) {
      const { rows } = await client.query<{ balance: string; seq: string; currency: string }>('SELECT balance, seq, currency FROM accounts WHERE id = $1', [leg.account]);
      const seq = BigInt(rows[0]!.seq) + 1n;
      const balance = BigInt(rows[0]!.balance) + leg.amount;
      await client.query(
        `INSERT INTO entries (account_id, seq, transfer_id, leg, amount, balance_after, currency, partition) VALUES ($1, $2, $3, $4, $5, $6, $7, 0)`,
        [leg.account, seq.toString(), transferId, leg.amount < 0n ? 'DEBIT' : 'CREDIT', leg.amount.toString(), balance.toString(), leg.currency ?? rows[0]!.currency],
      );
      await client.query('UPDATE accounts SET balance = $2, seq = $3, rev = rev + 1 WHERE id = $1', [leg.account, balance.toString(), seq.toString()]);
    }
  });
}

const flagged = (r: ReconcileReport) => r.checks.filter((c) => c.violations > 0).map((c) => c.name);

describe('reconcile reports what it once missed', () => {
  let db: TestDatabase;
  const run = () => reconcile(db.pool, { outboxAgeMaxMs: 3_600_000 });
  beforeEach(async () => {
    db = await createTestDatabase(1);
    await db.pool.query(
      `INSERT INTO accounts (id, owner, kind, currency, overdraft_limit) VALUES
         ($1, 'system', 'EXTERNAL', 'USD', NULL), ($2, 'alice', 'USER', 'USD', 0), ($3, 'bob', 'USER', 'USD', 0), ($4, 'carol', 'USER', 'USD', 0)`,
      [EXTERNAL, ALICE, BOB, CAROL],
    );
    for (const who of [ALICE, BOB]) {
      const d = await row(db.pool, { kind: 'DEPOSIT', from: null, to: who, amount: 100n });
      await post(db.pool, d, [{ account: EXTERNAL, amount: -100n }, { account: who, amount: 100n }]);
    }
    expect(flagged(await run())).toEqual([]);
  });
  afterEach(async () => db.drop());

  test('a deposit to carol paid from bob (no transfer names bob)', async () => {
    const d = await row(db.pool, { kind: 'DEPOSIT', from: null, to: CAROL, amount: 50n });
    await post(db.pool, d, [{ account: BOB, amount: -50n }, { account: CAROL, amount: 50n }]);
    expect(flagged(await run())).toEqual(['entries-on-named-accounts']);
  });

  test("entries in another currency than their account's (USD -> EUR at 1:1, and back)", async () => {
    const [dave, externalEur] = [randomUUID(), randomUUID()];
    await db.pool.query(`INSERT INTO accounts (id, owner, kind, currency, overdraft_limit) VALUES ($1, 'dave', 'USER', 'EUR', 0), ($2, 'system', 'EXTERNAL', 'EUR', NULL)`, [dave, externalEur]);
    // Refused at insert since migration 0034 (entry-accounts.int); reconcile reports what was
    // written before it, planted here with the trigger off.
    await db.pool.query('ALTER TABLE entries DISABLE TRIGGER entries_name_accounts');
    const t1 = await row(db.pool, { kind: 'TRANSFER', from: ALICE, to: dave, amount: 100n });
    await post(db.pool, t1, [{ account: ALICE, amount: -100n }, { account: dave, amount: 100n, currency: 'USD' }]);
    const t2 = await row(db.pool, { kind: 'DEPOSIT', from: null, to: BOB, amount: 100n, currency: 'EUR' });
    await post(db.pool, t2, [{ account: externalEur, amount: -100n }, { account: BOB, amount: 100n, currency: 'EUR' }]);
    await db.pool.query('ALTER TABLE entries ENABLE TRIGGER entries_name_accounts');
    expect(flagged(await run())).toEqual(['entry-currencies']);
  });

  test("entries in their accounts' currency that is not their transfer's (a USD transfer posted as EUR)", async () => {
    const [erin, frank] = [randomUUID(), randomUUID()];
    await db.pool.query(`INSERT INTO accounts (id, owner, kind, currency, overdraft_limit) VALUES ($1, 'erin', 'USER', 'EUR', 0), ($2, 'frank', 'USER', 'EUR', 0)`, [erin, frank]);
    const euros = await row(db.pool, { kind: 'DEPOSIT', from: null, to: erin, amount: 10n, currency: 'EUR' });
    const externalEur = randomUUID();
    await db.pool.query(`INSERT INTO accounts (id, owner, kind, currency, overdraft_limit) VALUES ($1, 'system', 'EXTERNAL', 'EUR', NULL)`, [externalEur]);
    await post(db.pool, euros, [{ account: externalEur, amount: -10n }, { account: erin, amount: 10n }]);
    // The trigger of 0034 lets these in: each entry is in its own account's currency.
    const dollars = await row(db.pool, { kind: 'TRANSFER', from: erin, to: frank, amount: 10n, currency: 'USD' });
    await post(db.pool, dollars, [{ account: erin, amount: -10n }, { account: frank, amount: 10n }]);
    expect(flagged(await run())).toEqual(['entry-currencies']);
  });

  test('a closed account opened again and credited after its close', async () => {
    await db.pool.query(
      `INSERT INTO account_changes (id, account_id, status, outcome, principal, request_hash, seq_at, created_at, applied_at)
       VALUES ($1, $2, 'CLOSED', 'APPLIED', 'carol', 'h', 0, now(), now())`,
      [randomUUID(), CAROL],
    );
    const d = await row(db.pool, { kind: 'DEPOSIT', from: null, to: CAROL, amount: 70n });
    await post(db.pool, d, [{ account: EXTERNAL, amount: -70n }, { account: CAROL, amount: 70n }]);
    expect(flagged(await run())).toEqual(['closed-accounts-empty']);
  });

  test("a reversal of alice's deposit paid by bob", async () => {
    const { rows } = await db.pool.query<{ id: string }>(`SELECT id FROM transfers WHERE to_account_id = $1`, [ALICE]);
    const r = await row(db.pool, { kind: 'REVERSAL', from: BOB, to: null, amount: 100n, reverses: rows[0]!.id });
    await post(db.pool, r, [{ account: BOB, amount: -100n }, { account: EXTERNAL, amount: 100n }]);
    await db.pool.query(`INSERT INTO transfer_reversals (transfer_id, reversed_amount) VALUES ($1, 100)`, [rows[0]!.id]);
    expect(flagged(await run())).toEqual(['reversals-mirror-original']);
  });

  test('a balance_after at the top of bigint followed by a credit: reported, not an abort', async () => {
    const { rows } = await db.pool.query<{ id: string }>(`SELECT id FROM transfers WHERE to_account_id = $1`, [ALICE]);
    await db.pool.query(
      `INSERT INTO entries (account_id, seq, transfer_id, leg, amount, balance_after, currency, partition) VALUES
         ($1, 2, $2, 'CREDIT', 1, 9223372036854775807, 'USD', 0), ($1, 3, $2, 'CREDIT', 1, 102, 'USD', 0)`,
      [ALICE, rows[0]!.id],
    );
    await db.pool.query(`UPDATE accounts SET seq = 3, balance = 102 WHERE id = $1`, [ALICE]);
    expect(flagged(await run())).toContain('balance-after-chained');
  });

  test("alice's hold of 30 captured with bob's money", async () => {
    const [hold, capture] = [randomUUID(), randomUUID()];
    await db.pool.query(
      `INSERT INTO holds (id, account_id, bucket, amount, captured_amount, currency, status, principal, request_hash, partition, capture_id, expires_at, created_at, completed_at)
       VALUES ($1, $2, 0, 30, 30, 'USD', 'CAPTURED', 'alice', 'h', 0, $3, now() + interval '1 hour', now(), now())`,
      [hold, ALICE, capture],
    );
    await db.pool.query(
      `INSERT INTO transfers (id, kind, status, from_account_id, to_account_id, amount, currency, principal, request_hash, source_partition, created_at, completed_at, hold_id)
       VALUES ($1, 'CAPTURE', 'COMPLETED', $2, $3, 30, 'USD', 'alice', 'h', 0, now(), now(), $4)`,
      [capture, BOB, CAROL, hold],
    );
    await post(db.pool, capture, [{ account: BOB, amount: -30n }, { account: CAROL, amount: 30n }]);
    expect(flagged(await run())).toEqual(['captures-paid-by-their-hold']);
    // Paid by the hold's account, but for more than the hold: reported too.
    await db.pool.query('UPDATE transfers SET from_account_id = $2, amount = 40 WHERE id = $1', [capture, ALICE]);
    expect((await run()).checks.find((c) => c.name === 'captures-paid-by-their-hold')!.violations).toBe(1);
  });
});
