// Every entry names an existing account (docs/design.md, invariant 2), guarded by the
// database itself: a statement trigger on `entries` checks each INSERT's accounts once
// (migration 0013; a foreign key did it per row before), and accounts are never removed, so
// an entry's account cannot disappear afterwards. The same trigger refuses an entry in
// another currency than its account's (migration 0034). Drop the entries trigger and the first
// four tests fail (an entry for nobody, or in the wrong currency, is committed); drop the
// accounts triggers and the last one does.
import { noEffects } from '@ledgerline/domain';
import { claimPartition, writeBatch } from '../src';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';

const TOPIC = 'entry-accounts';
const NOBODY = '00000000-0000-4000-8000-00000000dead';

describe('every entry names an existing account', () => {
  let db: TestDatabase;
  let known: string;
  beforeAll(async () => {
    db = await createTestDatabase(1);
    known = await openAccount();
  });
  afterAll(async () => {
    await db.drop();
  });

  /** One batch of two entries (a balanced pair) through the function, as the worker sends it. */
  async function applyPair(claimOffset: bigint, debit: string, credit: string) {
    const claim = await claimPartition(db.pool, TOPIC, 0, 'owner');
    const transferId = crypto.randomUUID();
    const entry = (accountId: string, amount: string) => ({
      account_id: accountId,
      seq: '1',
      transfer_id: transferId,
      leg: 'DEBIT',
      amount,
      balance_after: amount,
      currency: 'USD',
    });
    const batch = {
      created: [],
      entries: [entry(debit, '-5'), entry(credit, '5')],
      balances: [],
      transfers: [],
      statuses: [],
      legs: [],
      fence_move_ids: [],
      outbox: [],
    };
    return db.pool.query('SELECT ledger_apply_batch($1, $2, $3, $4, $5, $6::jsonb)', [
      claim.topic,
      claim.partition,
      claim.epoch.toString(),
      claimOffset.toString(),
      (claimOffset + 1n).toString(),
      JSON.stringify(batch),
    ]);
  }

  async function openAccount(): Promise<string> {
    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, balance, seq)
       VALUES (gen_random_uuid(), 'entry-accounts', 'USER', 'USD', 0, 0, 0) RETURNING id`,
    );
    return rows[0]!.id;
  }

  async function entriesOf(accountId: string): Promise<number> {
    return Number((await db.pool.query('SELECT count(*) FROM entries WHERE account_id = $1', [accountId])).rows[0].count);
  }

  test('a batch with an entry for an account that does not exist is refused whole, as a foreign key violation', async () => {
    await claimPartition(db.pool, TOPIC, 0, 'owner');
    const before = await db.pool.query('SELECT next_offset FROM partition_state WHERE topic = $1', [TOPIC]);
    expect(before.rows).toEqual([{ next_offset: '0' }]);
    await expect(applyPair(0n, known, NOBODY)).rejects.toMatchObject({ code: '23503', message: expect.stringContaining(NOBODY) });
    // Nothing of it: not the valid entry, not the offset.
    expect(await entriesOf(known)).toBe(0);
    expect(await entriesOf(NOBODY)).toBe(0);
    const after = await db.pool.query('SELECT next_offset FROM partition_state WHERE topic = $1', [TOPIC]);
    expect(after.rows).toEqual(before.rows);
  });

  test('the worker isolates such a write as a deterministic failure of its command', async () => {
    // writeBatch is what the worker calls; the SQLSTATE is what classifies the failure.
    const claim = await claimPartition(db.pool, TOPIC, 0, 'owner');
    const write = writeBatch(db.pool, {
      claim,
      fromOffset: claim.nextOffset,
      toOffset: claim.nextOffset + 1n,
      before: new Map(),
      outbox: [],
      effects: {
        ...noEffects(),
        entries: [{ accountId: NOBODY, seq: 1n, transferId: crypto.randomUUID(), step: 'CREDIT', amount: 5n, balanceAfter: 5n, currency: 'USD' }],
      },
    });
    await expect(write).rejects.toMatchObject({ code: '23503' });
  });

  test('the check is the table\'s, not the batch function\'s: a plain INSERT is refused too', async () => {
    await expect(
      db.pool.query(
        `INSERT INTO entries (account_id, seq, transfer_id, leg, amount, balance_after, currency, partition)
         VALUES ($1, 1, gen_random_uuid(), 'CREDIT', 1, 1, 'USD', 0), ($2, 1, gen_random_uuid(), 'CREDIT', 1, 1, 'USD', 0)`,
        [await openAccount(), NOBODY],
      ),
    ).rejects.toMatchObject({ code: '23503' });
    expect(await entriesOf(NOBODY)).toBe(0);
  });

  test("an entry in another currency than its account's is refused whole, through the function or not (an outside review)", async () => {
    const euros = (await db.pool.query<{ id: string }>(
      `INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, balance, seq)
       VALUES (gen_random_uuid(), 'entry-accounts', 'USER', 'EUR', 0, 0, 0) RETURNING id`,
    )).rows[0]!.id;
    const dollars = await openAccount();
    const offset = (await claimPartition(db.pool, TOPIC, 0, 'owner')).nextOffset;
    // applyPair's entries are in USD: the EUR account's credit is the wrong one.
    await expect(applyPair(offset, dollars, euros)).rejects.toMatchObject({ code: '23514', message: `an entry in USD names account ${euros}, which is in EUR` });
    await expect(
      db.pool.query(`INSERT INTO entries (account_id, seq, transfer_id, leg, amount, balance_after, currency, partition) VALUES ($1, 1, gen_random_uuid(), 'CREDIT', 1, 1, 'EUR', 0)`, [dollars]),
    ).rejects.toMatchObject({ code: '23514' });
    expect([await entriesOf(dollars), await entriesOf(euros)]).toEqual([0, 0]);
  });

  test('entries for existing accounts go in', async () => {
    const [one, other] = [await openAccount(), await openAccount()];
    const offset = (await claimPartition(db.pool, TOPIC, 0, 'owner')).nextOffset;
    await applyPair(offset, one, other);
    expect(await entriesOf(one)).toBe(1);
    expect(await entriesOf(other)).toBe(1);
  });

  test('accounts are never removed, not even by the schema owner', async () => {
    await expect(db.pool.query('DELETE FROM accounts WHERE id = $1', [known])).rejects.toMatchObject({ code: '23001' });
    await expect(db.pool.query('TRUNCATE accounts CASCADE')).rejects.toMatchObject({ code: '23001' });
    expect((await db.pool.query('SELECT count(*) FROM accounts WHERE id = $1', [known])).rows[0].count).toBe('1');
  });
});
