/**
 * The `events` topic (version 1), for downstream consumers. Key: the transfer id. Value:
 *
 *   { "v": 1, "type": "TransferCompleted" | "TransferRejected", "transfer_id": uuid,
 *     "kind": "TRANSFER" | "DEPOSIT" | "WITHDRAWAL", "from_account_id": uuid | null,
 *     "to_account_id": uuid | null, "amount": "digits", "currency": "USD",
 *     "reason": null | "INSUFFICIENT_FUNDS" | ..., "occurred_at": ISO-8601 }
 *
 * Delivery is at least once (the outbox relay may republish after a crash): consumers
 * dedupe on (transfer_id, type). Exactly one terminal event exists per transfer.
 */
import { z } from 'zod';
import type { TransferEvent } from '@ledgerline/domain';
import { amountString, currencyCode, isoTimestamp, rejectionReason, uuid } from './primitives';

export const transferEventMessage = z.object({
  v: z.literal(1),
  type: z.enum(['TransferCompleted', 'TransferRejected']),
  transfer_id: uuid,
  kind: z.enum(['TRANSFER', 'DEPOSIT', 'WITHDRAWAL']),
  from_account_id: uuid.nullable(),
  to_account_id: uuid.nullable(),
  amount: amountString,
  currency: currencyCode,
  reason: rejectionReason.nullable(),
  occurred_at: isoTimestamp,
});
export type TransferEventMessage = z.input<typeof transferEventMessage>;

export function toEventMessage(event: TransferEvent): TransferEventMessage {
  return {
    v: 1,
    type: event.type,
    transfer_id: event.transferId,
    kind: event.kind,
    from_account_id: event.fromAccountId,
    to_account_id: event.toAccountId,
    amount: event.amount.toString(),
    currency: event.currency,
    reason: event.reason,
    occurred_at: event.occurredAt,
  };
}

/** The dead-letter topic's value: why a message was refused, and its original bytes. */
export interface DeadLetterMessage {
  v: 1;
  /** Why: the decode failure, or `UNPROCESSABLE: <database error>`; storable text (see `storableReason`). */
  reason: string;
  /** The SQLSTATE of the failed write, for an UNPROCESSABLE one. */
  sqlstate?: string | null;
  topic: string;
  partition: number;
  offset: string;
  key_base64: string | null;
  value_base64: string | null;
  dead_lettered_at: string;
}

/**
 * A reason safe to store and publish: error messages may quote the very input that was
 * refused (a lone surrogate, NUL), which would make the dead letter itself unwritable.
 */
export function storableReason(text: string, lengthMax = 1000): string {
  return text.toWellFormed().replaceAll('\u0000', '\ufffd').slice(0, lengthMax).toWellFormed();
}
