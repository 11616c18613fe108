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
  const [transfers, legRows] = await Promise.all([
    transferIds.length === 0
      ? Promise.resolve({ rows: [] as { id: string }[] })
      : pool.query('SELECT id FROM transfers WHERE id = ANY($1::uuid[])', [transferIds]),
    legs.length === 0
      ? Promise.resolve({ rows: [] as { transfer_id: string; leg: string }[] })
      : pool.query(
          `SELECT l.transfer_id, l.leg FROM transfer_legs l
             JOIN unnest($1::uuid[], $2::text[]) AS w(transfer_id, leg) ON l.transfer_id = w.transfer_id AND l.leg = w.leg`,
          [legs.map((l) => l.transferId), legs.map((l) => l.leg)],
        ),
  ]);
  for (const row of transfers.rows) applied.add(row.id);
  for (const row of legRows.rows) applied.add(`${row.transfer_id}:${row.leg}`);
  return applied;
}
