import type { Pool } from 'pg';
import { ACCOUNT_COLUMNS, type AccountRow, parseAccountRow } from './rows';

export interface NewUserAccount {
  id: string;
  owner: string;
  currency: string;
  overdraftLimit: bigint;
  metadata: Record<string, unknown>;
  requestHash: string;
}

/**
 * Opening an account inserts a row nobody else can be writing yet (its id is new, derived
 * from the principal and Idempotency-Key), so the API may do it directly: the partition
 * worker becomes the account's single writer from its first movement on.
 * Returns the stored row: either the new one or the one an earlier attempt created.
 */
export async function insertUserAccount(pool: Pool, account: NewUserAccount): Promise<AccountRow> {
  const inserted = await pool.query(
    `INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, metadata, request_hash)
     VALUES ($1, $2, 'USER', $3, $4, $5, $6)
     ON CONFLICT (id) DO NOTHING
     RETURNING ${ACCOUNT_COLUMNS}`,
    [account.id, account.owner, account.currency, account.overdraftLimit.toString(), account.metadata, account.requestHash],
  );
  if (inserted.rows[0]) return parseAccountRow(inserted.rows[0]);
  const existing = await pool.query(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1`, [account.id]);
  if (!existing.rows[0]) throw new Error(`account ${account.id} neither inserted nor found`);
  return parseAccountRow(existing.rows[0]);
}
