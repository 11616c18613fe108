/**
 * The `commands` topic's message format (version 1), parsed at the worker's border.
 *
 * Keys are the subject account id; values are JSON objects discriminated by `type`. Amounts
 * are digit strings. A message that fails this schema is a poison message: the worker sends
 * it to the dead-letter topic with the reason and keeps the partition moving.
 */
import { z } from 'zod';
import { type Command, DESCRIPTION_CHARS_MAX, FENCE_MOVES_MAX } from '@ledgerline/domain';
import { amountString, currencyCode, isoTimestamp, rejectionReason, storableText, uuid } from './primitives';

const clientFields = {
  v: z.literal(1),
  transfer_id: uuid,
  amount: amountString,
  currency: currencyCode,
  principal: storableText(256).pipe(z.string().min(1)),
  admin: z.boolean(),
  request_hash: z.string().regex(/^[0-9a-f]{64}$/),
  accepted_at: isoTimestamp,
};

const transferMessage = z
  .object({
    ...clientFields,
    type: z.literal('TRANSFER'),
    from_account_id: uuid,
    to_account_id: uuid,
    // A message written before the API refused NUL is dead-lettered, not applied.
    description: storableText(DESCRIPTION_CHARS_MAX).nullable(),
  })
  .refine((m) => m.from_account_id !== m.to_account_id, { message: 'from and to must differ', path: ['to_account_id'] });

const depositMessage = z.object({ ...clientFields, type: z.literal('DEPOSIT'), account_id: uuid });
const withdrawalMessage = z.object({ ...clientFields, type: z.literal('WITHDRAWAL'), account_id: uuid });

const legFields = {
  v: z.literal(1),
  transfer_id: uuid,
  from_account_id: uuid,
  to_account_id: uuid,
  amount: amountString,
  currency: currencyCode,
  source_partition: z.number().int().min(0),
};
const creditLegMessage = z.object({ ...legFields, type: z.literal('CREDIT_LEG') });
const refundLegMessage = z.object({ ...legFields, type: z.literal('REFUND_LEG'), reason: rejectionReason });

export const commandMessage = z.discriminatedUnion('type', [
  transferMessage,
  depositMessage,
  withdrawalMessage,
  creditLegMessage,
  refundLegMessage,
]);
export type CommandMessage = z.input<typeof commandMessage>;

/**
 * A control marker of the bucket-move protocol, sent by `ledgerctl` to a bucket's OLD
 * partition: once its owner has applied everything before it, the moves are FENCED.
 */
export const fenceMessage = z.object({
  v: z.literal(1),
  type: z.literal('FENCE'),
  move_ids: z.array(z.string().regex(/^[0-9]{1,19}$/)).min(1).max(FENCE_MOVES_MAX),
  from_partition: z.number().int().min(0),
});
export type FenceMessage = z.input<typeof fenceMessage>;

export interface Fence {
  moveIds: bigint[];
  fromPartition: number;
}

export type DecodeResult = { ok: true; command: Command } | { ok: true; fence: Fence; command?: undefined } | { ok: false; reason: string };

export function encodeFence(fence: Fence): string {
  return JSON.stringify({ v: 1, type: 'FENCE', move_ids: fence.moveIds.map(String), from_partition: fence.fromPartition } satisfies FenceMessage);
}

/** Parses one Kafka message value. Never throws: a poison message is a value, not an error. */
export function decodeCommand(value: Buffer | null): DecodeResult {
  if (!value || value.length === 0) return { ok: false, reason: 'empty message value' };
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  if ((json as { type?: unknown } | null)?.type === 'FENCE') {
    const fence = fenceMessage.safeParse(json);
    if (fence.success) return { ok: true, fence: { moveIds: fence.data.move_ids.map(BigInt), fromPartition: fence.data.from_partition } };
    return { ok: false, reason: `schema: ${fence.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}` };
  }
  const parsed = commandMessage.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    return { ok: false, reason: `schema: ${issues.join('; ')}` };
  }
  return { ok: true, command: toCommand(parsed.data) };
}

function toCommand(m: z.output<typeof commandMessage>): Command {
  switch (m.type) {
    case 'TRANSFER':
      return {
        type: m.type,
        transferId: m.transfer_id,
        fromAccountId: m.from_account_id,
        toAccountId: m.to_account_id,
        description: m.description,
        ...clientCommon(m),
      };
    case 'DEPOSIT':
    case 'WITHDRAWAL':
      return { type: m.type, transferId: m.transfer_id, accountId: m.account_id, ...clientCommon(m) };
    case 'CREDIT_LEG':
      return { type: m.type, ...legCommon(m) };
    case 'REFUND_LEG':
      return { type: m.type, reason: m.reason, ...legCommon(m) };
  }
}

function clientCommon(m: { amount: string; currency: string; principal: string; admin: boolean; request_hash: string; accepted_at: string }) {
  return {
    amount: BigInt(m.amount),
    currency: m.currency,
    principal: m.principal,
    admin: m.admin,
    requestHash: m.request_hash,
    acceptedAt: m.accepted_at,
  };
}

function legCommon(m: Omit<z.output<typeof creditLegMessage>, "type">) {
  return {
    transferId: m.transfer_id,
    fromAccountId: m.from_account_id,
    toAccountId: m.to_account_id,
    amount: BigInt(m.amount),
    currency: m.currency,
    sourcePartition: m.source_partition,
  };
}

/** The inverse of `decodeCommand`: what producers put on the wire. */
export function encodeCommand(command: Command): string {
  return JSON.stringify(toMessage(command));
}

export function toMessage(command: Command): CommandMessage {
  switch (command.type) {
    case 'TRANSFER':
      return {
        v: 1,
        type: command.type,
        transfer_id: command.transferId,
        from_account_id: command.fromAccountId,
        to_account_id: command.toAccountId,
        description: command.description,
        ...clientWire(command),
      };
    case 'DEPOSIT':
    case 'WITHDRAWAL':
      return { v: 1, type: command.type, transfer_id: command.transferId, account_id: command.accountId, ...clientWire(command) };
    case 'CREDIT_LEG':
      return { v: 1, type: command.type, ...legWire(command) };
    case 'REFUND_LEG':
      return { v: 1, type: command.type, reason: command.reason, ...legWire(command) };
  }
}

function clientWire(c: { amount: bigint; currency: string; principal: string; admin: boolean; requestHash: string; acceptedAt: string }) {
  return {
    amount: c.amount.toString(),
    currency: c.currency,
    principal: c.principal,
    admin: c.admin,
    request_hash: c.requestHash,
    accepted_at: c.acceptedAt,
  };
}

function legWire(c: { transferId: string; fromAccountId: string; toAccountId: string; amount: bigint; currency: string; sourcePartition: number }) {
  return {
    transfer_id: c.transferId,
    from_account_id: c.fromAccountId,
    to_account_id: c.toAccountId,
    amount: c.amount.toString(),
    currency: c.currency,
    source_partition: c.sourcePartition,
  };
}
