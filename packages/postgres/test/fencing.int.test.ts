// Proves that a zombie owner whose epoch was bumped by a newer claim can commit nothing,
// that a batch not starting at the stored offset is refused too (docs/design.md, invariant 4), and
// that ledger_apply_batch is all or nothing: a broken single-writer assumption found half-way
// leaves no entry, balance or offset behind; a hold that is no longer HELD or a reversal total
// that moved is refused the same way (invariant 3: a copy changes a row only from the state
// its first application left).
import { randomUUID } from 'node:crypto';
import { type ApplyContext, type Command, applyBatch, externalAccountId } from '@ledgerline/domain';
import {
  ConcurrentWriteError,
  FencedError,
  type PartitionClaim,
  claimPartition,
  inTransaction,
  loadAccountStates,
  loadHoldStates,
  loadReversibleTransfers,
  loadRouting,
  writeBatch,
} from '../src';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { deposit, openAccountOn } from '../../../test/support/ledger';

describe('partition fencing in Postgres', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(2);
  });
  afterAll(async () => {
    await db.drop();
  });

  async function effectsFor(account: string) {
    const routing = await loadRouting(db.pool);
    const accounts = await loadAccountStates(db.pool, [account, externalAccountId(0, 'USD')]);
    return {
      accounts,
      effects: applyBatch(
        { partition: 0, now: new Date().toISOString(), accounts, partitionOf: (id) => routing.partitionOf(id), alreadyApplied: new Set() },
        [deposit(account, 10n)],
      ),
    };
  }

  test('a stale epoch commits nothing; the current owner commits', async () => {
    const routing = await loadRouting(db.pool);
    const account = await openAccountOn(db.pool, routing, 0, 'fence-owner');
    const zombie = await claimPartition(db.pool, 'fence-topic', 0, 'zombie');
    const current = await claimPartition(db.pool, 'fence-topic', 0, 'current');
    expect(current.epoch).toBe(zombie.epoch + 1n);

    const { accounts, effects } = await effectsFor(account);
    // As the worker writes: one statement on the pool, no transaction of the caller's.
    const write = (claim: typeof zombie) => writeBatch(db.pool, { claim, fromOffset: 0n, toOffset: 1n, effects, before: accounts, outbox: [] });

    await expect(write(zombie)).rejects.toBeInstanceOf(FencedError);
    const untouched = await db.pool.query('SELECT balance, seq FROM accounts WHERE id = $1', [account]);
    expect(untouched.rows[0]).toEqual({ balance: '0', seq: '0' });
    expect((await db.pool.query('SELECT count(*) AS n FROM entries')).rows[0].n).toBe('0');

    await write(current);
    const moved = await db.pool.query('SELECT balance, seq FROM accounts WHERE id = $1', [account]);
    expect(moved.rows[0]).toEqual({ balance: '10', seq: '1' });
    const state = await db.pool.query(`SELECT next_offset, epoch FROM partition_state WHERE topic = 'fence-topic'`);
    expect(state.rows[0]).toEqual({ next_offset: '1', epoch: current.epoch.toString() });
  });

  test('a batch that does not start at the stored offset is refused (no double apply)', async () => {
    const routing = await loadRouting(db.pool);
    const account = await openAccountOn(db.pool, routing, 0, 'fence-offset');
    const claim = await claimPartition(db.pool, 'offset-topic', 0, 'owner');
    const { accounts, effects } = await effectsFor(account);
    await inTransaction(db.pool, (c) => writeBatch(c, { claim, fromOffset: 0n, toOffset: 1n, effects, before: accounts, outbox: [] }));
    // The same batch again, as after an ambiguous commit: the offset no longer matches.
    await expect(
      inTransaction(db.pool, (c) => writeBatch(c, { claim, fromOffset: 0n, toOffset: 1n, effects, before: accounts, outbox: [] })),
    ).rejects.toBeInstanceOf(FencedError);
    expect((await db.pool.query('SELECT balance FROM accounts WHERE id = $1', [account])).rows[0].balance).toBe('10');
  });

  test('inside a caller transaction it joins that transaction', async () => {
    const routing = await loadRouting(db.pool);
    const account = await openAccountOn(db.pool, routing, 0, 'fence-joined');
    const claim = await claimPartition(db.pool, 'joined-topic', 0, 'owner');
    const { accounts, effects } = await effectsFor(account);
    await expect(
      inTransaction(db.pool, async (client) => {
        await writeBatch(client, { claim, fromOffset: 0n, toOffset: 1n, effects, before: accounts, outbox: [] });
        throw new Error('caller changed its mind');
      }),
    ).rejects.toThrow('caller changed its mind');
    expect((await db.pool.query('SELECT balance FROM accounts WHERE id = $1', [account])).rows[0].balance).toBe('0');
  });

  test('an account moved behind the writer back fails the whole batch (ConcurrentWriteError)', async () => {
    const routing = await loadRouting(db.pool);
    const account = await openAccountOn(db.pool, routing, 0, 'fence-concurrent');
    const claim = await claimPartition(db.pool, 'concurrent-topic', 0, 'owner');
    const { accounts, effects } = await effectsFor(account);
    // Another writer (which the single-writer design says cannot exist) moves the balance.
    await db.pool.query('UPDATE accounts SET seq = seq + 1 WHERE id = $1', [account]);
    const outbox = [{ topic: 'events' as const, targetPartition: null, key: 'k', payload: '{"a":1}' }];
    await expect(writeBatch(db.pool, { claim, fromOffset: 0n, toOffset: 1n, effects, before: accounts, outbox })).rejects.toBeInstanceOf(
      ConcurrentWriteError,
    );
    // The entries were inserted before the balance check failed: all of it rolled back.
    expect((await db.pool.query('SELECT count(*) AS n FROM entries WHERE account_id = $1', [account])).rows[0].n).toBe('0');
    expect((await db.pool.query(`SELECT count(*) AS n FROM outbox WHERE message_key = 'k'`)).rows[0].n).toBe('0');
    const state = await db.pool.query(`SELECT next_offset FROM partition_state WHERE topic = 'concurrent-topic'`);
    expect(state.rows[0].next_offset).toBe('0');
  });

  /**
   * Applies `commands` to the state read now (`stale` in place of what it names, as a writer
   * that missed a change would hold it) and writes them as the next batch.
   */
  async function applyNext(
    claim: PartitionClaim,
    account: string,
    offset: bigint,
    commands: Command[],
    stale: Partial<Pick<ApplyContext, 'accounts' | 'holds' | 'reversible'>> = {},
  ) {
    const routing = await loadRouting(db.pool);
    const accounts = new Map(stale.accounts ?? (await loadAccountStates(db.pool, [account, externalAccountId(0, 'USD')])));
    const holdIds = commands.flatMap((c) => (c.type === 'VOID_HOLD' ? [c.holdId] : []));
    const reversed = commands.flatMap((c) => (c.type === 'REVERSAL' ? [c.reverses] : []));
    const context: ApplyContext = {
      partition: 0,
      now: new Date().toISOString(),
      accounts,
      partitionOf: (id) => routing.partitionOf(id),
      alreadyApplied: new Set(),
      holds: stale.holds ?? (await loadHoldStates(db.pool, holdIds)),
      reversible: stale.reversible ?? (await loadReversibleTransfers(db.pool, reversed)),
    };
    const effects = applyBatch(context, commands);
    return { context, write: () => writeBatch(db.pool, { claim, fromOffset: offset, toOffset: offset + 1n, effects, before: accounts, outbox: [] }) };
  }

  const offsetOf = async (topic: string) => (await db.pool.query('SELECT next_offset FROM partition_state WHERE topic = $1', [topic])).rows[0].next_offset as string;

  test('a hold that another write already ended fails the whole batch (ConcurrentWriteError), though the account seq still matches', async () => {
    const routing = await loadRouting(db.pool);
    const account = await openAccountOn(db.pool, routing, 0, 'fence-hold');
    const claim = await claimPartition(db.pool, 'hold-topic', 0, 'owner');
    await (await applyNext(claim, account, 0n, [deposit(account, 100n)])).write();
    const holdId = randomUUID();
    const base = { principal: 'fence-hold', admin: false, acceptedAt: new Date().toISOString() };
    const hold: Command = { type: 'HOLD', holdId, accountId: account, amount: 40n, currency: 'USD', requestHash: 'h', expiresAt: new Date(Date.now() + 3_600_000).toISOString(), description: null, ...base };
    await (await applyNext(claim, account, 1n, [hold])).write();
    const voidIt: Command = { type: 'VOID_HOLD', holdId, accountId: account, ...base };
    const first = await applyNext(claim, account, 2n, [voidIt]);
    await first.write();
    // The same void applied to the state as read before the first was written (the hold
    // HELD): a void moves no money, so the account's seq cannot tell; the hold's status must.
    const copy = await applyNext(claim, account, 3n, [voidIt], { accounts: first.context.accounts, holds: first.context.holds });
    await expect(copy.write()).rejects.toBeInstanceOf(ConcurrentWriteError);
    expect(await offsetOf('hold-topic')).toBe('3');
    expect((await db.pool.query('SELECT status FROM holds WHERE id = $1', [holdId])).rows[0].status).toBe('VOIDED');
  });

  test('a hold placed from a state another write changed without an entry fails the whole batch (ConcurrentWriteError): no held total is overwritten', async () => {
    // Found by an outside schema review: seq moves with entries only, so a second writer's
    // hold, written from the state before the first writer's hold, overwrote `held` (0032).
    const routing = await loadRouting(db.pool);
    const account = await openAccountOn(db.pool, routing, 0, 'fence-rev');
    const claim = await claimPartition(db.pool, 'rev-topic', 0, 'owner');
    await (await applyNext(claim, account, 0n, [deposit(account, 100n)])).write();
    const base = { principal: 'fence-rev', admin: false, acceptedAt: new Date().toISOString() };
    const holdOf = (amount: bigint): Command => ({
      type: 'HOLD', holdId: randomUUID(), accountId: account, amount, currency: 'USD', requestHash: 'h',
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(), description: null, ...base,
    });
    const first = await applyNext(claim, account, 1n, [holdOf(60n)]);
    await first.write();
    const second = await applyNext(claim, account, 2n, [holdOf(30n)], { accounts: first.context.accounts });
    await expect(second.write()).rejects.toBeInstanceOf(ConcurrentWriteError);
    expect(await offsetOf('rev-topic')).toBe('2');
    const row = (await db.pool.query('SELECT held, seq FROM accounts WHERE id = $1', [account])).rows[0];
    expect(row).toEqual({ held: '60', seq: '1' });
  });

  test('a reversal total another write moved fails the whole batch (ConcurrentWriteError): no total is overwritten', async () => {
    const routing = await loadRouting(db.pool);
    const account = await openAccountOn(db.pool, routing, 0, 'fence-reversal');
    const claim = await claimPartition(db.pool, 'reversal-topic', 0, 'owner');
    const original = deposit(account, 100n);
    await (await applyNext(claim, account, 0n, [original])).write();
    const reversal = (): Command => ({
      type: 'REVERSAL',
      transferId: randomUUID(),
      reverses: original.transferId,
      fromAccountId: account,
      amount: 30n,
      currency: 'USD',
      description: null,
      principal: 'fence-reversal',
      admin: false,
      requestHash: 'r',
      acceptedAt: new Date().toISOString(),
    });
    const first = await applyNext(claim, account, 1n, [reversal()]);
    await first.write();
    const second = await applyNext(claim, account, 2n, [reversal()]);
    await second.write();
    const total = async () => (await db.pool.query('SELECT reversed_amount FROM transfer_reversals WHERE transfer_id = $1', [original.transferId])).rows[0].reversed_amount as string;
    expect(await total()).toBe('60');
    // A third reversal applied to the total as read before the first (0) or the second (30)
    // was written: it would set 30 or 60 where 90 is reversed. Its balance moves from the
    // current seq, so only the total's check stands in the way: the first total's (no row
    // expected, a row found) and a later total's (another amount found).
    for (const stale of [first, second]) {
      const third = await applyNext(claim, account, 3n, [reversal()], { reversible: stale.context.reversible });
      await expect(third.write()).rejects.toBeInstanceOf(ConcurrentWriteError);
    }
    expect(await total()).toBe('60');
    expect(await offsetOf('reversal-topic')).toBe('3');
    expect((await db.pool.query('SELECT balance FROM accounts WHERE id = $1', [account])).rows[0].balance).toBe('40');
  });

  test('outbox rows come back with ids in batch order and their payloads stored as sent', async () => {
    const routing = await loadRouting(db.pool);
    const account = await openAccountOn(db.pool, routing, 0, 'fence-outbox');
    const claim = await claimPartition(db.pool, 'outbox-topic', 0, 'owner');
    const { accounts, effects } = await effectsFor(account);
    const outbox = Array.from({ length: 50 }, (_, i) => ({
      topic: i % 2 ? ('events' as const) : ('commands' as const),
      targetPartition: i % 2 ? null : i % 4,
      key: i === 7 ? null : `key-"${i}"\\`,
      payload: JSON.stringify({ n: i, amount: '92233720368547758', text: 'quote " backslash \\ unicode é' }),
    }));
    const { published: rows } = await writeBatch(db.pool, { claim, fromOffset: 0n, toOffset: 1n, effects, before: accounts, outbox });
    expect(rows.map((r) => r.payload)).toEqual(outbox.map((o) => o.payload));
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.id > rows[i - 1]!.id).toBe(true);
    const stored = await db.pool.query('SELECT id, topic, target_partition, message_key, payload FROM outbox WHERE id = ANY($1::int8[]) ORDER BY id', [
      rows.map((r) => r.id.toString()),
    ]);
    expect(stored.rows.map((r) => [r.topic, r.target_partition, r.message_key, r.payload])).toEqual(
      outbox.map((o) => [o.topic, o.targetPartition, o.key, JSON.parse(o.payload)]),
    );
  });
});
