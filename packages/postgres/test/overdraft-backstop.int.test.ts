// No overdraft beyond an account's limit, holds counted (docs/design.md, invariant 6). The
// single writer checks it at apply time; the database is the backstop: two CHECK constraints
// on `accounts` (0001: balance >= -overdraft_limit; 0007 `accounts_available_within_limit`:
// balance - held >= -overdraft_limit). These tests hand the batch write what a broken
// in-memory apply would: balances past the limit. Drop 0007's constraint and the second test
// fails (the overdraft is committed); drop both and the first does too (with `held` never
// negative, 0007's constraint alone also refuses the first test's balance).
import { type AccountState, noEffects } from '@ledgerline/domain';
import { claimPartition, classifyWriteFailure, writeBatch } from '../src';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';

const TOPIC = 'overdraft-backstop';

describe('the database refuses an overdraft the writer let through', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(1);
  });
  afterAll(async () => {
    await db.drop();
  });

  async function openAccount(overdraftLimit: bigint | null, balance: bigint): Promise<AccountState> {
    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, balance, seq)
       VALUES (gen_random_uuid(), 'overdraft-backstop', $1, 'USD', $2, $3, 0) RETURNING id`,
      [overdraftLimit === null ? 'EXTERNAL' : 'USER', overdraftLimit?.toString() ?? null, balance.toString()],
    );
    return {
      id: rows[0]!.id,
      owner: 'overdraft-backstop',
      kind: overdraftLimit === null ? 'EXTERNAL' : 'USER',
      currency: 'USD',
      status: 'OPEN',
      overdraftLimit,
      balance,
      seq: 0n,
      held: 0n,
      rev: 0n,
    };
  }

  /** Moves `amount` from `payer` to `payee` and sets the payer's `held`, as a buggy apply might. */
  async function move(payer: AccountState, payee: AccountState, amount: bigint, payerHeld: bigint) {
    const claim = await claimPartition(db.pool, TOPIC, 0, 'owner');
    const transferId = crypto.randomUUID();
    const payerAfter = { ...payer, balance: payer.balance - amount, seq: 1n, held: payerHeld, rev: 1n };
    const payeeAfter = { ...payee, balance: payee.balance + amount, seq: 1n, rev: 1n };
    return writeBatch(db.pool, {
      claim,
      fromOffset: claim.nextOffset,
      toOffset: claim.nextOffset + 1n,
      before: new Map([
        [payer.id, payer],
        [payee.id, payee],
      ]),
      outbox: [],
      effects: {
        ...noEffects(),
        accounts: [payerAfter, payeeAfter],
        entries: [
          { accountId: payer.id, seq: 1n, transferId, step: 'DEBIT', amount: -amount, balanceAfter: payerAfter.balance, currency: 'USD' },
          { accountId: payee.id, seq: 1n, transferId, step: 'CREDIT', amount, balanceAfter: payeeAfter.balance, currency: 'USD' },
        ],
      },
    });
  }

  async function stateOf(id: string) {
    const { rows } = await db.pool.query('SELECT balance, held, seq FROM accounts WHERE id = $1', [id]);
    const entries = await db.pool.query('SELECT count(*)::int AS n FROM entries WHERE account_id = $1', [id]);
    return { ...rows[0], entries: entries.rows[0].n };
  }

  async function nextOffset(): Promise<string> {
    return (await db.pool.query('SELECT next_offset FROM partition_state WHERE topic = $1', [TOPIC])).rows[0].next_offset;
  }

  test('a balance below -overdraft_limit is refused (23514), as a deterministic failure, and nothing of the batch is written', async () => {
    const payer = await openAccount(50n, 100n);
    const payee = await openAccount(null, 0n);
    await claimPartition(db.pool, TOPIC, 0, 'owner');
    const offset = await nextOffset();
    const failure = await move(payer, payee, 151n, 0n).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: '23514' });
    expect(classifyWriteFailure(failure)).toBe('deterministic');
    expect(await stateOf(payer.id)).toEqual({ balance: '100', held: '0', seq: '0', entries: 0 });
    expect(await stateOf(payee.id)).toEqual({ balance: '0', held: '0', seq: '0', entries: 0 });
    expect(await nextOffset()).toBe(offset);
  });

  test('a balance within the limit whose holds leave less than -overdraft_limit available is refused too', async () => {
    const payer = await openAccount(0n, 100n);
    const payee = await openAccount(null, 0n);
    // 40 left, 41 held: available -1 against a limit of 0.
    const failure = await move(payer, payee, 60n, 41n).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: '23514', constraint: 'accounts_available_within_limit' });
    expect(await stateOf(payer.id)).toEqual({ balance: '100', held: '0', seq: '0', entries: 0 });
  });

  test('the same moves within the limit are written (the refusals above are the limit, not the batch)', async () => {
    const payer = await openAccount(50n, 100n);
    const payee = await openAccount(null, 0n);
    await move(payer, payee, 150n, 0n);
    expect(await stateOf(payer.id)).toEqual({ balance: '-50', held: '0', seq: '1', entries: 1 });
    const holder = await openAccount(0n, 100n);
    await move(holder, await openAccount(null, 0n), 60n, 40n);
    expect(await stateOf(holder.id)).toEqual({ balance: '40', held: '40', seq: '1', entries: 1 });
  });
});
