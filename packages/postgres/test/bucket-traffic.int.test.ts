// Proves the per-bucket traffic `routing show` and `rebalance` print is a rate over the time
// the counted transfers cover: a window holding more transfers than are read counts only the
// newest, over the seconds they span, and says it was capped. Found by an outside review:
// 200,000 rows divided by the whole 5-minute window capped every rate at 40,000/min.
import { randomUUID } from 'node:crypto';
import { bucketOf } from '@ledgerline/domain';
import { bucketTraffic } from '../src';
import { useTestDatabase } from '../../../test/support/database';

describe('bucketTraffic', () => {
  const ledger = useTestDatabase(2);
  const accounts = [randomUUID(), randomUUID()];

  beforeAll(async () => {
    // 1,000 transfers, one every 100 ms over the last 100 s (10 a second), alternating between
    // two accounts: REJECTED withdrawals, which move no money.
    await ledger.db.pool.query(
      `INSERT INTO transfers (id, kind, status, reason, from_account_id, amount, currency, principal, request_hash, source_partition, created_at, completed_at, applied_at)
       SELECT gen_random_uuid(), 'WITHDRAWAL', 'REJECTED', 'INSUFFICIENT_FUNDS', ($1::uuid[])[1 + i % 2], 1, 'USD', 'traffic', 'h', 0,
              now() - i * interval '100 ms', now() - i * interval '100 ms', now() - i * interval '100 ms'
         FROM generate_series(0, 999) AS i`,
      [accounts],
    );
  });

  test('within the cap: every transfer of the window, over the whole window', async () => {
    const traffic = await bucketTraffic(ledger.db.pool, 300_000, 2_000);
    expect({ transfers: traffic.transfers, capped: traffic.capped, overMs: traffic.overMs }).toEqual({ transfers: 1_000, capped: false, overMs: 300_000 });
    expect(countsOf(traffic.perBucket)).toEqual(expected(500, 500));
  });

  test('past the cap: the newest transfers, over the time they span, and said to be capped', async () => {
    const traffic = await bucketTraffic(ledger.db.pool, 300_000, 250);
    expect({ transfers: traffic.transfers, capped: traffic.capped, rowsMax: traffic.rowsMax }).toEqual({ transfers: 250, capped: true, rowsMax: 250 });
    expect(countsOf(traffic.perBucket)).toEqual(expected(125, 125));
    // The newest 250 were applied over the last 24.9 s (plus the time since the insert), far
    // less than the 300 s window their count was divided by; all 1,000 span 99.9 s.
    expect(traffic.overMs).toBeGreaterThanOrEqual(24_900);
    expect(traffic.overMs).toBeLessThan(99_900);
  });

  function countsOf(perBucket: ReadonlyMap<number, number>): Record<number, number> {
    return Object.fromEntries(perBucket);
  }

  function expected(first: number, second: number): Record<number, number> {
    const counts: Record<number, number> = {};
    counts[bucketOf(accounts[0]!)] = (counts[bucketOf(accounts[0]!)] ?? 0) + first;
    counts[bucketOf(accounts[1]!)] = (counts[bucketOf(accounts[1]!)] ?? 0) + second;
    return counts;
  }
});
