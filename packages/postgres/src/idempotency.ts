/**
 * Giving an Idempotency-Key back. Claims are made in batches by IdempotencyClaims
 * (idempotency-claims.ts); a release is rare (Kafka refused the command), so it stays one
 * statement of its own.
 */
import type { Pool } from 'pg';

/** Nothing was accepted under the key (Kafka refused): give it back for the client's retry. */
export async function releaseIdempotencyKey(pool: Pool, transferId: string, requestHash: string): Promise<void> {
  await pool.query('DELETE FROM idempotency_keys WHERE transfer_id = $1 AND request_hash = $2', [transferId, requestHash]);
}
