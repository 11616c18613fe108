import { createHash } from 'node:crypto';
/**
 * The `events` topic (version 1), for downstream consumers. Transfers (key: the transfer id):
 *
 *   { "v": 1, "type": "TransferCompleted" | "TransferRejected", "transfer_id": uuid,
 *     "kind": "TRANSFER" | "DEPOSIT" | "WITHDRAWAL" | "CAPTURE" | "REVERSAL",
 *     "from_account_id": uuid | null,
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
  /** The message's key, its first DEAD_LETTER_KEY_BYTES_KEPT bytes when longer (then `key_bytes` and `key_sha256` say what it was). */
  key_base64: string | null;
  key_bytes?: number;
  key_sha256?: string;
  /** The message's value, its first DEAD_LETTER_VALUE_BYTES_KEPT bytes when longer (then `value_bytes` and `value_sha256`). */
  value_base64: string | null;
  value_bytes?: number;
  value_sha256?: string;
  dead_lettered_at: string;
}

/**
 * How many of a refused message's bytes its dead letter keeps. A command the API writes is a
 * few hundred bytes; anything near the broker's 1 MiB limit was written by someone else, and
 * in base64 (4/3 the size) its dead letter could not be published at all: the relay would
 * resend it forever, with every later outbox message of the worker behind it.
 */
export const DEAD_LETTER_VALUE_BYTES_KEPT = 64 * 1024;
export const DEAD_LETTER_KEY_BYTES_KEPT = 1024;

export interface RefusedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

/** The dead letter of a refused message: why, where from, and its bytes (cut at a bound, with the length and hash of the whole). */
export function deadLetterOf(message: RefusedMessage, reason: string, now: string, sqlstate?: string | null): DeadLetterMessage {
  const key = cut(message.key, DEAD_LETTER_KEY_BYTES_KEPT);
  const value = cut(message.value, DEAD_LETTER_VALUE_BYTES_KEPT);
  return {
    v: 1,
    reason: storableReason(reason),
    ...(sqlstate === undefined ? {} : { sqlstate }),
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    key_base64: key.base64,
    ...(key.whole ? { key_bytes: key.whole.bytes, key_sha256: key.whole.sha256 } : {}),
    value_base64: value.base64,
    ...(value.whole ? { value_bytes: value.whole.bytes, value_sha256: value.whole.sha256 } : {}),
    dead_lettered_at: now,
  };
}

/** `bytes` in base64, its first `kept` bytes when longer, with what the whole was. */
function cut(bytes: Buffer | null, kept: number): { base64: string | null; whole: { bytes: number; sha256: string } | null } {
  if (bytes === null) return { base64: null, whole: null };
  if (bytes.length <= kept) return { base64: bytes.toString('base64'), whole: null };
  return { base64: bytes.subarray(0, kept).toString('base64'), whole: { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') } };
}

/**
 * A reason safe to store and publish: error messages may quote the very input that was
 * refused (a lone surrogate, NUL), which would make the dead letter itself unwritable.
 */
export function storableReason(text: string, lengthMax = 1000): string {
  return text.toWellFormed().replaceAll('\u0000', '\ufffd').slice(0, lengthMax).toWellFormed();
}
