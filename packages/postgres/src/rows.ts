/**
 * Row parsers: what Postgres returns is checked at the border like any other input.
 * int8 arrives as a string (pg's default) and becomes bigint; never a JS number.
 */
import {
  ACCOUNT_STATUSES,
  type AccountKind,
  type AccountState,
  type AccountStatus,
  type HoldState,
  type HoldStatus,
  HOLD_STATUSES,
  type NewTransferEffect,
  type RejectionReason,
  type TransferKind,
} from '@ledgerline/domain';
import { utcInstantText } from './instant-text';

export class RowShapeError extends Error {
  override readonly name = 'RowShapeError';
}

function text(row: Record<string, unknown>, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw new RowShapeError(`column ${column}: expected text, got ${typeof value}`);
  return value;
}

function nullableText(row: Record<string, unknown>, column: string): string | null {
  return row[column] === null ? null : text(row, column);
}

function int8(row: Record<string, unknown>, column: string): bigint {
  const value = row[column];
  if (typeof value !== 'string' || !/^-?\d+$/.test(value)) throw new RowShapeError(`column ${column}: expected int8, got ${String(value)}`);
  return BigInt(value);
}

function nullableInt8(row: Record<string, unknown>, column: string): bigint | null {
  return row[column] === null ? null : int8(row, column);
}

function timestamp(row: Record<string, unknown>, column: string): string {
  const value = row[column];
  if (!(value instanceof Date)) throw new RowShapeError(`column ${column}: expected timestamptz`);
  return value.toISOString();
}

function nullableTimestamp(row: Record<string, unknown>, column: string): string | null {
  return row[column] === null ? null : timestamp(row, column);
}

function oneOf<T extends string>(row: Record<string, unknown>, column: string, allowed: readonly T[]): T {
  const value = text(row, column);
  if (!(allowed as readonly string[]).includes(value)) throw new RowShapeError(`column ${column}: unexpected ${value}`);
  return value as T;
}

export const ACCOUNT_COLUMNS =
  'id, owner, kind, currency, overdraft_limit, status, metadata, request_hash, balance, seq, held, rev, created_at, updated_at';

