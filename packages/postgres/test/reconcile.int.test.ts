// Proves each of reconcile()'s checks below names the violation it exists for, so that a check
// rewritten to report nothing fails here: transfer-balanced, seq-contiguous,
// balance-after-chained, no-overdraft, entry-transfers-exist, entries-agree-with-status,
// in-flight-equals-transit and holds-end-once. Each test plants
// exactly one violation, in SQL, on a consistent ledger of its own database (a deposit into a
// user account) and checks that reconcile reports that one and nothing else; the
// exceptions are transfer-balanced, whose plant conservation must report too, and the
// first-entry case of balance-after-chained, which balance-equals-entries reports too (see there).
// ledgerctl's reconcile test (apps/ledgerctl/test) plants the other checks' violations;
// reconcile-every-movement.int.test.ts runs them all on a ledger real workers wrote.
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { type ReconcileReport, createPool, inTransaction, reconcile } from '../src';
import { type TestDatabase, createTestDatabase, useTestDatabase } from '../../../test/support/database';
import { testServices } from '../../../test/support/env';

const EXTERNAL = randomUUID();
const TRANSIT = randomUUID();
const ALICE = randomUUID();
const BOB = randomUUID();

type Kind = 'TRANSFER' | 'DEPOSIT' | 'WITHDRAWAL' | 'CAPTURE';
type Status = 'PROCESSING' | 'COMPLETED' | 'REJECTED';

/** A transfers row as the writer leaves it: a reason only when REJECTED, completed unless PROCESSING. */
async function transfer(
  pool: Pool,
  t: { kind: Kind; status: Status; from: string | null; to: string | null; amount: bigint; holdId?: string },
): Promise<string> {
  const id = randomUUID();
  await pool.query(
    `INSERT INTO transfers (id, kind, status, reason, from_account_id, to_account_id, amount, currency, principal, request_hash,
                            source_partition, created_at, completed_at, hold_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'USD', 'reconcile-test', 'hash', 0, now(), $8, $9)`,
    [
      id,
      t.kind,
      t.status,
      t.status === 'REJECTED' ? 'INSUFFICIENT_FUNDS' : null,
      t.from,
      t.to,
      t.amount.toString(),
      t.status === 'PROCESSING' ? null : new Date(),
      t.holdId ?? null,
    ],
  );
  return id;
}

/**
 * Posts `transferId`'s entries as the writer does: each account's next seq (unless `seq` is
 * given), its balance_after (unless `balanceAfter` is given), and the account's balance and
 * seq moved to match.
 */
async function post(
  pool: Pool,
  transferId: string,
  legs: { account: string; amount: bigint; seq?: bigint; currency?: string; balanceAfter?: bigint }[],
): Promise<void> {
  await inTransaction(pool, async (client) => {
    for (const leg of legs) {
      const { rows } = await client.query<{ balance: string; seq: string }>('SELECT balance, seq FROM accounts WHERE id = $1', [leg.account]);
      const seq = leg.seq ?? BigInt(rows[0]!.seq) + 1n;
      const balance = BigInt(rows[0]!.balance) + leg.amount;
      const balanceAfter = leg.balanceAfter ?? balance;
      await client.query(
        `INSERT INTO entries (account_id, seq, transfer_id, leg, amount, balance_after, currency, partition)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0)`,
        [leg.account, seq.toString(), transferId, leg.amount < 0n ? 'DEBIT' : 'CREDIT', leg.amount.toString(), balanceAfter.toString(), leg.currency ?? 'USD'],
      );
      await client.query('UPDATE accounts SET balance = $2, seq = $3, rev = rev + 1 WHERE id = $1', [leg.account, balance.toString(), seq.toString()]);
    }
  });
}

function violations(report: ReconcileReport): Record<string, number> {
  return Object.fromEntries(report.checks.map((c) => [c.name, c.violations]));
}

/** Every check of `report` at 0 but the `planted` ones (a misspelt name there is an extra key). */
function only(report: ReconcileReport, planted: Record<string, number>): Record<string, number> {
  return { ...Object.fromEntries(report.checks.map((c) => [c.name, 0])), ...planted };
}

