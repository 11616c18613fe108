/**
 * The messages a transfer's row alone determines: its credit leg while it is PROCESSING, its
 * terminal event once it is finished. Because nothing else goes into them, the outbox may
 * store the transfer's id instead of the message, and the sweeper rebuild the message from the
 * row (docs/design.md, the outbox).
 */
import { InvariantViolation } from './batch-invariants';
import type { NewTransferEffect, TransferEvent } from './effects';
import type { CreditLegCommand } from './model';

/**
 * The CREDIT_LEG a PROCESSING cross-partition transfer sends to its destination. Nothing but
 * facts of the transfer's row, so the outbox sweeper rebuilds it from that row.
 */
export function creditLegOf(
  transfer: Pick<NewTransferEffect, 'id' | 'kind' | 'fromAccountId' | 'toAccountId' | 'amount' | 'currency' | 'sourcePartition' | 'holdId' | 'reverses'>,
): CreditLegCommand {
  const { id, kind, fromAccountId, toAccountId } = transfer;
  if (kind !== 'TRANSFER' && kind !== 'CAPTURE' && kind !== 'REVERSAL') throw new InvariantViolation(`transfer ${id}: a ${kind} has no credit leg`);
  if (fromAccountId === null || toAccountId === null) throw new InvariantViolation(`transfer ${id}: a credit leg needs both accounts`);
  return {
    type: 'CREDIT_LEG',
    transferId: id,
    kind,
    reverses: transfer.reverses,
    holdId: transfer.holdId,
    fromAccountId,
    toAccountId,
    amount: transfer.amount,
    currency: transfer.currency,
    sourcePartition: transfer.sourcePartition,
  };
}

/**
 * A finished transfer's event (TransferCompleted or TransferRejected). Nothing but facts of
 * the transfer's row once finished, so the outbox sweeper rebuilds it from that row.
 */
export function terminalEventOf(
  transfer: Pick<NewTransferEffect, 'id' | 'kind' | 'status' | 'reason' | 'fromAccountId' | 'toAccountId' | 'amount' | 'currency' | 'completedAt' | 'holdId' | 'reverses'>,
): TransferEvent {
  if (transfer.status === 'PROCESSING' || transfer.completedAt === null) throw new InvariantViolation(`transfer ${transfer.id} is not finished`);
  return {
    type: transfer.status === 'COMPLETED' ? 'TransferCompleted' : 'TransferRejected',
    transferId: transfer.id,
    kind: transfer.kind,
    fromAccountId: transfer.fromAccountId,
    toAccountId: transfer.toAccountId,
    amount: transfer.amount,
    currency: transfer.currency,
    reason: transfer.reason,
    occurredAt: transfer.completedAt,
    ...(transfer.holdId !== null ? { holdId: transfer.holdId } : {}),
    ...(transfer.reverses !== null ? { reverses: transfer.reverses } : {}),
  };
}

