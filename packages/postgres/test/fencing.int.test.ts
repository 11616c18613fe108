// Proves that a zombie owner whose epoch was bumped by a newer claim can commit nothing,
// and that a batch not starting at the stored offset is refused too (DESIGN.md invariant 4).
import { applyBatch, externalAccountId } from '@ledgerline/domain';
import { FencedError, claimPartition, inTransaction, loadAccountStates, loadRouting, writeBatch } from '../src';
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
    const write = (claim: typeof zombie) =>
      inTransaction(db.pool, (client) => writeBatch(client, { claim, fromOffset: 0n, toOffset: 1n, effects, before: accounts, outbox: [] }));

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
});
