/**
 * Rows and commands as the wire shows them (docs/api.md): amounts as digit strings,
 * absent fields omitted rather than null (the response schemas mark them optional).
 */
import { type BalanceFigure, type ClientCommand, DESCRIPTION_CHARS_MAX, type HoldCommand } from '@ledgerline/domain';
import type { AccountRow, EntryRow, HoldRow, TransferRow } from '@ledgerline/postgres';
import { shown } from '@ledgerline/redis';
import { type HoldResource, type TransferResource, holdResource, instantParam, transferResource } from '@ledgerline/schemas';
import { z } from 'zod';

export type AccountWire = {
  id: string;
  owner: string;
  currency: string;
  /** null: a system account, which has no limit. */
  overdraft_limit: string | null;
  status: 'OPEN' | 'FROZEN' | 'CLOSED';
  metadata: Record<string, unknown>;
  created_at: string;
};

export function accountWire(row: AccountRow): AccountWire {
  return {
    id: row.id,
    owner: row.owner,
    currency: row.currency,
    overdraft_limit: row.overdraftLimit === null ? null : row.overdraftLimit.toString(),
    status: row.status,
    metadata: row.metadata,
    created_at: row.createdAt,
  };
}

export function transferWireFromRow(row: TransferRow): TransferResource {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    ...(row.reason ? { reason: row.reason } : {}),
    ...(row.fromAccountId ? { from_account_id: row.fromAccountId } : {}),
    ...(row.toAccountId ? { to_account_id: row.toAccountId } : {}),
    amount: row.amount.toString(),
    currency: row.currency,
    ...(row.description !== null ? { description: row.description } : {}),
    created_at: row.createdAt,
    ...(row.completedAt ? { completed_at: row.completedAt } : {}),
    ...(row.holdId ? { hold_id: row.holdId } : {}),
    ...(row.reverses ? { reverses: row.reverses } : {}),
  };
}

export function holdWire(row: HoldRow): HoldResource {
  return {
    id: row.id,
    account_id: row.accountId,
    amount: row.amount.toString(),
    captured_amount: row.capturedAmount.toString(),
    currency: row.currency,
    status: row.status,
    ...(row.reason ? { reason: row.reason as HoldResource['reason'] } : {}),
    ...(row.description !== null ? { description: row.description } : {}),
    expires_at: row.expiresAt,
    created_at: row.createdAt,
    ...(row.completedAt ? { completed_at: row.completedAt } : {}),
  };
}

/** The resource of a hold Kafka has acknowledged and no worker has applied yet. */
export function acceptedHoldWire(command: HoldCommand): HoldResource {
  return {
    id: command.holdId,
    account_id: command.accountId,
    amount: command.amount.toString(),
    captured_amount: '0',
    currency: command.currency,
    status: 'ACCEPTED',
    ...(command.description !== null ? { description: command.description } : {}),
    expires_at: command.expiresAt,
    created_at: command.acceptedAt,
  };
}

/**
 * The resource of a command Kafka has acknowledged and no worker has applied yet. A
 * reversal's destination (`to`) is the original's source, known to the caller only.
 */
export function acceptedTransferWire(command: ClientCommand, reversalTo: string | null = null): TransferResource {
  const from =
    command.type === 'TRANSFER' || command.type === 'REVERSAL'
      ? command.fromAccountId
      : command.type === 'WITHDRAWAL' || command.type === 'CAPTURE'
        ? command.accountId
        : null;
  const to =
    command.type === 'TRANSFER' || command.type === 'CAPTURE'
      ? command.toAccountId
      : command.type === 'DEPOSIT'
        ? command.accountId
        : command.type === 'REVERSAL'
          ? reversalTo
          : null;
  return {
    id: command.transferId,
    kind: command.type,
    status: 'ACCEPTED',
    ...(from ? { from_account_id: from } : {}),
    ...(to ? { to_account_id: to } : {}),
    amount: command.amount.toString(),
    currency: command.currency,
    ...(command.type !== 'CAPTURE' && command.description !== null ? { description: command.description } : {}),
    created_at: command.acceptedAt,
    ...(command.type === 'CAPTURE' ? { hold_id: command.holdId } : {}),
    ...(command.type === 'REVERSAL' ? { reverses: command.reverses } : {}),
  };
}

/**
 * What an ACCEPTED record's resource can be: what acceptedTransferWire and acceptedHoldWire
 * write (status ACCEPTED; no reason, completion or reversed amount yet; the instants as the
 * API's clock wrote them), and nothing else: an unknown field refuses it. Redis is not
 * trusted (cached-values.ts), so a record is parsed before it is shown.
 */
const acceptedTransferResource = transferResource
  .omit({ reason: true, completed_at: true, reversed_amount: true })
  .extend({ status: z.literal('ACCEPTED'), description: z.string().max(DESCRIPTION_CHARS_MAX).optional(), created_at: instantParam })
  .strict();
const acceptedHoldResource = holdResource
  .omit({ reason: true, completed_at: true })
  .extend({
    status: z.literal('ACCEPTED'),
    captured_amount: z.literal('0'),
    description: z.string().max(DESCRIPTION_CHARS_MAX).optional(),
    expires_at: instantParam,
    created_at: instantParam,
  })
  .strict();

/**
 * The resource an ACCEPTED record kept for `id` holds: a transfer's or a hold's (they keep
 * their records in one store, so a hold's id asked for as a transfer finds the hold's record:
 * a 404 for the transfer, not a hold body), or why it is neither (`malformed`). A transfer's
 * resource names its `kind`; a hold's does not.
 */
export function acceptedResourceOf(id: string, resource: Record<string, unknown>): { transfer: TransferResource } | { hold: HoldResource } | { malformed: string } {
  const parsed = 'kind' in resource ? acceptedTransferResource.safeParse(resource) : acceptedHoldResource.safeParse(resource);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { malformed: `its resource is no ACCEPTED ${'kind' in resource ? 'transfer' : 'hold'}: ${shown(`${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}`, 120)}` };
  }
  if (parsed.data.id !== id) return { malformed: `its resource is ${shown(parsed.data.id)}'s` };
  return 'kind' in parsed.data ? { transfer: parsed.data } : { hold: parsed.data };
}

export function entryWire(row: EntryRow) {
  return {
    transfer_id: row.transferId,
    amount: row.amount.toString(),
    balance_after: row.balanceAfter.toString(),
    seq: row.seq.toString(),
    created_at: row.createdAt,
  };
}


export function balanceWire(figure: BalanceFigure) {
  return {
    account_id: figure.accountId,
    currency: figure.currency,
    balance: figure.balance.toString(),
    // Balance minus the account's active holds. Overdraft headroom is deliberately not added
    // (docs/api.md): `available` says what the account holds, not what it may still spend.
    available: (figure.balance - figure.held).toString(),
    version: figure.seq.toString(),
    as_of: figure.asOf,
  };
}

/** A balance as it stood at `asOf` (an instant as the wire shows it), read from the ledger (version 0: no entry yet then). */
export function balanceAtWire(account: { id: string; currency: string }, figure: { seq: bigint; balance: bigint }, asOf: string) {
  return {
    account_id: account.id,
    currency: account.currency,
    balance: figure.balance.toString(),
    version: figure.seq.toString(),
    as_of: asOf,
  };
}
