/**
 * The `commands` topic's message format (version 1), parsed at the worker's border.
 *
 * Keys are the subject account id; values are JSON objects discriminated by `type`. Amounts
 * are digit strings. A message that fails this schema is a poison message: the worker sends
 * it to the dead-letter topic with the reason and keeps the partition moving.
 */
import { isUtf8 } from 'node:buffer';
import { z } from 'zod';
import { ACCOUNT_STATUSES, BUCKET_COUNT, type Command, DESCRIPTION_CHARS_MAX, FENCE_MOVES_MAX, INTERNAL_OWNERS, PRINCIPAL_CHARS_MAX } from '@ledgerline/domain';
import type { CommandSeal } from './command-seal';
import { amountString, currencyCode, isoTimestamp, limitString, rejectionReason, storableText, uuid } from './primitives';

/**
 * Messages written before operator seals carried `admin`; `false` still decodes (it grants
 * nothing), anything else is refused as forged before the schema runs (`decodeCommand`).
 */
const legacyAdminFlag = z.literal(false).optional();

const principalFields = {
  principal: storableText(PRINCIPAL_CHARS_MAX).pipe(z.string().min(1)),
  admin: legacyAdminFlag,
  request_hash: z.string().regex(/^[0-9a-f]{64}$/),
  accepted_at: isoTimestamp,
};

const clientFields = {
  v: z.literal(1),
  transfer_id: uuid,
  amount: amountString,
  currency: currencyCode,
  ...principalFields,
};

// Client commands are strict: a member this version does not know is a claim nobody checks.
const transferMessage = z
  .strictObject({
    ...clientFields,
    type: z.literal('TRANSFER'),
    from_account_id: uuid,
    to_account_id: uuid,
    // A message written before the API refused NUL is dead-lettered, not applied.
    description: storableText(DESCRIPTION_CHARS_MAX).nullable(),
  })
  .refine((m) => m.from_account_id !== m.to_account_id, { message: 'from and to must differ', path: ['to_account_id'] });

// A deposit's or withdrawal's description is written only when set, so that every other one
// stays readable by a worker older than it (as a reversal's `rest`).
const depositMessage = z.strictObject({ ...clientFields, type: z.literal('DEPOSIT'), account_id: uuid, description: storableText(DESCRIPTION_CHARS_MAX).optional() });
const withdrawalMessage = z.strictObject({ ...clientFields, type: z.literal('WITHDRAWAL'), account_id: uuid, description: storableText(DESCRIPTION_CHARS_MAX).optional() });

// Holds, captures, reversals and account changes (docs/api.md). Keyed by the account whose
// partition applies them (the held account, the original's destination, the account changed).
const { transfer_id: _transferId, ...holdBase } = clientFields;
const holdMessage = z.strictObject({
  ...holdBase,
  type: z.literal('HOLD'),
  hold_id: uuid,
  account_id: uuid,
  expires_at: isoTimestamp,
  description: storableText(512).nullable(),
});
// The API refuses a capture into the held account itself (holds.ts); so does the worker, for
// a message someone else wrote (an outside review: it ended the hold CAPTURED, moving nothing).
const captureMessage = z
  .strictObject({ ...clientFields, type: z.literal('CAPTURE'), hold_id: uuid, account_id: uuid, to_account_id: uuid })
  .refine((m) => m.to_account_id !== m.account_id, { message: 'to_account_id must differ from the held account', path: ['to_account_id'] });
const reversalMessage = z.strictObject({
  ...clientFields,
  type: z.literal('REVERSAL'),
  reverses: uuid,
  from_account_id: uuid,
  description: storableText(512).nullable(),
  // No amount asked for: the writer takes what is left (ReversalCommand.rest). Written only
  // when set, so every other reversal stays readable by a worker older than it.
  rest: z.literal(true).optional(),
});
const voidHoldMessage = z.strictObject({
  v: z.literal(1),
  type: z.literal('VOID_HOLD'),
  hold_id: uuid,
  account_id: uuid,
  principal: principalFields.principal,
  admin: legacyAdminFlag,
  accepted_at: isoTimestamp,
});
const expireHoldMessage = z.object({ v: z.literal(1), type: z.literal('EXPIRE_HOLD'), hold_id: uuid, account_id: uuid });
const updateAccountMessage = z
  .strictObject({
    v: z.literal(1),
    type: z.literal('UPDATE_ACCOUNT'),
    change_id: uuid,
    account_id: uuid,
    status: z.enum(ACCOUNT_STATUSES).nullable(),
    overdraft_limit: limitString.nullable(),
    ...principalFields,
  })
  .refine((m) => m.status !== null || m.overdraft_limit !== null, { message: 'changes nothing', path: ['status'] });

