import { randomUUID } from 'node:crypto';
// The applier prepares batch N+1 (reads, in-memory apply) while batch N is still being
// written. These tests make every write slow, so the overlap always happens, and check
// against real Postgres that N+1 sees N's effects before the database does: balances it
// leaves behind, commands it applied (a duplicate in N+1 is skipped), and that a failed
// write of N discards N+1 so a retry applies everything exactly once.
import type { Pool, QueryConfig } from 'pg';
import type { ClientCommand as Command, RoutingTable } from '@ledgerline/domain';
import { type OutboxRow, loadRouting, reconcile } from '@ledgerline/postgres';
import type { PartitionApplier } from '../src/partition-applier';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { balanceOf, deposit, openAccountOn, transfer, transferStatuses } from '../../../test/support/ledger';
import { QUIET_POST_COMMIT, messagesOf, realApplier } from './support/real-applier';

const WRITE_DELAY_MS = 150;

/** The real pool, with every batch write held back (and, on request, one refused before it is sent). */
function slowWritePool(pool: Pool, failWriteNumber: number | null = null): { pool: Pool; writes: () => number } {
  let writes = 0;
  const proxy = new Proxy(pool, {
    get(target, property) {
      if (property !== 'query') return Reflect.get(target, property, target);
      return async (query: string | QueryConfig, values?: unknown[]) => {
        const text = typeof query === 'string' ? query : query.text;
        if (text.includes('ledger_apply_batch')) {
          writes++;
          await new Promise((resolve) => setTimeout(resolve, WRITE_DELAY_MS));
          if (writes === failWriteNumber) throw new Error('injected: connection lost before the write was sent');
        }
        return target.query(query, values);
      };
    },
  });
  return { pool: proxy, writes: () => writes };
}

