/**
 * The request hash behind Idempotency-Key reuse detection (docs/design.md, invariant 7): sha256
 * over a canonical JSON of (endpoint kind, parsed body). Canonical means object keys sorted
 * at every depth, no whitespace, and the body as zod parsed it (defaults applied, ids
 * lower-cased by the caller), so two requests that mean the same thing hash the same
 * whatever their key order or spacing, and a different endpoint never matches.
 */
import { hash } from 'node:crypto';

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
  // Built by concatenation, without intermediate arrays: a batch hashes every item (this ran
  // at ~3.5 µs a transfer body with Object.entries/filter/sort/map/join).
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      out += (i === 0 ? '' : ',') + (item === undefined ? 'null' : canonicalJson(item));
    }
    return `${out}]`;
  }
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    // The default sort compares UTF-16 code units, as `<` on strings does.
    const keys = Object.keys(record).sort();
    let out = '{';
    for (const key of keys) {
      const item = record[key];
      if (item === undefined) continue;
      out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${canonicalJson(item)}`;
    }
    return `${out}}`;
  }
  throw new TypeError(`canonicalJson: cannot encode ${typeof value}`);
}

export function requestHashOf(kind: RequestKind, body: unknown): string {
  // The one-shot hash: a third of createHash().update().digest()'s cost on a short input.
  return hash('sha256', canonicalJson({ kind, body }), 'hex');
}
