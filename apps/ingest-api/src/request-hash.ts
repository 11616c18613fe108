/**
 * The request hash behind Idempotency-Key reuse detection (docs/design.md, invariant 7): sha256
 * over a canonical JSON of (endpoint kind, parsed body). Canonical means object keys sorted
 * at every depth, no whitespace, and the body as zod parsed it (defaults applied, ids
 * lower-cased by the caller), so two requests that mean the same thing hash the same
 * whatever their key order or spacing, and a different endpoint never matches.
 */
import { createHash } from 'node:crypto';

/** BATCH: a whole batch (over its items' hashes); BATCH_ITEM_INVALID: an item that failed validation, as sent. */
export type RequestKind =
  | 'ACCOUNT'
  | 'TRANSFER'
  | 'DEPOSIT'
  | 'WITHDRAWAL'
  | 'BATCH'
  | 'BATCH_ITEM_INVALID'
  | 'HOLD'
  | 'CAPTURE'
  | 'REVERSAL'
  | 'ACCOUNT_CHANGE';

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonicalJson: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`canonicalJson: cannot encode ${typeof value}`);
}

export function requestHashOf(kind: RequestKind, body: unknown): string {
  return createHash('sha256').update(canonicalJson({ kind, body })).digest('hex');
}
