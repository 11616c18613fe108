/** Read side used by the API and ledgerctl. Every query is bounded by a key or a LIMIT. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool, QueryResult } from 'pg';
import { utcInstantText } from './instant-text';
import { ENTRIES_PAGE_MAX, HISTORY_PAGE_MAX, SYSTEM_OWNER } from '@ledgerline/domain';
import {
  ACCOUNT_BALANCE_COLUMNS,
  ACCOUNT_COLUMNS,
  type AccountBalanceRow,
  parseAccountBalanceRow,
  type AccountChangeRow,
  HOLD_COLUMNS,
  type HoldRow,
  TRANSFER_COLUMNS,
  parseAccountChangeRow,
  parseHoldRow,
  type AccountRow,
  type EntryRow,
  type TransferRow,
  parseAccountRow,
  parseEntryRow,
  RowShapeError,
  parseTransferRow,
} from './rows';


export async function findAccount(pool: Pool, id: string): Promise<AccountRow | null> {
  const result = await pool.query(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1`, [id]);
  return result.rows[0] ? parseAccountRow(result.rows[0]) : null;
}

/** For each (account, instant), whether the account was closed (an applied PATCH to CLOSED) at or before the instant: one statement. */
export async function accountsClosedBy(pool: Pool, checks: readonly { accountId: string; instant: string }[]): Promise<boolean[]> {
  if (checks.length === 0) return [];
  const result = await pool.query(
    `SELECT EXISTS (SELECT 1 FROM account_changes
                     WHERE account_id = c.account_id AND status = 'CLOSED' AND outcome = 'APPLIED' AND applied_at <= c.instant) AS closed
       FROM unnest($1::uuid[], $2::timestamptz[]) WITH ORDINALITY AS c(account_id, instant, n)
      ORDER BY c.n`,
    [checks.map((c) => c.accountId), checks.map((c) => c.instant)],
  );
  return result.rows.map((row) => row.closed === true);
}