function examplesOf(report: ReconcileReport, name: string): string[] {
  return report.checks.find((c) => c.name === name)?.examples ?? [];
}

describe('reconcile() reports each planted violation under its own check', () => {
  let db: TestDatabase;

  const run = () => reconcile(db.pool, { outboxAgeMaxMs: 3_600_000 });

  // A database per test: each plant is the only thing wrong with its ledger.
  beforeEach(async () => {
    db = await createTestDatabase(1);
    await db.pool.query(
      `INSERT INTO accounts (id, owner, kind, currency, overdraft_limit) VALUES
         ($1, 'system', 'EXTERNAL', 'USD', NULL), ($2, 'system', 'TRANSIT', 'USD', NULL),
         ($3, 'alice', 'USER', 'USD', 0), ($4, 'bob', 'USER', 'USD', 0)`,
      [EXTERNAL, TRANSIT, ALICE, BOB],
    );
    const funding = await transfer(db.pool, { kind: 'DEPOSIT', status: 'COMPLETED', from: null, to: ALICE, amount: 100n });
    await post(db.pool, funding, [
      { account: EXTERNAL, amount: -100n },
      { account: ALICE, amount: 100n },
    ]);
  });
  afterEach(async () => {
    await db.drop();
  });

  test('the consistent ledger the plants start from: every check reports 0', async () => {
    const report = await run();
    expect(violations(report)).toEqual(only(report, {}));
    expect(report.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        'transfer-balanced',
        'seq-contiguous',
        'balance-after-chained',
        'no-overdraft',
        'entry-transfers-exist',
        'entries-agree-with-status',
        'in-flight-equals-transit',
        'holds-end-once',
      ]),
    );
    expect([report.accounts, report.transfers]).toEqual([4, 1]);
  });

  test('transfer-balanced: a deposit whose external leg is missing nets +5', async () => {
    // Only alice's credit is written. Each currency's balances sum to all of its entries, so a
    // transfer that does not net to zero unbalances its currency too: conservation must see it
    // as well, and no plant of this check can avoid that. Every other check stays at 0.
    const deposit = await transfer(db.pool, { kind: 'DEPOSIT', status: 'COMPLETED', from: null, to: ALICE, amount: 5n });
    await post(db.pool, deposit, [{ account: ALICE, amount: 5n }]);
    const report = await run();
    expect(violations(report)).toEqual(only(report, { 'transfer-balanced': 1, conservation: 1 }));
    expect(examplesOf(report, 'transfer-balanced')).toEqual([`${deposit} nets 5 USD`]);
  });

  test('transfer-balanced counts each currency apart: +1 USD and -1 EUR in one transfer do not net to zero', async () => {
    const [aliceEuros, externalEuros] = [randomUUID(), randomUUID()];
    await db.pool.query(
      `INSERT INTO accounts (id, owner, kind, currency, overdraft_limit) VALUES ($1, 'alice', 'USER', 'EUR', 0), ($2, 'system', 'EXTERNAL', 'EUR', NULL)`,
      [aliceEuros, externalEuros],
    );
    const deposit = await transfer(db.pool, { kind: 'DEPOSIT', status: 'COMPLETED', from: null, to: ALICE, amount: 1n });
    await post(db.pool, deposit, [
      { account: externalEuros, amount: -1n, currency: 'EUR' },
      { account: ALICE, amount: 1n },
    ]);
    const report = await run();
    expect(violations(report)['transfer-balanced']).toBe(2);
    expect(examplesOf(report, 'transfer-balanced').sort()).toEqual([`${deposit} nets -1 EUR`, `${deposit} nets 1 USD`].sort());
  });

  test('seq-contiguous: a withdrawal posted at seq 3 of an account whose last entry is seq 1', async () => {
    // Balanced, balances and balance_after right, the account's seq its highest entry's: only
    // the missing seq 2 is wrong.
    const withdrawal = await transfer(db.pool, { kind: 'WITHDRAWAL', status: 'COMPLETED', from: ALICE, to: null, amount: 30n });
    await post(db.pool, withdrawal, [
      { account: ALICE, amount: -30n, seq: 3n },
      { account: EXTERNAL, amount: 30n },
    ]);
    const report = await run();
    expect(violations(report)).toEqual(only(report, { 'seq-contiguous': 1 }));
    expect(examplesOf(report, 'seq-contiguous')).toEqual([`${ALICE}: 2 entries, max seq 3, account seq 3`]);
  });

  test('balance-after-chained: a balance_after wrong in the middle of an account, its balance and last balance_after right', async () => {
    // Found by an outside review: the balance at a past instant (GET .../balance?at=) is read
    // straight from an intermediate entry's balance_after, and the other checks see only the
    // last one. Alice's +5 says 999 where 105 is right; her -5 after it says 100 again, so her
    // balance, its entries' sum and her last balance_after all agree. Two entries are off the
    // chain (the 999, and the 100 that does not follow from it); one account is named.
    const deposit = await transfer(db.pool, { kind: 'DEPOSIT', status: 'COMPLETED', from: null, to: ALICE, amount: 5n });
    await post(db.pool, deposit, [
      { account: EXTERNAL, amount: -5n },
      { account: ALICE, amount: 5n, balanceAfter: 999n },
    ]);
    const withdrawal = await transfer(db.pool, { kind: 'WITHDRAWAL', status: 'COMPLETED', from: ALICE, to: null, amount: 5n });
    await post(db.pool, withdrawal, [
      { account: ALICE, amount: -5n },
      { account: EXTERNAL, amount: 5n },
    ]);
    const report = await run();
    expect(violations(report)).toEqual(only(report, { 'balance-after-chained': 1 }));
    expect(examplesOf(report, 'balance-after-chained')).toEqual([`${ALICE}: seq 2: balance_after 999, previous 100 + amount 5 (2 entries off the chain)`]);
  });

  test("balance-after-chained: an account's first entry counts from 0", async () => {
    // Bob's first entry, +10, says 50, and his second follows from it (50 - 10 = 40): only the
    // first is off the chain, which only a chain starting at 0 sees. His balance (0, the sum of
    // his entries) disagrees with his last balance_after (40), which balance-equals-entries
    // reports as well.
    const payIn = await transfer(db.pool, { kind: 'DEPOSIT', status: 'COMPLETED', from: null, to: BOB, amount: 10n });
    await post(db.pool, payIn, [
      { account: EXTERNAL, amount: -10n },
      { account: BOB, amount: 10n, balanceAfter: 50n },
    ]);
    const payOut = await transfer(db.pool, { kind: 'WITHDRAWAL', status: 'COMPLETED', from: BOB, to: null, amount: 10n });
    await post(db.pool, payOut, [
      { account: BOB, amount: -10n, balanceAfter: 40n },
      { account: EXTERNAL, amount: 10n },
    ]);
    const report = await run();
    expect(violations(report)).toEqual(only(report, { 'balance-after-chained': 1, 'balance-equals-entries': 1 }));
    expect(examplesOf(report, 'balance-after-chained')).toEqual([`${BOB}: seq 1: balance_after 50, previous 0 + amount 10 (1 entry off the chain)`]);
  });

  test('entry-transfers-exist: a balanced pair of entries whose transfer has no row', async () => {
    // Found by an outside review: entries-agree-with-status starts from the transfers, so
    // entries of a transfer with no row were examined by nothing. This pair nets zero, every
    // balance and balance_after follows from it: only the missing row is wrong.
    const orphan = randomUUID();
    await post(db.pool, orphan, [
      { account: EXTERNAL, amount: -5n },
      { account: ALICE, amount: 5n },
    ]);
    const report = await run();
    expect(violations(report)).toEqual(only(report, { 'entry-transfers-exist': 1 }));
    expect(examplesOf(report, 'entry-transfers-exist')).toEqual([`${orphan} has 2 entries and no transfer`]);
  });

  test('no-overdraft: a withdrawal of 150 from a balance of 100 with no overdraft allowed', async () => {
    // The database's backstop refuses this balance: 0001's CHECK balance >= -overdraft_limit
    // (named accounts_check1 by Postgres) and 0007's accounts_available_within_limit. Both are
    // dropped, in this test's own database only, to show reconcile's check catches an
    // overdraft that got past them.
    await db.pool.query('ALTER TABLE accounts DROP CONSTRAINT accounts_check1, DROP CONSTRAINT accounts_available_within_limit');
    const withdrawal = await transfer(db.pool, { kind: 'WITHDRAWAL', status: 'COMPLETED', from: ALICE, to: null, amount: 150n });
    await post(db.pool, withdrawal, [
      { account: ALICE, amount: -150n },
      { account: EXTERNAL, amount: 150n },
    ]);
    const report = await run();
    expect(violations(report)).toEqual(only(report, { 'no-overdraft': 1 }));
    expect(examplesOf(report, 'no-overdraft')).toEqual([`${ALICE}: balance -50 below -0`]);
  });

  test('entries-agree-with-status: a REJECTED transfer whose entries moved its money', async () => {
    const rejected = await transfer(db.pool, { kind: 'TRANSFER', status: 'REJECTED', from: ALICE, to: BOB, amount: 10n });
    await post(db.pool, rejected, [
      { account: ALICE, amount: -10n },
      { account: BOB, amount: 10n },
    ]);
    const report = await run();
    expect(violations(report)).toEqual(only(report, { 'entries-agree-with-status': 1 }));
    expect(examplesOf(report, 'entries-agree-with-status')).toEqual([`${rejected} REJECTED: from -10, to 10, amount 10`]);
  });

  test('in-flight-equals-transit: a PROCESSING transfer whose debited money went to the external account, not transit', async () => {
    // The source is debited and the destination not yet credited, as PROCESSING requires; the
    // transit account, which should hold the 10 in flight, holds nothing.
    const flying = await transfer(db.pool, { kind: 'TRANSFER', status: 'PROCESSING', from: ALICE, to: BOB, amount: 10n });
    await post(db.pool, flying, [
      { account: ALICE, amount: -10n },
      { account: EXTERNAL, amount: 10n },
    ]);
    const report = await run();
    expect(violations(report)).toEqual(only(report, { 'in-flight-equals-transit': 1 }));
    expect(examplesOf(report, 'in-flight-equals-transit')).toEqual(['USD: transit accounts hold 0, PROCESSING transfers carry 10']);
    expect(report.inFlight).toEqual([{ currency: 'USD', amount: 10n }]);
  });

  test('holds-end-once: a VOIDED hold whose capture moved money', async () => {
    // The hold was voided (so alice's held is back to 0), yet a capture of it completed: the
    // hold ended twice. The capture's entries agree with its status; only the hold's end is wrong.
    const hold = randomUUID();
    await db.pool.query(
      `INSERT INTO holds (id, account_id, bucket, amount, currency, status, principal, request_hash, partition, expires_at, created_at, completed_at)
       VALUES ($1, $2, 0, 20, 'USD', 'VOIDED', 'alice', 'hash', 0, now() + interval '1 hour', now(), now())`,
      [hold, ALICE],
    );
    const capture = await transfer(db.pool, { kind: 'CAPTURE', status: 'COMPLETED', from: ALICE, to: BOB, amount: 20n, holdId: hold });
    await post(db.pool, capture, [
      { account: ALICE, amount: -20n },
      { account: BOB, amount: 20n },
    ]);
    const report = await run();
    expect(violations(report)).toEqual(only(report, { 'holds-end-once': 1 }));
    expect(examplesOf(report, 'holds-end-once')).toEqual([`${hold} is VOIDED (captured 0) with 1 captures moving money`]);
  });

  test('many violations: each check counts them all and reads only its first five (an outside review: every violating row came back)', async () => {
    // Seven unpublished outbox rows past the age, and seven accounts whose balance no entry
    // explains: a ledger with thousands of these (an outbox stalled for hours) sent every row
    // to the process, which may be a worker's scheduled run.
    await db.pool.query(
      `INSERT INTO outbox (source_partition, topic, target_partition, message_key, payload, created_at)
       SELECT 0, 'events', 0, NULL, '{}'::jsonb, now() - interval '2 hours' FROM generate_series(1, 7)`,
    );
    await db.pool.query(
      `INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, balance)
       SELECT gen_random_uuid(), 'carol', 'USER', 'USD', 0, 1 FROM generate_series(1, 7)`,
    );
    const admin = new Pool({ connectionString: testServices().databaseDirectUrl, max: 1 });
    let report: ReconcileReport;
    let outboxRowsRead: number;
    try {
      await admin.query('SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = $1), 0)', [db.name]);
      report = await run();
      const { rows } = await admin.query(
        `SELECT coalesce(sum(s.rows), 0)::int AS n FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
          WHERE d.datname = $1 AND s.query LIKE '%FROM outbox WHERE published_at IS NULL%'`,
        [db.name],
      );
      outboxRowsRead = rows[0].n;
    } finally {
      await admin.end();
    }
    expect(outboxRowsRead).toBe(5); // 7 before: one row per violation
    expect(violations(report)).toMatchObject({ 'outbox-published': 7, 'balance-equals-entries': 7 });
    expect(examplesOf(report, 'outbox-published')).toHaveLength(5);
    expect(examplesOf(report, 'outbox-published')[0]).toMatch(/^outbox \d+ \(events\) unpublished since /);
    expect(examplesOf(report, 'balance-equals-entries')).toHaveLength(5);
  });
});

