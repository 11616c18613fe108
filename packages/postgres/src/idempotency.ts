/**
 * Giving an Idempotency-Key back. Claims are made in batches by IdempotencyClaims
 * (idempotency-claims.ts); a release is rare (Kafka refused the command), so it stays one
 * statement of its own.
 */
import type { Pool } from 'pg';

/**
 * Nothing was accepted under the key (Kafka refused): give it back for the client's retry.
 * Only the row version the claim inserted (`version`, KeyClaim 'new') is deleted. A replay of
 * the key (same body) claims it again by writing a new version, and may publish: a release
 * that reaches Postgres after it (its request past the statement deadline, the client
 * retrying meanwhile) deletes nothing, so a key whose command may be in Kafka is never freed.
 */
export async function releaseIdempotencyKey(pool: Pool, transferId: string, requestHash: string, version: string): Promise<void> {
  await pool.query('DELETE FROM idempotency_keys WHERE transfer_id = $1 AND request_hash = $2 AND xmin = $3::xid', [transferId, requestHash, version]);
}

/**
 * Who claimed `id` under an Idempotency-Key (its principal), or null when nobody did or the id
 * names a resource of another family (a hold, a transfer, an account or an account change
 * row): that the key was claimed is the only trace left of a command accepted (or in doubt
 * after an unanswered publish) and not applied yet, once Redis lost its ACCEPTED record.
 * `family` is the route asking: a transfer id asked for as a hold is not a hold. Read only
 * on that rare path.
 */
export async function findIdempotencyClaimant(pool: Pool, id: string, family: 'transfer' | 'hold'): Promise<string | null> {
  const result = await pool.query(
    `SELECT principal FROM idempotency_keys
      WHERE transfer_id = $1
        AND NOT EXISTS (SELECT 1 FROM ${family === 'transfer' ? 'holds' : 'transfers'} WHERE id = $1)
        AND NOT EXISTS (SELECT 1 FROM accounts WHERE id = $1)
        AND NOT EXISTS (SELECT 1 FROM account_changes WHERE id = $1)`,
    [id],
  );
  return (result.rows[0]?.principal as string | undefined) ?? null;
}
