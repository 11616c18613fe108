/**
 * The `events` topic (version 1), for downstream consumers. Key: the transfer id. Value:
 *
 *   { "v": 1, "type": "TransferCompleted" | "TransferRejected", "transfer_id": uuid,
 *     "kind": "TRANSFER" | "DEPOSIT" | "WITHDRAWAL", "from_account_id": uuid | null,
 *     "to_account_id": uuid | null, "amount": "digits", "currency": "USD",
 *     "reason": null | "INSUFFICIENT_FUNDS" | ..., "occurred_at": ISO-8601 }
 *
 *   (kind CAPTURE adds "hold_id", kind REVERSAL adds "reverses")
 *
 * Holds (key: the hold id):
 *   { "v": 1, "type": "HoldPlaced" | "HoldRejected" | "HoldCaptured" | "HoldVoided" | "HoldExpired",
 *     "hold_id", "account_id", "amount", "captured_amount", "currency", "reason", "occurred_at" }
 * Account changes (key: the account id):
 *   { "v": 1, "type": "AccountUpdated" | "AccountUpdateRejected", "change_id", "account_id",
 *     "status", "overdraft_limit", "reason", "occurred_at" }
 *
 * Delivery is at least once (the outbox relay may republish after a crash): consumers
 * dedupe on (transfer_id | hold_id | change_id, type). Exactly one terminal event exists per
 * transfer, one of HoldPlaced/HoldRejected per hold and at most one end per hold.
 */
import { z } from 'zod';
import type { AccountEvent, HoldEvent, LedgerEvent, TransferEvent } from '@ledgerline/domain';
import { ACCOUNT_STATUSES } from '@ledgerline/domain';
import { accountChangeReason, amountString, currencyCode, isoTimestamp, limitString, rejectionReason, uuid } from './primitives';

export const transferEventMessage = z.object({
  v: z.literal(1),
  type: z.enum(['TransferCompleted', 'TransferRejected']),
  transfer_id: uuid,
  kind: z.enum(['TRANSFER', 'DEPOSIT', 'WITHDRAWAL', 'CAPTURE', 'REVERSAL']),
  from_account_id: uuid.nullable(),
  to_account_id: uuid.nullable(),
  amount: amountString,
  currency: currencyCode,
  reason: rejectionReason.nullable(),
  occurred_at: isoTimestamp,
  hold_id: uuid.optional(),
  reverses: uuid.optional(),
});
export type TransferEventMessage = z.input<typeof transferEventMessage>;

const nonNegativeAmount = z.string().regex(/^(0|[1-9][0-9]*)$/);

export const holdEventMessage = z.object({
  v: z.literal(1),
  type: z.enum(['HoldPlaced', 'HoldRejected', 'HoldCaptured', 'HoldVoided', 'HoldExpired']),
  hold_id: uuid,
  account_id: uuid,
  amount: amountString,
  captured_amount: nonNegativeAmount,
  currency: currencyCode,
  reason: rejectionReason.nullable(),
  occurred_at: isoTimestamp,
});
export type HoldEventMessage = z.input<typeof holdEventMessage>;

export const accountEventMessage = z.object({
  v: z.literal(1),
  type: z.enum(['AccountUpdated', 'AccountUpdateRejected']),
  change_id: uuid,
  account_id: uuid,
  status: z.enum(ACCOUNT_STATUSES).nullable(),
  overdraft_limit: limitString.nullable(),
  reason: accountChangeReason.nullable(),
  occurred_at: isoTimestamp,
});
export type AccountEventMessage = z.input<typeof accountEventMessage>;

export type LedgerEventMessage = TransferEventMessage | HoldEventMessage | AccountEventMessage;

/** Any event of the topic, by its `type`. */
export function toLedgerEventMessage(event: LedgerEvent): LedgerEventMessage {
  switch (event.type) {
    case 'TransferCompleted':
    case 'TransferRejected':
      return toEventMessage(event);
    case 'AccountUpdated':
    case 'AccountUpdateRejected':
      return toAccountEventMessage(event);
    default:
      return toHoldEventMessage(event);
  }
}

export function toHoldEventMessage(event: HoldEvent): HoldEventMessage {
  return {
    v: 1,
    type: event.type,
    hold_id: event.holdId,
    account_id: event.accountId,
    amount: event.amount.toString(),
    captured_amount: event.capturedAmount.toString(),
    currency: event.currency,
    reason: event.reason,
    occurred_at: event.occurredAt,
  };
}

export function toAccountEventMessage(event: AccountEvent): AccountEventMessage {
  return {
    v: 1,
    type: event.type,
    change_id: event.changeId,
    account_id: event.accountId,
    status: event.status,
    overdraft_limit: event.overdraftLimit === null ? null : event.overdraftLimit.toString(),
    reason: event.reason,
    occurred_at: event.occurredAt,
  };
}

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
    ...(event.holdId ? { hold_id: event.holdId } : {}),
    ...(event.reverses ? { reverses: event.reverses } : {}),
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
