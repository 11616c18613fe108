// Proves that a zombie owner whose epoch was bumped by a newer claim can commit nothing,
// that a batch not starting at the stored offset is refused too (docs/design.md, invariant 4), and
// that ledger_apply_batch is all or nothing: a broken single-writer assumption found half-way
// leaves no entry, balance or offset behind.
import { applyBatch, externalAccountId } from '@ledgerline/domain';
import { ConcurrentWriteError, FencedError, claimPartition, inTransaction, loadAccountStates, loadRouting, writeBatch } from '../src';
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
    const rows = await writeBatch(db.pool, { claim, fromOffset: 0n, toOffset: 1n, effects, before: accounts, outbox });
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
