/** What a partition worker reads before applying a batch: one query each, any batch size. */
import type { Pool } from 'pg';
import type { AccountState } from '@ledgerline/domain';
import { ACCOUNT_COLUMNS, parseAccountRow } from './rows';

export async function loadAccountStates(pool: Pool, ids: readonly string[]): Promise<Map<string, AccountState>> {
  const states = new Map<string, AccountState>();
  if (ids.length === 0) return states;
  const result = await pool.query(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ANY($1::uuid[])`, [ids]);
  for (const row of result.rows) {
    const { id, owner, kind, currency, status, overdraftLimit, balance, seq } = parseAccountRow(row);
    states.set(id, { id, owner, kind, currency, status, overdraftLimit, balance, seq });
  }
  return states;
}

/**
 * Which of these commands were already applied by an earlier committed batch: client
 * commands by transfer id, saga legs by (transfer id, leg). Returns dedupe keys in the
 * domain's format (`transferId`, `transferId:CREDIT`, `transferId:REFUND`).
 */
export async function loadAppliedKeys(
  pool: Pool,
  transferIds: readonly string[],
  legs: readonly { transferId: string; leg: 'CREDIT' | 'REFUND' }[],
): Promise<Set<string>> {
  const applied = new Set<string>();
  if (transferIds.length === 0 && legs.length === 0) return applied;
  // One round trip for both kinds (migrations/0005_applied_keys_function.sql).
  const result = await pool.query('SELECT transfer_id, leg FROM ledger_applied_keys($1::uuid[], $2::uuid[], $3::text[])', [
    transferIds,
    legs.map((l) => l.transferId),
    legs.map((l) => l.leg),
  ]);
  for (const row of result.rows) applied.add(row.leg === null ? row.transfer_id : `${row.transfer_id}:${row.leg}`);
  return applied;
}