export interface AccountRow extends AccountState {
  readonly metadata: Record<string, unknown>;
  readonly requestHash: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export function parseAccountRow(row: Record<string, unknown>): AccountRow {
  return {
    id: text(row, 'id'),
    owner: text(row, 'owner'),
    kind: oneOf<AccountKind>(row, 'kind', ['USER', 'TRANSIT', 'EXTERNAL']),
    currency: text(row, 'currency'),
    overdraftLimit: nullableInt8(row, 'overdraft_limit'),
    status: oneOf<AccountStatus>(row, 'status', ACCOUNT_STATUSES),
    metadata: (row.metadata ?? {}) as Record<string, unknown>,
    requestHash: nullableText(row, 'request_hash'),
    balance: int8(row, 'balance'),
    seq: int8(row, 'seq'),
    held: int8(row, 'held'),
    rev: int8(row, 'rev'),
    createdAt: timestamp(row, 'created_at'),
    updatedAt: timestamp(row, 'updated_at'),
  };
}

/** An account's row with the instant its balance figure stands for (ACCOUNT_BALANCE_COLUMNS). */
export interface AccountBalanceRow {
  readonly account: AccountRow;
  /** An instant at which the ledger held `account.balance`: given back as `at`, it reads that figure. */
  readonly asOf: string;
}

/**
 * ACCOUNT_COLUMNS (of `accounts`) and the instant its balance stands for: the later of its
 * last entry's time and its last change (a hold, a status). Not `updated_at` alone: that is
 * the writing transaction's start (now()), which precedes the entries' own time, read once
 * the transaction holds its partition's row (migration 0019), by as long as it waited for
 * that row; a point-in-time read of it would show the balance before the entry. The next
 * entry of the account is stamped after this row's commit, so no later entry precedes it.
 */
export const ACCOUNT_BALANCE_COLUMNS = `${ACCOUNT_COLUMNS},
  ${utcInstantText('greatest(updated_at, (SELECT e.created_at FROM entries e WHERE e.account_id = accounts.id AND e.seq = accounts.seq))')} AS balance_as_of`;

/** What utcInstantText renders. */
const UTC_INSTANT_TEXT = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$/;

export function parseAccountBalanceRow(row: Record<string, unknown>): AccountBalanceRow {
  const asOf = row.balance_as_of;
  if (typeof asOf !== 'string' || !UTC_INSTANT_TEXT.test(asOf)) throw new RowShapeError('account balance: expected balance_as_of as UTC text with microseconds');
  return { account: parseAccountRow(row), asOf };
}

export const TRANSFER_COLUMNS =
  'id, kind, status, reason, from_account_id, to_account_id, amount, currency, principal, request_hash, description, source_partition, created_at, completed_at, hold_id, reverses';

/** A transfer as stored: exactly what the worker's apply produced when it inserted it. */
export type TransferRow = NewTransferEffect;

export function parseTransferRow(row: Record<string, unknown>): TransferRow {
  return {
    id: text(row, 'id'),
    kind: oneOf<TransferKind>(row, 'kind', ['TRANSFER', 'DEPOSIT', 'WITHDRAWAL', 'CAPTURE', 'REVERSAL']),
    status: oneOf(row, 'status', ['PROCESSING', 'COMPLETED', 'REJECTED'] as const),
    reason: nullableText(row, 'reason') as RejectionReason | null,
    fromAccountId: nullableText(row, 'from_account_id'),
    toAccountId: nullableText(row, 'to_account_id'),
    amount: int8(row, 'amount'),
    currency: text(row, 'currency'),
    principal: text(row, 'principal'),
    requestHash: text(row, 'request_hash'),
    description: nullableText(row, 'description'),
    sourcePartition: Number(row.source_partition),
    createdAt: timestamp(row, 'created_at'),
    completedAt: nullableTimestamp(row, 'completed_at'),
    holdId: nullableText(row, 'hold_id'),
    reverses: nullableText(row, 'reverses'),
  };
}

export interface EntryRow {
  readonly accountId: string;
  readonly seq: bigint;
  readonly transferId: string;
  readonly amount: bigint;
  readonly balanceAfter: bigint;
  readonly createdAt: string;
}

export function parseEntryRow(row: Record<string, unknown>): EntryRow {
  return {
    accountId: text(row, 'account_id'),
    seq: int8(row, 'seq'),
    transferId: text(row, 'transfer_id'),
    amount: int8(row, 'amount'),
    balanceAfter: int8(row, 'balance_after'),
    createdAt: timestamp(row, 'created_at'),
  };
}

export const HOLD_COLUMNS =
  'id, account_id, amount, captured_amount, currency, status, reason, principal, request_hash, description, expires_at, created_at, completed_at';

/** A hold as stored (the resource of `GET /v1/holds/{id}`). */
export interface HoldRow extends HoldState {
  readonly reason: string | null;
  readonly principal: string;
  readonly requestHash: string;
  readonly description: string | null;
  readonly createdAt: string;
  readonly completedAt: string | null;
}

export function parseHoldRow(row: Record<string, unknown>): HoldRow {
  return {
    id: text(row, 'id'),
    accountId: text(row, 'account_id'),
    amount: int8(row, 'amount'),
    capturedAmount: int8(row, 'captured_amount'),
    currency: text(row, 'currency'),
    status: oneOf<HoldStatus>(row, 'status', HOLD_STATUSES),
    expiresAt: timestamp(row, 'expires_at'),
    reason: row.reason === undefined ? null : nullableText(row, 'reason'),
    principal: row.principal === undefined ? '' : text(row, 'principal'),
    requestHash: row.request_hash === undefined ? '' : text(row, 'request_hash'),
    description: row.description === undefined ? null : nullableText(row, 'description'),
    createdAt: row.created_at === undefined ? '' : timestamp(row, 'created_at'),
    completedAt: row.completed_at === undefined ? null : nullableTimestamp(row, 'completed_at'),
  };
}

export interface AccountChangeRow {
  readonly id: string;
  readonly accountId: string;
  readonly outcome: 'APPLIED' | 'REJECTED';
  readonly reason: string | null;
  readonly principal: string;
  readonly requestHash: string;
}

export function parseAccountChangeRow(row: Record<string, unknown>): AccountChangeRow {
  return {
    id: text(row, 'id'),
    accountId: text(row, 'account_id'),
    outcome: oneOf(row, 'outcome', ['APPLIED', 'REJECTED'] as const),
    reason: nullableText(row, 'reason'),
    principal: text(row, 'principal'),
    requestHash: text(row, 'request_hash'),
  };
}