/** A partition's number: at most BUCKET_COUNT partitions (routing.ts), so 0..BUCKET_COUNT - 1. */
const partitionNumber = z.number().int().min(0).max(BUCKET_COUNT - 1);
/** A bucket move's id (bucket_moves.id, a Postgres bigint) in digits: refused here, not by Postgres's cast mid-batch. */
const BIGINT_MAX = 2n ** 63n - 1n;
const MOVE_ID_DIGITS = /^[0-9]{1,19}$/;
// The bound tests the pattern again: zod runs a refinement after a failed pattern too, and
// BigInt('x') throws (an outside review: a FENCE naming move 'x' stopped its partition).
const moveId = z
  .string()
  .regex(MOVE_ID_DIGITS)
  .refine((digits) => !MOVE_ID_DIGITS.test(digits) || BigInt(digits) <= BIGINT_MAX, { message: 'past bigint' });

const legFields = {
  v: z.literal(1),
  transfer_id: uuid,
  from_account_id: uuid,
  to_account_id: uuid,
  amount: amountString,
  currency: currencyCode,
  source_partition: partitionNumber,
  // Absent in legs written before holds and reversals existed: those were all plain transfers.
  kind: z.enum(['TRANSFER', 'CAPTURE', 'REVERSAL']).default('TRANSFER'),
  reverses: uuid.nullable().default(null),
  // Absent in legs written before a capture's leg named its hold, and in every other leg.
  hold_id: uuid.nullable().default(null),
};
const creditLegMessage = z.object({ ...legFields, type: z.literal('CREDIT_LEG') });
const refundLegMessage = z.object({ ...legFields, type: z.literal('REFUND_LEG'), reason: rejectionReason });

export const commandMessage = z.discriminatedUnion('type', [
  transferMessage,
  depositMessage,
  withdrawalMessage,
  creditLegMessage,
  refundLegMessage,
  holdMessage,
  captureMessage,
  reversalMessage,
  voidHoldMessage,
  expireHoldMessage,
  updateAccountMessage,
]);
export type CommandMessage = z.input<typeof commandMessage>;

/**
 * A control marker of the bucket-move protocol, sent by `ledgerctl` to a bucket's OLD
 * partition: once its owner has applied everything before it, the moves are FENCED.
 */
