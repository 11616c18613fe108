/**
 * Idempotency claims of the ingest API: one upsert per POST tells whether the key is new,
 * a replay of the same body, or a reuse with another body.
 */
import type { Pool } from 'pg';

export type KeyClaim = { kind: 'new' } | { kind: 'replay' } | { kind: 'reused' };

export async function claimIdempotencyKey(pool: Pool, transferId: string, principal: string, requestHash: string): Promise<KeyClaim> {
  // The no-op DO UPDATE makes RETURNING answer on a conflict too; xmax = 0 only for a row
  // this statement inserted.
  const result = await pool.query(
    `INSERT INTO idempotency_keys (transfer_id, principal, request_hash) VALUES ($1, $2, $3)
     ON CONFLICT (transfer_id) DO UPDATE SET transfer_id = EXCLUDED.transfer_id
     RETURNING request_hash, (xmax = 0) AS inserted`,
    [transferId, principal, requestHash],
  );
  const row = result.rows[0];
  if (row.inserted) return { kind: 'new' };
  return row.request_hash === requestHash ? { kind: 'replay' } : { kind: 'reused' };
}

/** Nothing was accepted under the key (Kafka refused): give it back for the client's retry. */
export async function releaseIdempotencyKey(pool: Pool, transferId: string, requestHash: string): Promise<void> {
  await pool.query('DELETE FROM idempotency_keys WHERE transfer_id = $1 AND request_hash = $2', [transferId, requestHash]);
}
