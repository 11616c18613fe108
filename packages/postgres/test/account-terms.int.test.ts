// An account's status and overdraft limit change only by an applied account change
// (docs/design.md, invariant 6): the batch function writes a status or a limit other than the
// row's only when an APPLIED account change of the same batch, for that account, names that
// value (migration 0035). These tests hand the batch write what a broken in-memory apply
// would. Remove 0035's two conditions from the balances UPDATE and the first three tests fail
// (the new terms are committed); the fourth shows genuine changes still pass, the fifth that
// another writer's conflict is still told apart.
import { type AccountChangeEffect, type AccountState, noEffects } from '@ledgerline/domain';
import { claimPartition, classifyWriteFailure, writeBatch } from '../src';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';

const TOPIC = 'account-terms';

describe("an account's status and limit move only with an applied account change", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(1);
  });
  afterAll(async () => {
    await db.drop();
  });

  async function openAccount(status: 'OPEN' | 'FROZEN', overdraftLimit: bigint): Promise<AccountState> {
    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, status, balance, seq)
       VALUES (gen_random_uuid(), 'account-terms', 'USER', 'USD', $1, $2, 0, 0) RETURNING id`,
      [overdraftLimit.toString(), status],
    );
    return { id: rows[0]!.id, owner: 'account-terms', kind: 'USER', currency: 'USD', status, overdraftLimit, balance: 0n, seq: 0n, held: 0n, rev: 0n };
  }

  function change(account: AccountState, terms: { status?: 'OPEN' | 'FROZEN' | 'CLOSED'; overdraftLimit?: bigint }, outcome: 'APPLIED' | 'REJECTED'): AccountChangeEffect {
    return {
      id: crypto.randomUUID(),
      accountId: account.id,
      status: terms.status ?? null,
      overdraftLimit: terms.overdraftLimit ?? null,
      outcome,
      reason: outcome === 'APPLIED' ? null : 'FORBIDDEN',
      principal: 'admin',
      requestHash: 'h'.repeat(64),
      seqAt: account.seq,
      createdAt: new Date().toISOString(),
      appliedAt: new Date().toISOString(),
    };
  }

  /** Writes `after` over `before` (rev moved by one), with `changes` beside it, as the worker does. */
  async function write(before: AccountState, after: Partial<AccountState>, changes: AccountChangeEffect[]) {
    const claim = await claimPartition(db.pool, TOPIC, 0, 'owner');
    return writeBatch(db.pool, {
      claim,
      fromOffset: claim.nextOffset,
      toOffset: claim.nextOffset + 1n,
      before: new Map([[before.id, before]]),
      outbox: [],
      effects: { ...noEffects(), accounts: [{ ...before, ...after, rev: before.rev + 1n }], accountChanges: changes },
    });
  }

  async function termsOf(id: string) {
    return (await db.pool.query('SELECT status, overdraft_limit, rev FROM accounts WHERE id = $1', [id])).rows[0];
  }

  async function nextOffset(): Promise<string> {
    return (await db.pool.query('SELECT next_offset FROM partition_state WHERE topic = $1', [TOPIC])).rows[0].next_offset;
  }

  test('a raised limit with no account change is refused (23514) as a deterministic failure, and nothing of the batch is written', async () => {
    const account = await openAccount('OPEN', 0n);
    await claimPartition(db.pool, TOPIC, 0, 'owner');
    const offset = await nextOffset();
    const failure = await write(account, { overdraftLimit: 1_000_000n }, []).catch((error: unknown) => error);
    expect(failure).toMatchObject({
      code: '23514',
      message: `account ${account.id} would go from OPEN with overdraft limit 0 to OPEN with 1000000, and no applied account change in this batch says so`,
    });
    expect(classifyWriteFailure(failure)).toBe('deterministic');
    expect(await termsOf(account.id)).toEqual({ status: 'OPEN', overdraft_limit: '0', rev: '0' });
    expect(await nextOffset()).toBe(offset);
  });

  test('a frozen account opened again with no account change is refused', async () => {
    const account = await openAccount('FROZEN', 0n);
    await expect(write(account, { status: 'OPEN' }, [])).rejects.toMatchObject({ code: '23514' });
    expect(await termsOf(account.id)).toEqual({ status: 'FROZEN', overdraft_limit: '0', rev: '0' });
  });

  test('a rejected change, or an applied one of another account or value, does not explain new terms', async () => {
    const account = await openAccount('OPEN', 0n);
    const other = await openAccount('OPEN', 0n);
    await expect(write(account, { overdraftLimit: 500n }, [change(account, { overdraftLimit: 500n }, 'REJECTED')])).rejects.toMatchObject({ code: '23514' });
    await expect(write(account, { overdraftLimit: 500n }, [change(account, { overdraftLimit: 400n }, 'APPLIED')])).rejects.toMatchObject({ code: '23514' });
    await expect(write(account, { overdraftLimit: 500n }, [change(other, { overdraftLimit: 500n }, 'APPLIED')])).rejects.toMatchObject({ code: '23514' });
    await expect(write(account, { status: 'CLOSED' }, [change(account, { overdraftLimit: 0n }, 'APPLIED')])).rejects.toMatchObject({ code: '23514' });
    expect(await termsOf(account.id)).toEqual({ status: 'OPEN', overdraft_limit: '0', rev: '0' });
  });

  test('new terms named by applied changes of the same batch are written, two changes folded into one row too', async () => {
    const account = await openAccount('OPEN', 0n);
    await write(account, { status: 'FROZEN', overdraftLimit: 700n }, [
      change(account, { status: 'FROZEN' }, 'APPLIED'),
      change(account, { overdraftLimit: 700n }, 'APPLIED'),
    ]);
    expect(await termsOf(account.id)).toEqual({ status: 'FROZEN', overdraft_limit: '700', rev: '1' });
    // A later batch that only moves rev (a hold, say) keeps the terms without a change.
    await write({ ...account, status: 'FROZEN', overdraftLimit: 700n, rev: 1n }, {}, []);
    expect(await termsOf(account.id)).toEqual({ status: 'FROZEN', overdraft_limit: '700', rev: '2' });
  });

  test('a row another writer moved is still the concurrent-writer failure (LL002), whatever its terms', async () => {
    const account = await openAccount('OPEN', 0n);
    await write(account, {}, []);
    // Written from rev 0 again: stale, with and without new terms.
    await expect(write(account, {}, [])).rejects.toMatchObject({ code: 'LL002' });
    await expect(write(account, { overdraftLimit: 9n }, [])).rejects.toMatchObject({ code: 'LL002' });
    expect(await termsOf(account.id)).toEqual({ status: 'OPEN', overdraft_limit: '0', rev: '1' });
  });
});
