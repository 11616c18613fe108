/** What a partition worker reads before applying a batch: one query each, any batch size. */
import type { Pool } from 'pg';
import { type AccountState, type BalanceFigure, type HoldState, type ReversibleTransfer, type SagaLeg, balanceFigureOf } from '@ledgerline/domain';
import { ACCOUNT_BALANCE_COLUMNS, ACCOUNT_COLUMNS, parseAccountBalanceRow, parseAccountRow, parseHoldRow } from './rows';

export async function loadAccountStates(pool: Pool, ids: readonly string[]): Promise<Map<string, AccountState>> {
  const states = new Map<string, AccountState>();
  if (ids.length === 0) return states;
  const result = await pool.query(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ANY($1::uuid[])`, [ids]);
  for (const row of result.rows) {
    const { id, owner, kind, currency, status, overdraftLimit, balance, seq, held, rev } = parseAccountRow(row);
    states.set(id, { id, owner, kind, currency, status, overdraftLimit, balance, seq, held, rev });
  }
  return states;
}

/**
 * The heap blocks `accounts` has now, and the file they are in: a cache catch-up reads them
 * in ranges (loadBalancesChangedInBlocks). A rewrite of the table (VACUUM FULL, CLUSTER,
 * pg_repack, a rewriting ALTER TABLE) puts its rows in other blocks of another file without
 * changing them; a pass it came in the middle of may have missed some, and says so by the
 * file having changed.
 */
export async function accountBlocks(pool: Pool): Promise<{ blocks: number; file: string }> {
  const result = await pool.query(
    `SELECT (pg_relation_size('accounts') / current_setting('block_size')::int8)::int8 AS blocks, pg_relation_filenode('accounts')::text AS file`,
  );
  return { blocks: Number(result.rows[0].blocks), file: String(result.rows[0].file) };
}

/**
 * The balances of the accounts in heap blocks [fromBlock, toBlock) changed at or after
 * `since` (or in the last `withinS` seconds, whichever is later): one range of a cache
 * catch-up (cache-mark.ts). Each figure is as of an instant the ledger held it, as the API's
 * read-repair writes it (ACCOUNT_BALANCE_COLUMNS).
 *
 * No index serves `updated_at` (one would make every balance update non-HOT), so a catch-up
 * reads the whole table, once, a range of blocks per statement (a TID range scan): each
 * statement's time is bounded by its range whatever the table's size, and the catch-up never
 * meets the worker's statement deadline. (Paged by id instead, a catch-up that found few
 * changed accounts, the usual case, read the whole table in its first statement: on a large
 * enough table that statement met the deadline, and the catch-up failed every time.)
 * A row an update moves to another block after the catch-up began was changed after it
 * began, and the writer of that change refreshes it; a rewrite of the table moves rows
 * nobody changed (accountBlocks tells).
 */
export async function loadBalancesChangedInBlocks(pool: Pool, since: string, withinS: number, fromBlock: number, toBlock: number): Promise<BalanceFigure[]> {
  const result = await pool.query(
    `SELECT ${ACCOUNT_BALANCE_COLUMNS}
       FROM accounts
      WHERE ctid >= format('(%s,0)', $3::int8)::tid AND ctid < format('(%s,0)', $4::int8)::tid
        AND updated_at >= GREATEST($1::timestamptz, now() - make_interval(secs => $2::float8))`,
    [since, withinS, fromBlock, toBlock],
  );
  return result.rows.map((row: Record<string, unknown>) => {
    const { account, asOf } = parseAccountBalanceRow(row);
    return balanceFigureOf(account, asOf);
  });
}

/**
 * Which of these commands were already applied by an earlier committed batch: client
 * commands by transfer id, saga legs by (transfer id, leg). Returns dedupe keys in the
 * domain's format (`transferId`, `transferId:CREDIT`, `transferId:REFUND`).
 */
export async function loadAppliedKeys(
  pool: Pool,
  transferIds: readonly string[],
  legs: readonly { transferId: string; leg: SagaLeg }[],
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

/** The holds a batch's captures, voids and expiries name (absent ids do not exist yet). */
export async function loadHoldStates(pool: Pool, ids: readonly string[]): Promise<Map<string, HoldState>> {
  const holds = new Map<string, HoldState>();
  if (ids.length === 0) return holds;
  const result = await pool.query(
    `SELECT id, account_id, amount, captured_amount, currency, status, expires_at FROM holds WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  for (const row of result.rows) {
    const hold = parseHoldRow(row);
    holds.set(hold.id, hold);
  }
  return holds;
}

/** The transfers a batch's reversals (and refunds of reversals) name, with their reversal totals. */
export async function loadReversibleTransfers(pool: Pool, ids: readonly string[]): Promise<Map<string, ReversibleTransfer>> {
  const transfers = new Map<string, ReversibleTransfer>();
  if (ids.length === 0) return transfers;
  const result = await pool.query(
    `SELECT t.id, t.kind, t.status, t.from_account_id, t.to_account_id, t.amount, t.currency,
            coalesce(r.reversed_amount, 0) AS reversed_amount
       FROM transfers t LEFT JOIN transfer_reversals r ON r.transfer_id = t.id
      WHERE t.id = ANY($1::uuid[])`,
    [ids],
  );
  for (const row of result.rows) {
    transfers.set(row.id, {
      id: row.id,
      kind: row.kind,
      status: row.status,
      fromAccountId: row.from_account_id,
      toAccountId: row.to_account_id,
      amount: BigInt(row.amount),
      currency: row.currency,
      reversedAmount: BigInt(row.reversed_amount),
    });
  }
  return transfers;
}

/**
 * Which of these accounts have an outgoing transfer still PROCESSING (a refund may come
 * home: they cannot close yet). Reads the partial index of PROCESSING rows only.
 */
export async function loadOutgoingInFlight(pool: Pool, accountIds: readonly string[]): Promise<Set<string>> {
  if (accountIds.length === 0) return new Set();
  const result = await pool.query(
    `SELECT DISTINCT from_account_id FROM transfers WHERE status = 'PROCESSING' AND from_account_id = ANY($1::uuid[])`,
    [accountIds],
  );
  return new Set(result.rows.map((r) => r.from_account_id as string));
}

/** HELD holds of these buckets due at `now` (by the worker's clock), oldest first. */
export async function loadDueHolds(
  pool: Pool,
  buckets: readonly number[],
  now: Date,
  limit: number,
): Promise<{ id: string; accountId: string }[]> {
  if (buckets.length === 0) return [];
  const result = await pool.query(
    `SELECT id, account_id FROM holds
      WHERE status = 'HELD' AND expires_at <= $1 AND bucket = ANY($2::int[])
      ORDER BY expires_at LIMIT $3`,
    [now, buckets, limit],
  );
  return result.rows.map((r) => ({ id: r.id as string, accountId: r.account_id as string }));
}
