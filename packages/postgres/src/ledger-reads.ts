/** Read side used by the API and ledgerctl. Every query is bounded by a key or a LIMIT. */
import type { Pool } from 'pg';
import { ENTRIES_PAGE_MAX } from '@ledgerline/domain';
import {
  ACCOUNT_COLUMNS,
  TRANSFER_COLUMNS,
  type AccountRow,
  type EntryRow,
  type TransferRow,
  parseAccountRow,
  parseEntryRow,
  parseTransferRow,
} from './rows';


export async function findAccount(pool: Pool, id: string): Promise<AccountRow | null> {
  const result = await pool.query(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1`, [id]);
  return result.rows[0] ? parseAccountRow(result.rows[0]) : null;
}

export async function findAccounts(pool: Pool, ids: readonly string[]): Promise<AccountRow[]> {
  if (ids.length === 0) return [];
  const result = await pool.query(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ANY($1::uuid[])`, [ids]);
  return result.rows.map(parseAccountRow);
}

export async function findTransfer(pool: Pool, id: string): Promise<TransferRow | null> {
  const result = await pool.query(`SELECT ${TRANSFER_COLUMNS} FROM transfers WHERE id = $1`, [id]);
  return result.rows[0] ? parseTransferRow(result.rows[0]) : null;
}

/** Newest first; `beforeSeq` is the cursor (exclusive). */
export async function listEntries(
  pool: Pool,
  accountId: string,
  beforeSeq: bigint | null,
  limit: number,
): Promise<EntryRow[]> {
  if (limit < 1 || limit > ENTRIES_PAGE_MAX) throw new RangeError(`limit must be in 1..${ENTRIES_PAGE_MAX}`);
  const result = await pool.query(
    `SELECT account_id, seq, transfer_id, amount, balance_after, created_at FROM entries
      WHERE account_id = $1 AND ($2::int8 IS NULL OR seq < $2::int8)
      ORDER BY seq DESC LIMIT $3`,
    [accountId, beforeSeq === null ? null : beforeSeq.toString(), limit],
  );
  return result.rows.map(parseEntryRow);
}

/**
 * Which of `ids` have reached COMPLETED or REJECTED: the long poll's safety re-check asks
 * this once per second for every transfer still waited on, in one query.
 */
export async function findTerminalTransferIds(pool: Pool, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const result = await pool.query(
    `SELECT id FROM transfers WHERE id = ANY($1::uuid[]) AND status IN ('COMPLETED', 'REJECTED')`,
    [ids],
  );
  return new Set(result.rows.map((r) => r.id as string));
}
