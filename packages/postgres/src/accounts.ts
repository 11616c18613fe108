import type { Pool } from 'pg';
import { inTransaction } from './pool';
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
 * worker becomes the account's single writer from its first movement on. The row names no
 * kind: the column's default is USER (migration 0026), and the API role may not write it.
 * Returns the stored row: either the new one or the one an earlier attempt created.
 */
export async function insertUserAccount(pool: Pool, account: NewUserAccount): Promise<AccountRow> {
  const inserted = await pool.query(
    `INSERT INTO accounts (id, owner, currency, overdraft_limit, metadata, request_hash)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (id) DO NOTHING
     RETURNING ${ACCOUNT_COLUMNS}`,
    [account.id, account.owner, account.currency, account.overdraftLimit.toString(), account.metadata, account.requestHash],
  );
  if (inserted.rows[0]) return parseAccountRow(inserted.rows[0]);
  const existing = await pool.query(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1`, [account.id]);
  if (!existing.rows[0]) throw new Error(`account ${account.id} neither inserted nor found`);
  return parseAccountRow(existing.rows[0]);
}

/**
 * insertUserAccount, unless `owner` already has `quota` accounts. The count and the insert
 * run under a transaction-scoped advisory lock on the owner, so concurrent opens by one
 * principal (on any API instance) are counted one after another and the quota is exact; other
 * principals never wait on it. An account that already exists (a replay) is returned whatever
 * the count. Transaction-scoped, so it works through PgBouncer's transaction mode.
 */
export async function insertUserAccountWithinQuota(
  pool: Pool,
  account: NewUserAccount,
  quota: number,
): Promise<{ account: AccountRow; inserted: boolean } | 'QUOTA_EXCEEDED'> {
  return inTransaction(pool, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(${OPEN_ACCOUNT_LOCK_CLASS}, hashtext($1))`, [account.owner]);
    const existing = await client.query(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1`, [account.id]);
    // A concurrent request with the same key inserted it first.
    if (existing.rows[0]) return { account: parseAccountRow(existing.rows[0]), inserted: false };
    // Bounded: never counts more than `quota` rows, through accounts_owner_history_idx (its owner prefix).
    const owned = await client.query('SELECT count(*)::int AS n FROM (SELECT 1 FROM accounts WHERE owner = $1 LIMIT $2) AS o', [account.owner, quota]);
    if (owned.rows[0].n >= quota) return 'QUOTA_EXCEEDED' as const;
    const inserted = await client.query(
      `INSERT INTO accounts (id, owner, currency, overdraft_limit, metadata, request_hash)
       VALUES ($1, $2, $3, $4, $5, $6)
       RETURNING ${ACCOUNT_COLUMNS}`,
      [account.id, account.owner, account.currency, account.overdraftLimit.toString(), account.metadata, account.requestHash],
    );
    return { account: parseAccountRow(inserted.rows[0]), inserted: true };
  });
}

/** First key of the two-int advisory lock: keeps these locks apart from any other use. */
const OPEN_ACCOUNT_LOCK_CLASS = 4_271_946;
