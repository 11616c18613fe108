import { createHash } from 'node:crypto';

/**
 * Deterministic ids (RFC 4122 version 5, SHA-1 name-based).
 *
 * A transfer's id is derived from (principal, Idempotency-Key): every replay of a request
 * names the same transfer, so the worker can dedupe on the id alone even when the Redis
 * fast path forgot the key. System accounts get ids derived from their role, so every
 * process computes the same id without a lookup.
 */
const NAMESPACE = Buffer.from('6f1b0c52d7e84b1c9a3f0e2d4c5b6a79', 'hex');

export function uuidV5(name: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function transferIdFor(principal: string, idempotencyKey: string): string {
  return uuidV5(`transfer\n${principal}\n${idempotencyKey}`);
}

/**
 * Item `index` of a POST /v1/batch sent under `batchKey`. Its own name space: no batch item
 * can share an id with a single request's transfer, whatever the keys. Unambiguous although
 * a principal may contain newlines: the key cannot (printable ASCII) and the index is digits.
 */
export function batchItemIdFor(principal: string, batchKey: string, index: number): string {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`batch item index must be a non-negative integer, got ${index}`);
  return uuidV5(`batch-item\n${principal}\n${batchKey}\n${index}`);
}

/** The Idempotency-Key claim of a whole batch (its body's hash is checked against it). */
export function batchIdFor(principal: string, batchKey: string): string {
  return uuidV5(`batch\n${principal}\n${batchKey}`);
}

/** A hold's id: its own namespace, so a hold and a transfer under one key never collide. */
export function holdIdFor(principal: string, idempotencyKey: string): string {
  return uuidV5(`hold\n${principal}\n${idempotencyKey}`);
}

/** A `PATCH /v1/accounts/{id}`'s id (the writer dedupes on it). */
export function accountChangeIdFor(principal: string, idempotencyKey: string): string {
  return uuidV5(`account-change\n${principal}\n${idempotencyKey}`);
}

export function accountIdFor(principal: string, idempotencyKey: string): string {
  return uuidV5(`account\n${principal}\n${idempotencyKey}`);
}

/**
 * System account ids, computed once per name: the worker asks for them several times per
 * command, and each uuidV5 costs a SHA-1 (~2 µs; 6-7% of a worker's CPU in a drain). Few
 * distinct names exist (partitions x currencies); the bound only guards against a flood of
 * odd currencies.
 */
const systemIds = new Map<string, string>();
const SYSTEM_IDS_MAX = 4_096;

function systemAccountId(name: string): string {
  let id = systemIds.get(name);
  if (id === undefined) {
    if (systemIds.size >= SYSTEM_IDS_MAX) systemIds.clear();
    id = uuidV5(name);
    systemIds.set(name, id);
  }
  return id;
}

/** Money in flight between partitions sits here: one per (partition, currency). */
export function transitAccountId(partition: number, currency: string): string {
  return systemAccountId(`transit\n${partition}\n${currency}`);
}

/**
 * Money from or to outside the ledger (deposits, withdrawals). One per (partition, currency)
 * rather than one per currency, so that each external account still has a single writer.
 */
export function externalAccountId(partition: number, currency: string): string {
  return systemAccountId(`external\n${partition}\n${currency}`);
}