describe('pipelined batches of one partition', () => {
  let db: TestDatabase;
  let routing: RoutingTable;
  beforeAll(async () => {
    db = await createTestDatabase(2);
    routing = await loadRouting(db.pool);
  });
  afterAll(async () => {
    await db.drop();
  });

  function applierOn(pool: Pool, topic: string, relayed: OutboxRow[], batchCommandsMax = 1): PartitionApplier {
    // 1 command per batch by default: every batch overlaps the write of the one before.
    return realApplier(pool, { topic, routing, batchCommandsMax, ports: { postCommit: { ...QUIET_POST_COMMIT, relay: (_p, rows) => void relayed.push(...rows) } } });
  }

  test('each batch sees the balances and the applied commands of the batch still being written', async () => {
    const a = await openAccountOn(db.pool, routing, 0, 'pipe-a');
    const b = await openAccountOn(db.pool, routing, 0, 'pipe-b');
    const elsewhere = await openAccountOn(db.pool, routing, 1, 'pipe-c');
    const pay = transfer(a, b, 'pipe-a', 60n);
    const crossing = transfer(a, elsewhere, 'pipe-a', 30n);
    // a is only funded by the batch before each debit: read from the database instead of
    // the batch in flight, the debits would be refused (or fail the seq check).
    const commands = [deposit(a, 100n), pay, pay, crossing, crossing, deposit(b, 5n)];
    const relayed: OutboxRow[] = [];
    const slow = slowWritePool(db.pool);
    const applier = applierOn(slow.pool, 'pipe-topic', relayed);

    const result = await applier.apply(messagesOf(commands));

    expect(result).toEqual({ kind: 'applied', nextOffset: 6n });
    expect(slow.writes()).toBe(6);
    expect(await balanceOf(db.pool, a)).toBe(10n);
    expect(await balanceOf(db.pool, b)).toBe(65n);
    const statuses = await transferStatuses(db.pool, [pay.transferId, crossing.transferId]);
    expect(statuses.get(pay.transferId)).toEqual({ status: 'COMPLETED', reason: null });
    expect(statuses.get(crossing.transferId)).toEqual({ status: 'PROCESSING', reason: null });
    const entries = await db.pool.query('SELECT transfer_id, count(*)::int AS n FROM entries WHERE transfer_id = ANY($1::uuid[]) GROUP BY 1', [
      [pay.transferId, crossing.transferId],
    ]);
    expect(Object.fromEntries(entries.rows.map((r) => [r.transfer_id, r.n]))).toEqual({ [pay.transferId]: 2, [crossing.transferId]: 2 });
    // One credit leg for the crossing transfer, not two.
    const legs = relayed.filter((r) => r.topic === 'commands');
    expect(legs).toHaveLength(1);
    const seqs = await db.pool.query('SELECT seq FROM entries WHERE account_id = $1 ORDER BY seq', [a]);
    expect(seqs.rows.map((r) => Number(r.seq))).toEqual([1, 2, 3]);
  });

  test('a failed write discards the batch prepared behind it; the retry applies everything once', async () => {
    const a = await openAccountOn(db.pool, routing, 0, 'pipe-retry-a');
    const b = await openAccountOn(db.pool, routing, 0, 'pipe-retry-b');
    const commands = [deposit(a, 100n), transfer(a, b, 'pipe-retry-a', 70n), transfer(a, b, 'pipe-retry-a', 20n), deposit(b, 1n)];
    const relayed: OutboxRow[] = [];
    const failing = slowWritePool(db.pool, 2);
    const applier = applierOn(failing.pool, 'pipe-retry-topic', relayed);

    await expect(applier.apply(messagesOf(commands))).rejects.toThrow(/injected/);
    // Only the first batch committed; the one prepared on top of the failed write never was.
    expect(await balanceOf(db.pool, a)).toBe(100n);
    expect(applier.nextOffset).toBe(1n);

    // kafkajs redelivers the whole fetch; the applier skips what is below its offset.
    const result = await applier.apply(messagesOf(commands));
    expect(result).toEqual({ kind: 'applied', nextOffset: 4n });
    expect(await balanceOf(db.pool, a)).toBe(10n);
    expect(await balanceOf(db.pool, b)).toBe(91n);
    const report = await reconcile(db.pool, { outboxAgeMaxMs: 3_600_000 });
    expect(report.checks.filter((c) => c.violations > 0)).toEqual([]);
  });

  test('a worker that lost the partition unawares and applies from stale cached accounts releases it instead of stopping on a broken invariant', async () => {
    const topic = 'stale-owner-topic';
    const account = await openAccountOn(db.pool, routing, 0, 'stale-owner');
    const holdId = randomUUID();
    const at = new Date().toISOString();
    const hold = {
      type: 'HOLD',
      holdId,
      accountId: account,
      amount: 10n,
      currency: 'USD',
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      description: null,
      principal: 'stale-owner',
      admin: false,
      requestHash: 'c'.repeat(64),
      acceptedAt: at,
    } as const;
    const voidHold = { type: 'VOID_HOLD', holdId, accountId: account, principal: 'stale-owner', admin: false, acceptedAt: at } as const;
    const all = messagesOf([deposit(account, 100n), hold as unknown as Command, voidHold as unknown as Command]);
    // One batch per fetch: nothing is being committed when the in-memory apply breaks.
    const stale = applierOn(db.pool, topic, [], 100);
    const owner = applierOn(db.pool, topic, [], 100);

    // The first owner applies the deposit and caches the account (nothing held).
    expect(await stale.apply(all.slice(0, 1))).toEqual({ kind: 'applied', nextOffset: 1n });
    // Another worker claims the partition (a rebalance the first has not heard of) and places the hold.
    expect(await owner.apply(all.slice(1, 2))).toEqual({ kind: 'applied', nextOffset: 2n });
    // The first gets the hold (a duplicate now) and the void, applies them to its cached
    // account (held 0) and the hold it reads (HELD, 10): held would be -10. Not a bug of the
    // ledger: its claim is stale. It releases and writes nothing.
    expect(await stale.apply(all.slice(1, 3))).toEqual({ kind: 'fenced', byAnotherOwner: true }); // another owner moved the epoch on
    expect((await db.pool.query('SELECT held FROM accounts WHERE id = $1', [account])).rows[0].held).toBe('10');
    // Claimed afresh, with accounts read from Postgres, the void applies.
    expect(await stale.apply(all.slice(1, 3))).toEqual({ kind: 'applied', nextOffset: 3n });
    expect((await db.pool.query('SELECT held FROM accounts WHERE id = $1', [account])).rows[0].held).toBe('0');
  });
});
