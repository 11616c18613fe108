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
 * Who claimed `id` under an Idempotency-Key (its principal), or null when nobody did, the id
 * names a resource of another family (a hold, a transfer, an account or an account change
 * row), or the claim is a whole batch's (migration 0030: no resource ever carries a batch's
 * id, so it is never "not applied yet"): that the key was claimed is the only trace left of a
 * command accepted (or in doubt after an unanswered publish) and not applied yet, once Redis
 * lost its ACCEPTED record. `family` is the route asking: a transfer id asked for as a hold is
 * not a hold. Read only on that rare path.
 */
export async function findIdempotencyClaimant(pool: Pool, id: string, family: 'transfer' | 'hold'): Promise<string | null> {
  const result = await pool.query(
    `SELECT principal FROM idempotency_keys
      WHERE transfer_id = $1
        AND NOT batch
        AND NOT EXISTS (SELECT 1 FROM ${family === 'transfer' ? 'holds' : 'transfers'} WHERE id = $1)
        AND NOT EXISTS (SELECT 1 FROM accounts WHERE id = $1)
        AND NOT EXISTS (SELECT 1 FROM account_changes WHERE id = $1)`,
    [id],
  );
  return (result.rows[0]?.principal as string | undefined) ?? null;
}

/**
 * After a restore from a backup (docs/operations.md): binds again the Idempotency-Keys whose
 * claims the restore lost, from the transfers, holds and account changes written since `since`
 * (RFC 3339), which the workers have applied again from Kafka: each row keeps its claimant and
 * its request's hash, all a claim holds. A retry under such a key then replays, or is refused
 * as reused with another body, as before the loss; unbound, another body was accepted (202)
 * and never applied, its id held by the first body's command. A key still claimed is left as
 * it is. A batch's own key is not rebuilt (no row keeps the whole batch's hash); its items,
 * bound by the batch's claim, get a claim row each, which nothing reads by key but which the
 * count includes. Accounts are not commands: their rows are their keys' only record. One
 * pass over the three tables: run once, with the APIs stopped. Returns how many claim rows it
 * wrote.
 */
export async function rebindLostClaims(pool: Pool, since: string): Promise<number> {
  const result = await pool.query(
    `INSERT INTO idempotency_keys (transfer_id, principal, request_hash, created_at)
     SELECT id, principal, request_hash, created_at FROM transfers WHERE created_at >= $1::timestamptz
     UNION ALL
     SELECT id, principal, request_hash, created_at FROM holds WHERE created_at >= $1::timestamptz
     UNION ALL
     SELECT id, principal, request_hash, created_at FROM account_changes WHERE created_at >= $1::timestamptz
     ON CONFLICT (transfer_id) DO NOTHING`,
    [since],
  );
  return result.rowCount ?? 0;
}
