/** What the workers' ops endpoints read at scrape time; each query is bounded by a partial index. */
import type { Pool } from 'pg';

/**
 * Money in flight out of each partition: transfers whose debit leg is applied and whose
 * credit leg is not yet (PROCESSING), summed per currency (what the transit accounts hold).
 * Read from the partial index on PROCESSING transfers, a small set unless legs are stuck.
 */
export async function moneyInFlight(
  pool: Pool,
  partitions: readonly number[],
): Promise<{ partition: number; currency: string; amount: bigint; transfers: number }[]> {
  if (partitions.length === 0) return [];
  const result = await pool.query(
    `SELECT source_partition, currency, sum(amount)::text AS amount, count(*) AS transfers
       FROM transfers
      WHERE status = 'PROCESSING' AND source_partition = ANY($1::int[])
      GROUP BY source_partition, currency`,
    [partitions],
  );
  return result.rows.map((r) => ({ partition: Number(r.source_partition), currency: r.currency, amount: BigInt(r.amount), transfers: Number(r.transfers) }));
}
