/**
 * The cursor of a history page (`GET /v1/transfers`, `GET /v1/holds`): a position in an
 * account's rows ordered by (created_at, id) descending, opaque to clients.
 */
import type { HistoryCursor } from '@ledgerline/postgres';
import { validationFailed } from './errors';

/** Opaque to clients: base64url of "<created_at with microseconds>|<id>" of a page's last row. */
export function encodeHistoryCursor(cursor: HistoryCursor): string {
  return Buffer.from(`${cursor.createdAt}|${cursor.id}`, 'utf8').toString('base64url');
}

const HISTORY_CURSOR = /^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z)\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/**
 * Anything but a cursor this API made is a 400: it reaches Postgres only in that exact shape,
 * spelled as encodeHistoryCursor spells it (canonical base64url), with a time that exists
 * (Date.parse takes February 30th; Postgres refuses it, and year 0).
 */
export function decodeHistoryCursor(text: string): HistoryCursor {
  const decoded = Buffer.from(text, 'base64url');
  const match = HISTORY_CURSOR.exec(decoded.toString('utf8'));
  const time = match ? new Date(Date.parse(match[1]!)) : null;
  const exists = time !== null && !Number.isNaN(time.getTime()) && time.getUTCFullYear() >= 1 && time.toISOString().slice(0, 23) === match![1]!.slice(0, 23);
  if (!match || !exists || decoded.toString('base64url') !== text) {
    throw validationFailed([{ path: 'cursor', message: 'must be a cursor returned by a previous page' }]);
  }
  return { createdAt: match[1]!, id: match[2]! };
}