export const fenceMessage = z.object({
  v: z.literal(1),
  type: z.literal('FENCE'),
  move_ids: z.array(moveId).min(1).max(FENCE_MOVES_MAX),
  from_partition: partitionNumber,
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

/**
 * Parses one Kafka message value. Never throws: a poison message is a value, not an error.
 * `seal` verifies operator authority (see command-seal.ts); a command whose kind needs an
 * authority it does not prove is refused here, with a reason starting `forged:`.
 */
export function decodeCommand(value: Buffer | null, seal: CommandSeal): DecodeResult {
  try {
    return decodeMessage(value, seal);
  } catch (error) {
    // A throw in decoding is the bytes' doing (the same bytes throw again), never an
    // operating error: the worker would retry its batch forever. So it is a poison message.
    return { ok: false, reason: `undecodable: ${(error as Error).message}` };
  }
}

function decodeMessage(value: Buffer | null, seal: CommandSeal): DecodeResult {
  if (!value || value.length === 0) return { ok: false, reason: 'empty message value' };
  // Decoded leniently, bytes that are no UTF-8 (an invalid or overlong sequence, an encoded
  // surrogate) would become U+FFFD and the command be applied with text nobody sent; the
  // API refuses such a body (400), and so does the worker: the message is malformed.
  if (!isUtf8(value)) return { ok: false, reason: NOT_UTF8 };
  const opened = seal.open(value.toString('utf8'));
  if ('forged' in opened) return { ok: false, reason: `forged: ${opened.forged}` };
  let json: unknown;
  try {
    json = JSON.parse(opened.text);
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  const type = (json as { type?: unknown } | null)?.type;
  if (opened.sealed && !SEALABLE.has(type)) return { ok: false, reason: `forged: a ${String(type)} message is never sealed` };
  if (type === 'FENCE') {
    const fence = fenceMessage.safeParse(json);
    if (fence.success) return { ok: true, fence: { moveIds: fence.data.move_ids.map(BigInt), fromPartition: fence.data.from_partition } };
    return { ok: false, reason: `schema: ${fence.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}` };
  }
  const admin = typeof json === 'object' && json !== null ? (json as { admin?: unknown }).admin : undefined;
  if (admin !== undefined && admin !== false) {
    return { ok: false, reason: 'forged: claims admin in a flag; operator authority is proven by operator_seal, never claimed' };
  }
  const parsed = commandMessage.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    return { ok: false, reason: `schema: ${issues.join('; ')}` };
  }
  const command = toCommand(parsed.data, opened.sealed);
  const overreach = authorityProblem(command);
  return overreach ? { ok: false, reason: `forged: ${overreach}` } : { ok: true, command };
}

/**
 * Why this build's schema refuses a command message's text, or null when it reads it as a
 * command (a FENCE is not one). A seal, the last `operator_seal` member, is set aside without
 * being verified: only a worker holds the key, and it verifies the seal when it applies the
 * command. For ledgerctl: a letter a worker dead-lettered for its schema may name a member
 * that worker was too old to know (README, Upgrading), and then reads now.
 */
export function commandSchemaProblem(text: string): string | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return `not JSON: ${(error as Error).message}`;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'not a JSON object';
  const { operator_seal: _seal, ...members } = json as Record<string, unknown>;
  const parsed = commandMessage.safeParse(members);
  return parsed.success ? null : `schema: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`;
}

/** Why a message whose bytes are not UTF-8 is dead-lettered (its bytes are in the letter). */
const NOT_UTF8 = 'not UTF-8: the value holds bytes no UTF-8 text has (an invalid or overlong sequence, an encoded surrogate); refused rather than read with U+FFFD in their place';

/** The kinds a principal submits through the API: the only ones that may carry a seal. */
const SEALABLE: ReadonlySet<unknown> = new Set(['TRANSFER', 'DEPOSIT', 'WITHDRAWAL', 'HOLD', 'CAPTURE', 'REVERSAL', 'VOID_HOLD', 'UPDATE_ACCOUNT']);

/**
 * What the command's kind cannot do without an operator's seal. The owner checks that need
 * the account (a transfer from someone else's account) are the apply's: REJECTED FORBIDDEN.
 */
function authorityProblem(command: Command): string | null {
  if (!('principal' in command)) return null;
  if (INTERNAL_OWNERS.includes(command.principal)) return `principal '${command.principal}' is internal and never submits commands`;
  if (command.admin) return null;
  if (command.type === 'DEPOSIT') return 'a DEPOSIT brings money from outside and needs an operator seal';
  if (command.type === 'UPDATE_ACCOUNT' && (command.overdraftLimit !== null || command.status !== 'CLOSED')) {
    return 'an UPDATE_ACCOUNT other than the owner closing the account needs an operator seal';
  }
  return null;
}

function toCommand(m: z.output<typeof commandMessage>, admin: boolean): Command {
  switch (m.type) {
    case 'TRANSFER':
      return {
        type: m.type,
        transferId: m.transfer_id,
        fromAccountId: m.from_account_id,
        toAccountId: m.to_account_id,
        description: m.description,
        ...clientCommon(m, admin),
      };
    case 'DEPOSIT':
    case 'WITHDRAWAL':
      return { type: m.type, transferId: m.transfer_id, accountId: m.account_id, description: m.description ?? null, ...clientCommon(m, admin) };
    case 'CREDIT_LEG':
      return { type: m.type, ...legCommon(m) };
    case 'REFUND_LEG':
      return { type: m.type, reason: m.reason, ...legCommon(m) };
    case 'HOLD':
      return {
        type: m.type,
        holdId: m.hold_id,
        accountId: m.account_id,
        expiresAt: m.expires_at,
        description: m.description,
        ...clientCommon(m, admin),
      };
    case 'CAPTURE':
      return { type: m.type, transferId: m.transfer_id, holdId: m.hold_id, accountId: m.account_id, toAccountId: m.to_account_id, ...clientCommon(m, admin) };
    case 'REVERSAL':
      return {
        type: m.type,
        transferId: m.transfer_id,
        reverses: m.reverses,
        fromAccountId: m.from_account_id,
        description: m.description,
        ...(m.rest ? { rest: true as const } : {}),
        ...clientCommon(m, admin),
      };
    case 'VOID_HOLD':
      return { type: m.type, holdId: m.hold_id, accountId: m.account_id, principal: m.principal, admin, acceptedAt: m.accepted_at };
    case 'EXPIRE_HOLD':
      return { type: m.type, holdId: m.hold_id, accountId: m.account_id };
    case 'UPDATE_ACCOUNT':
      return {
        type: m.type,
        changeId: m.change_id,
        accountId: m.account_id,
        status: m.status,
        overdraftLimit: m.overdraft_limit === null ? null : BigInt(m.overdraft_limit),
        principal: m.principal,
        admin,
        requestHash: m.request_hash,
        acceptedAt: m.accepted_at,
      };
  }
}

function clientCommon(m: { amount: string; currency: string; principal: string; request_hash: string; accepted_at: string }, admin: boolean) {
  return {
    amount: BigInt(m.amount),
    currency: m.currency,
    principal: m.principal,
    admin,
    requestHash: m.request_hash,
    acceptedAt: m.accepted_at,
  };
}

function legCommon(m: Omit<z.output<typeof creditLegMessage>, "type">) {
  return {
    transferId: m.transfer_id,
    kind: m.kind,
    reverses: m.reverses,
    holdId: m.hold_id,
    fromAccountId: m.from_account_id,
    toAccountId: m.to_account_id,
    amount: BigInt(m.amount),
    currency: m.currency,
    sourcePartition: m.source_partition,
  };
}

/**
 * The inverse of `decodeCommand`: what producers put on the wire. A command an operator
 * asked for (`admin`) is sealed, so only a producer holding the command key can write one.
 */
export function encodeCommand(command: Command, seal?: CommandSeal): string {
  const json = JSON.stringify(toMessage(command));
  if (!('admin' in command) || !command.admin) return json;
  if (!seal) throw new Error(`encodeCommand: ${command.type} ${'principal' in command ? `by ${command.principal} ` : ''}is an operator command and needs a CommandSeal`);
  return seal.seal(json);
}

export function toMessage(command: Command): CommandMessage {
  switch (command.type) {
    case 'TRANSFER':
      return {
        v: 1,
        type: command.type,
        from_account_id: command.fromAccountId,
        to_account_id: command.toAccountId,
        description: command.description,
        ...clientWire(command),
      };
    case 'DEPOSIT':
    case 'WITHDRAWAL':
      return { v: 1, type: command.type, account_id: command.accountId, ...(command.description !== null ? { description: command.description } : {}), ...clientWire(command) };
    case 'CREDIT_LEG':
      return { v: 1, type: command.type, ...legWire(command) };
    case 'REFUND_LEG':
      return { v: 1, type: command.type, reason: command.reason, ...legWire(command) };
    case 'HOLD': {
      return { v: 1, type: command.type, hold_id: command.holdId, account_id: command.accountId, expires_at: command.expiresAt, description: command.description, ...moneyWire(command) };
    }
    case 'CAPTURE':
      return { v: 1, type: command.type, hold_id: command.holdId, account_id: command.accountId, to_account_id: command.toAccountId, ...clientWire(command) };
    case 'REVERSAL':
      return {
        v: 1,
        type: command.type,
        reverses: command.reverses,
        from_account_id: command.fromAccountId,
        description: command.description,
        ...(command.rest ? { rest: true } : {}),
        ...clientWire(command),
      };
    case 'VOID_HOLD':
      return {
        v: 1,
        type: command.type,
        hold_id: command.holdId,
        account_id: command.accountId,
        principal: command.principal,
        accepted_at: command.acceptedAt,
      };
    case 'EXPIRE_HOLD':
      return { v: 1, type: command.type, hold_id: command.holdId, account_id: command.accountId };
    case 'UPDATE_ACCOUNT':
      return {
        v: 1,
        type: command.type,
        change_id: command.changeId,
        account_id: command.accountId,
        status: command.status,
        overdraft_limit: command.overdraftLimit === null ? null : command.overdraftLimit.toString(),
        principal: command.principal,
        request_hash: command.requestHash,
        accepted_at: command.acceptedAt,
      };
  }
}

/** A command that creates a transfer row: its id, then what every money command carries. */
function clientWire(c: { transferId: string; amount: bigint; currency: string; principal: string; requestHash: string; acceptedAt: string }) {
  return { transfer_id: c.transferId, ...moneyWire(c) };
}

function moneyWire(c: { amount: bigint; currency: string; principal: string; requestHash: string; acceptedAt: string }) {
  return {
    amount: c.amount.toString(),
    currency: c.currency,
    principal: c.principal,
    request_hash: c.requestHash,
    accepted_at: c.acceptedAt,
  };
}

function legWire(c: {
  transferId: string;
  kind: 'TRANSFER' | 'CAPTURE' | 'REVERSAL';
  reverses: string | null;
  holdId: string | null;
  fromAccountId: string;
  toAccountId: string;
  amount: bigint;
  currency: string;
  sourcePartition: number;
}) {
  return {
    transfer_id: c.transferId,
    kind: c.kind,
    reverses: c.reverses,
    // Only a capture's legs name a hold; the others leave the member out.
    ...(c.holdId !== null ? { hold_id: c.holdId } : {}),
    from_account_id: c.fromAccountId,
    to_account_id: c.toAccountId,
    amount: c.amount.toString(),
    currency: c.currency,
    source_partition: c.sourcePartition,
  };
}