describe('reconcile() on a ledger of some size', () => {
  const ctx = useTestDatabase(1);

  test('every check reads its tables once: 30,000 transfers and 60,000 entries reconcile with a 30 s deadline on each statement', async () => {
    // The 600 s chaos run's proof, on about 50,000 transfers, found a check that had run for
    // three minutes: with LIMIT 5 over its query, Postgres chose a plan fast for the first
    // rows, a nested loop reading every entry once per transfer (entries have no index by
    // transfer). Planned whole, as a check is meant to be, the same check took well under a
    // second. This is not a timing figure: the timeout is a bound the right plans are far
    // inside, and a plan that reads a table per row of another is far past.
    await ctx.db.pool.query(
      `INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, balance, seq) VALUES
         ('00000000-0000-4000-8000-000000000001', 'system', 'EXTERNAL', 'USD', NULL, -30000, 30000),
         ('00000000-0000-4000-8000-000000000002', 'bulk', 'USER', 'USD', 0, 30000, 30000)`,
    );
    await ctx.db.pool.query(
      `INSERT INTO transfers (id, kind, status, to_account_id, amount, currency, principal, request_hash, source_partition, created_at, completed_at)
       SELECT md5('t' || i)::uuid, 'DEPOSIT', 'COMPLETED', '00000000-0000-4000-8000-000000000002', 1, 'USD', 'bulk', 'h', 0, now(), now()
         FROM generate_series(1, 30000) i`,
    );
    await ctx.db.pool.query(
      `INSERT INTO entries (account_id, seq, transfer_id, leg, amount, balance_after, currency, partition)
       SELECT a.id, i, md5('t' || i)::uuid, a.leg, a.sign, a.sign * i, 'USD', 0
         FROM generate_series(1, 30000) i,
              (VALUES ('00000000-0000-4000-8000-000000000001'::uuid, 'DEBIT', -1), ('00000000-0000-4000-8000-000000000002'::uuid, 'CREDIT', 1)) AS a(id, leg, sign)`,
    );
    await ctx.db.pool.query('ANALYZE');
    const bounded = createPool({ connectionString: ctx.db.url, connectionsMax: 1, connectTimeoutMs: 10_000, applicationName: 'test', queryTimeoutMs: 30_000 });
    try {
      const report = await reconcile(bounded, { outboxAgeMaxMs: 3_600_000 });
      expect(report.transfers).toBe(30_000);
      expect(report.checks.filter((c) => c.violations > 0)).toEqual([]);
    } finally {
      await bounded.end();
    }
  }, 120_000);
});
