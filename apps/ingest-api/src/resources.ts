/**
 * Rows and commands as the wire shows them (docs/api.md): amounts as digit strings,
 * absent fields omitted rather than null (the response schemas mark them optional).
 */
import type { ClientCommand } from '@ledgerline/domain';
import type { AccountRow, EntryRow, TransferRow } from '@ledgerline/postgres';
import type { TransferResource } from '@ledgerline/schemas';

export type AccountWire = {
  id: string;
  owner: string;
  currency: string;
  overdraft_limit: string;
  status: 'OPEN' | 'PENDING' | 'CLOSED';
  metadata: Record<string, unknown>;
  created_at: string;
};

export function accountWire(row: AccountRow): AccountWire {
  return {
    id: row.id,
    owner: row.owner,
    currency: row.currency,
    overdraft_limit: (row.overdraftLimit ?? 0n).toString(),
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
  };
}

/** The resource of a command Kafka has acknowledged and no worker has applied yet. */
export function acceptedTransferWire(command: ClientCommand): TransferResource {
  const from = command.type === 'TRANSFER' ? command.fromAccountId : command.type === 'WITHDRAWAL' ? command.accountId : null;
  const to = command.type === 'TRANSFER' ? command.toAccountId : command.type === 'DEPOSIT' ? command.accountId : null;
  return {
    id: command.transferId,
    kind: command.type,
    status: 'ACCEPTED',
    ...(from ? { from_account_id: from } : {}),
    ...(to ? { to_account_id: to } : {}),
    amount: command.amount.toString(),
    currency: command.currency,
    ...(command.type === 'TRANSFER' && command.description !== null ? { description: command.description } : {}),
    created_at: command.acceptedAt,
  };
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

export interface BalanceFigure {
  accountId: string;
  currency: string;
  balance: bigint;
  seq: bigint;
  asOf: string;
}

export function balanceWire(figure: BalanceFigure) {
  return {
    account_id: figure.accountId,
    currency: figure.currency,
    balance: figure.balance.toString(),
    // Nothing is ever held: the single writer applies a debit in full the moment it accepts
    // it (there is no authorise-then-capture), so what is available is exactly the posted
    // balance. Overdraft headroom is deliberately not added (docs/api.md).
    available: figure.balance.toString(),
    version: figure.seq.toString(),
    as_of: figure.asOf,
  };
}

/** A balance as it stood at `at`, read from the ledger (version 0: no entry yet then). */
export function balanceAtWire(account: { id: string; currency: string }, figure: { seq: bigint; balance: bigint }, at: string) {
  return {
    account_id: account.id,
    currency: account.currency,
    balance: figure.balance.toString(),
    version: figure.seq.toString(),
    as_of: new Date(at).toISOString(),
  };
}