export async function findAccounts(pool: Pool, ids: readonly string[]): Promise<AccountRow[]> {
  if (ids.length === 0) return [];
  const result = await pool.query(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ANY($1::uuid[])`, [ids]);
  return result.rows.map(parseAccountRow);
}

/** The accounts' rows, each as of an instant at which the ledger held its balance (ACCOUNT_BALANCE_COLUMNS). */
export async function findAccountBalances(pool: Pool, ids: readonly string[]): Promise<AccountBalanceRow[]> {
  if (ids.length === 0) return [];
  const result = await pool.query(`SELECT ${ACCOUNT_BALANCE_COLUMNS} FROM accounts WHERE id = ANY($1::uuid[])`, [ids]);
  return result.rows.map(parseAccountBalanceRow);
}

export async function findTransfer(pool: Pool, id: string): Promise<TransferRow | null> {
  const result = await pool.query(`SELECT ${TRANSFER_COLUMNS} FROM transfers WHERE id = $1`, [id]);
  return result.rows[0] ? parseTransferRow(result.rows[0]) : null;
}

/** The transfers of `ids` that exist, in no particular order (a replayed batch's items, at once). */
export async function findTransfers(pool: Pool, ids: readonly string[]): Promise<TransferRow[]> {
  if (ids.length === 0) return [];
  const result = await pool.query(`SELECT ${TRANSFER_COLUMNS} FROM transfers WHERE id = ANY($1::uuid[])`, [ids]);
  return result.rows.map(parseTransferRow);
}

/** How much of each transfer its reversals took back (COMPLETED and PROCESSING ones), in one read; a transfer never reversed has no entry. */
export async function findReversedAmounts(pool: Pool, transferIds: readonly string[]): Promise<Map<string, bigint>> {
  if (transferIds.length === 0) return new Map();
  const result = await pool.query<{ transfer_id: string; reversed_amount: string }>(
    'SELECT transfer_id, reversed_amount FROM transfer_reversals WHERE transfer_id = ANY($1::uuid[])',
    [transferIds],
  );
  return new Map(result.rows.map((row) => [row.transfer_id, BigInt(row.reversed_amount)]));
}

export async function findHold(pool: Pool, id: string): Promise<HoldRow | null> {
  const result = await pool.query(`SELECT ${HOLD_COLUMNS} FROM holds WHERE id = $1`, [id]);
  return result.rows[0] ? parseHoldRow(result.rows[0]) : null;
}

/** The holds of `ids` that exist, in no particular order (a replayed batch's items, at once). */
export async function findHolds(pool: Pool, ids: readonly string[]): Promise<HoldRow[]> {
  if (ids.length === 0) return [];
  const result = await pool.query(`SELECT ${HOLD_COLUMNS} FROM holds WHERE id = ANY($1::uuid[])`, [ids]);
  return result.rows.map(parseHoldRow);
}

export async function findAccountChange(pool: Pool, id: string): Promise<AccountChangeRow | null> {
  const result = await pool.query('SELECT id, account_id, outcome, reason, principal, request_hash FROM account_changes WHERE id = $1', [id]);
  return result.rows[0] ? parseAccountChangeRow(result.rows[0]) : null;
}

export interface EntriesPageRequest {
  /** The cursor: entries with a lower seq only (exclusive). */
  beforeSeq: bigint | null;
  /** Entries created at or after this RFC 3339 instant. */
  from: string | null;
  /** Entries created before this RFC 3339 instant (exclusive). */
  to: string | null;
  limit: number;
}

/**
 * Newest first (by seq), optionally within a [from, to) window of created_at.
 *
 * An account's entries are written by its one writer, each batch in a transaction that
 * takes the partition's row after the previous one committed, and created_at is the clock
 * read once it holds that row (migration 0019): so
 * created_at never decreases as seq grows (as long as the database's clock does not step
 * back), and a time window is a seq range. Its two ends come from `ledger_entry_seq_before`
 * (migration 0016: a bisection over the account's seqs 1..n, one primary-key probe a step),
 * each evaluated once; the page is then a primary-key range scan of `limit` rows, however
 * wide the window and however deep the cursor (scripts/history-explain.ts).
 */
export const ENTRIES_SQL = `SELECT account_id, seq, transfer_id, amount, balance_after, created_at FROM entries
  WHERE account_id = $1 AND ($2::int8 IS NULL OR seq < $2::int8)
    AND ($3::timestamptz IS NULL OR seq > (SELECT ledger_entry_seq_before($1, $3::timestamptz, false)))
    AND ($4::timestamptz IS NULL OR seq <= (SELECT ledger_entry_seq_before($1, $4::timestamptz, false)))
  ORDER BY seq DESC LIMIT $5`;

export async function listEntries(pool: Pool, accountId: string, page: EntriesPageRequest): Promise<EntryRow[]> {
  const { beforeSeq, from, to, limit } = page;
  if (limit < 1 || limit > ENTRIES_PAGE_MAX) throw new RangeError(`limit must be in 1..${ENTRIES_PAGE_MAX}`);
  const result = await pool.query(ENTRIES_SQL, [accountId, beforeSeq === null ? null : beforeSeq.toString(), from, to, limit]);
  return result.rows.map(parseEntryRow);
}

export interface BalanceAt {
  /** The seq of the last entry created at or before the instant; 0n when there was none. */
  readonly seq: bigint;
  readonly balance: bigint;
}

/**
 * The balance after the last entry created at or before `at` (RFC 3339), from the ledger
 * itself: `ledger_entry_seq_before` finds that entry's seq by bisection over the primary key
 * (migration 0016), whatever the account's history length, and one more probe reads it.
 * Ties on created_at (entries of one partition's batch share one stamp) go to the
 * higher seq, the later entry.
 */
export const BALANCE_AT_SQL = `SELECT seq, balance_after FROM entries
  WHERE account_id = $1 AND seq = (SELECT ledger_entry_seq_before($1, $2::timestamptz, true))`;

export async function balanceAt(pool: Pool, accountId: string, at: string): Promise<BalanceAt> {
  const result = await pool.query(BALANCE_AT_SQL, [accountId, at]);
  const row = result.rows[0] as Record<string, unknown> | undefined;
  if (!row) return { seq: 0n, balance: 0n };
  const { seq, balance_after: balance } = row;
  if (typeof seq !== 'string' || !/^[0-9]+$/.test(seq) || typeof balance !== 'string' || !/^-?[0-9]+$/.test(balance)) {
    throw new RowShapeError('balance at: expected (seq int8, balance_after int8)');
  }
  return { seq: BigInt(seq), balance: BigInt(balance) };
}

/** Writes that could still stamp entries at or before an instant did not finish in time. */
export class EntriesUnsettledError extends Error {
  constructor(readonly at: string, waitedMs: number) {
    super(`writes in flight before ${at} did not finish within ${waitedMs} ms`);
    this.name = 'EntriesUnsettledError';
  }
}

export interface SettleOptions {
  /** How long to wait at most (a batch write normally takes milliseconds; the worker's deadline is seconds). */
  timeoutMs: number;
  /** The first pause between two checks; each next one doubles, up to `pollMaxMs`. */
  pollMs: number;
  pollMaxMs: number;
}

/**
 * Resolves once no write in flight can still add entries stamped at or before `at`
 * (RFC 3339): a read that starts after it sees every such entry, now and forever, so a past
 * instant always reads the same figure. Migration 0019 states the protocol: a writer stamps
 * its entries only after it holds its partition's row, and this waits for the row holders
 * that the first check's snapshot, taken after `at`, shows. Costs one statement when nothing
 * is in flight; throws EntriesUnsettledError after `timeoutMs`.
 */
export async function awaitEntriesSettled(pool: Pool, at: string, options: SettleOptions): Promise<void> {
  await settleEntries(pool, at, options, 'wait');
}

/**
 * awaitEntriesSettled for an `at` that has passed on the ledger's clock, else false at once
 * (nothing waited for). The ledger's clock, Postgres's, which stamps every entry and every
 * `as_of`: not the caller's own, which may run behind it (a window the ledger has closed would
 * be read as open, and not waited for) or ahead of it (an outside review). One statement when
 * nothing is in flight, as before.
 */
export async function settleEntriesIfPassed(pool: Pool, at: string, options: SettleOptions): Promise<boolean> {
  return settleEntries(pool, at, options, 'answer');
}

async function settleEntries(pool: Pool, at: string, options: SettleOptions, notPassedYet: 'wait' | 'answer'): Promise<boolean> {
  const started = Date.now();
  const overdue = () => Date.now() - started >= options.timeoutMs;
  let writers: string[] | null = null;
  let pause = options.pollMs;
  for (;;) {
    if (writers === null) {
      const result: QueryResult<{ writers: string[] | null }> = await pool.query('SELECT ledger_entry_writers_before($1::timestamptz)::text[] AS writers', [at]);
      writers = result.rows[0]?.writers ?? null; // null: `at` has not passed on the database's clock yet
      if (writers === null && notPassedYet === 'answer') return false;
    } else {
      const result: QueryResult<{ running: string[] }> = await pool.query('SELECT ledger_transactions_running($1::xid8[])::text[] AS running', [writers]);
      writers = result.rows[0]?.running ?? [];
    }
    if (writers !== null && writers.length === 0) return true;
    if (overdue()) throw new EntriesUnsettledError(at, Date.now() - started);
    await sleep(pause);
    pause = Math.min(pause * 2, options.pollMaxMs);
  }
}

/** Where a history page ends: the exact created_at (microseconds, UTC) and id of its last row. */
export interface HistoryCursor {
  readonly createdAt: string;
  readonly id: string;
}

export interface HistoryPageRequest {
  accountId: string;
  /** The statuses to show (one for a filter, all of them otherwise). */
  statuses: readonly string[];
  /** The kinds to show. */
  kinds: readonly string[];
  after: HistoryCursor | null;
  limit: number;
}

export interface HistoryPage {
  readonly transfers: TransferRow[];
  /** Set when a further page may exist. */
  readonly next: HistoryCursor | null;
}

/**
 * The movements that touch an account, as source or as destination, newest first by
 * (created_at, id).
 *
 * Each side has an index on (account, status, kind, created_at, id) (migration 0008), and
 * the page is the merge of one ordered descent per (side, status, kind), each stopped after
 * `limit + 1` rows: a few buffer reads each, whatever the filter. The first version (an
 * index on (account, created_at, id) and status/kind as a filter) served an unfiltered page
 * in 0.2 ms but took 154 ms for status=REJECTED on an account with 250,000 movements, since
 * the filter had to skip every non-matching row (scripts/history-explain.ts). The extra row
 * says whether a next page exists without a COUNT.
 */
const HISTORY_SIDE = (column: 'from_account_id' | 'to_account_id') => `(SELECT ${TRANSFER_COLUMNS} FROM transfers
   WHERE ${column} = $1 AND status = s.status AND kind = k.kind
     AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
   ORDER BY created_at DESC, id DESC LIMIT $6)`;

export const HISTORY_SQL = `SELECT page.*,
       ${utcInstantText('page.created_at')} AS created_at_key
  FROM unnest($4::text[]) AS s(status)
 CROSS JOIN unnest($5::text[]) AS k(kind)
 CROSS JOIN LATERAL (${HISTORY_SIDE('from_account_id')} UNION ALL ${HISTORY_SIDE('to_account_id')}) AS page
 ORDER BY page.created_at DESC, page.id DESC LIMIT $6`;

export async function listAccountTransfers(pool: Pool, request: HistoryPageRequest): Promise<HistoryPage> {
  const { accountId, statuses, kinds, after, limit } = request;
  if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_PAGE_MAX) {
    throw new RangeError(`limit must be in 1..${HISTORY_PAGE_MAX}`);
  }
  const result = await pool.query(HISTORY_SQL, [accountId, after?.createdAt ?? null, after?.id ?? null, statuses, kinds, limit + 1]);
  const rows = result.rows as Record<string, unknown>[];
  const shown = rows.slice(0, limit);
  const last = shown[shown.length - 1];
  const next = rows.length > limit && last ? { createdAt: String(last.created_at_key), id: String(last.id) } : null;
  return { transfers: shown.map(parseTransferRow), next };
}

export interface AccountPageRequest {
  owner: string;
  after: HistoryCursor | null;
  limit: number;
}

export interface AccountPage {
  readonly accounts: AccountRow[];
  /** Set when a further page may exist. */
  readonly next: HistoryCursor | null;
}

/**
 * An owner's accounts, newest first by (created_at, id): one ordered descent of
 * `accounts_owner_history_idx` (owner, created_at, id; migration 0029), stopped after
 * `limit + 1` rows; the extra row says whether a next page exists without a COUNT.
 */
const OWNER_ACCOUNTS_SQL = `SELECT ${ACCOUNT_COLUMNS},
       ${utcInstantText('created_at')} AS created_at_key
  FROM accounts
 WHERE owner = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
 ORDER BY created_at DESC, id DESC LIMIT $4`;

export async function listOwnerAccounts(pool: Pool, request: AccountPageRequest): Promise<AccountPage> {
  const { owner, after, limit } = request;
  if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_PAGE_MAX) {
    throw new RangeError(`limit must be in 1..${HISTORY_PAGE_MAX}`);
  }
  const result = await pool.query(OWNER_ACCOUNTS_SQL, [owner, after?.createdAt ?? null, after?.id ?? null, limit + 1]);
  const rows = result.rows as Record<string, unknown>[];
  const shown = rows.slice(0, limit);
  const last = shown[shown.length - 1];
  const next = rows.length > limit && last ? { createdAt: String(last.created_at_key), id: String(last.id) } : null;
  return { accounts: shown.map(parseAccountRow), next };
}

export interface HoldPageRequest {
  accountId: string;
  /** The statuses to show (one for a filter, all of them otherwise). */
  statuses: readonly string[];
  after: HistoryCursor | null;
  limit: number;
}

export interface HoldPage {
  readonly holds: HoldRow[];
  /** Set when a further page may exist. */
  readonly next: HistoryCursor | null;
}

/**
 * An account's holds that a worker has applied, newest first by (created_at, id): one
 * ordered descent of `holds_account_history_idx` (account, status, created_at, id; migration
 * 0028) per status, each stopped after `limit + 1` rows, merged. The extra row says whether
 * a next page exists without a COUNT.
 */
const HOLD_HISTORY_SQL = `SELECT page.*,
       ${utcInstantText('page.created_at')} AS created_at_key
  FROM unnest($4::text[]) AS s(status)
 CROSS JOIN LATERAL (SELECT ${HOLD_COLUMNS} FROM holds
                      WHERE account_id = $1 AND status = s.status
                        AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
                      ORDER BY created_at DESC, id DESC LIMIT $5) AS page
 ORDER BY page.created_at DESC, page.id DESC LIMIT $5`;

export async function listAccountHolds(pool: Pool, request: HoldPageRequest): Promise<HoldPage> {
  const { accountId, statuses, after, limit } = request;
  if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_PAGE_MAX) {
    throw new RangeError(`limit must be in 1..${HISTORY_PAGE_MAX}`);
  }
  const result = await pool.query(HOLD_HISTORY_SQL, [accountId, after?.createdAt ?? null, after?.id ?? null, statuses, limit + 1]);
  const rows = result.rows as Record<string, unknown>[];
  const shown = rows.slice(0, limit);
  const last = shown[shown.length - 1];
  const next = rows.length > limit && last ? { createdAt: String(last.created_at_key), id: String(last.id) } : null;
  return { holds: shown.map(parseHoldRow), next };
}

/**
 * Which of `ids` have reached COMPLETED or REJECTED: the long poll's safety re-check asks
 * this once per second for every transfer still waited on, in one query.
 */
export async function findTerminalTransferIds(pool: Pool, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  // Holds and account changes share the long poll: for them, "terminal" is "applied" (a hold
  // is waited on until it is no longer ACCEPTED, a PATCH until its outcome is known).
  const result = await pool.query(
    `SELECT id FROM transfers WHERE id = ANY($1::uuid[]) AND status IN ('COMPLETED', 'REJECTED')
     UNION ALL SELECT id FROM holds WHERE id = ANY($1::uuid[])
     UNION ALL SELECT id FROM account_changes WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  return new Set(result.rows.map((r) => r.id as string));
}

/** Which of these holds have ended: captured, voided, expired, or refused (anything but HELD). */
export async function findEndedHoldIds(pool: Pool, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const result = await pool.query(`SELECT id FROM holds WHERE id = ANY($1::uuid[]) AND status <> 'HELD'`, [ids]);
  return new Set(result.rows.map((r) => r.id as string));
}

/** The ledger's own accounts (each partition's transit and external account per currency), with their balances. */
export async function listSystemAccounts(pool: Pool): Promise<{ id: string; kind: 'TRANSIT' | 'EXTERNAL'; currency: string; balance: bigint }[]> {
  // By owner (accounts_owner_history_idx), not by kind: a handful of rows, never a scan of the users'.
  const result = await pool.query(`SELECT id, kind, currency, balance::text AS balance FROM accounts WHERE owner = $1 AND kind <> 'USER' ORDER BY currency, kind, id`, [SYSTEM_OWNER]);
  return result.rows.map((r) => ({ id: String(r.id), kind: r.kind as 'TRANSIT' | 'EXTERNAL', currency: String(r.currency), balance: BigInt(r.balance) }));
}
