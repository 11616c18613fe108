/**
 * Accepted-transfer records. Between Kafka's ack and the worker's commit, Postgres has no
 * row for a transfer; this record lets `GET /v1/transfers/{id}` answer ACCEPTED meanwhile.
 * It is written only after Kafka acknowledged, so it never claims more than is true. What it
 * reads back is checked (`lookupAccepted`; the API parses the resource too: cached-values.ts):
 * anything else reads as no record.
 *
 * A record is needed only until its row is committed: the worker that commits the row
 * removes it right after (`forget`), so Redis holds about one record per command not yet
 * applied, not one per command of the last `ttlS` seconds. The expiry stays for the records
 * no worker removes (one the API wrote after the worker had already removed it, a removal
 * Redis did not take, a command dead-lettered without a row).
 */
import type Redis from 'ioredis';
import { Keys } from './keys';
import { type ScriptCommand, scriptCommand } from './scripts';
import { shown } from './stored';

export interface AcceptedTransfer {
  id: string;
  /** Who sent it: reads by anyone else answer 404 unless admin. */
  principal: string;
  /** Compared on replays of the same Idempotency-Key. */
  requestHash: string;
  /** The transfer resource as the API returned it (status ACCEPTED), wire format. */
  resource: Record<string, unknown>;
}

export const ACCEPTED_TTL_S_DEFAULT = 24 * 3600;

export class AcceptedTransfers {
  private readonly keys: Keys;
  /** KEYS: the records' keys; ARGV: ttl, then each record's JSON (see the script's header). */
  private readonly putAcceptedRecords: ScriptCommand;

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
    private readonly ttlS: number = ACCEPTED_TTL_S_DEFAULT,
  ) {
    this.putAcceptedRecords = scriptCommand(redis, 'put-accepted.lua');
    this.keys = new Keys(keyPrefix);
  }

  async putAccepted(record: AcceptedTransfer): Promise<void> {
    await this.redis.set(this.keys.accepted(record.id), JSON.stringify(record), 'EX', this.ttlS);
  }

  /**
   * Many records, as `putAccepted` writes each, in one script call per `recordsPerCallMax`
   * (one SET for a single record). Not atomic across calls: a failure may leave some written,
   * which only ever shows the truth (each record is written after Kafka acknowledged it).
   */
  async putAcceptedMany(records: readonly AcceptedTransfer[], recordsPerCallMax = 1000): Promise<void> {
    if (!Number.isSafeInteger(recordsPerCallMax) || recordsPerCallMax < 1) throw new RangeError(`recordsPerCallMax must be a positive integer, got ${recordsPerCallMax}`);
    if (records.length === 1) return this.putAccepted(records[0]!);
    const calls: Promise<unknown>[] = [];
    for (let start = 0; start < records.length; start += recordsPerCallMax) {
      const chunk = records.slice(start, start + recordsPerCallMax);
      calls.push(this.putAcceptedRecords(chunk.length, ...chunk.map((r) => this.keys.accepted(r.id)), String(this.ttlS), ...chunk.map((r) => JSON.stringify(r))));
    }
    await Promise.all(calls);
  }

  /**
   * Removes the records of these ids (their rows are committed), in one `UNLINK` per
   * `idsPerCallMax`; an id without a record costs nothing. Readers look at Postgres before
   * and after the record (see the API's applied-else-accepted.ts), so a read that missed the
   * row just before its commit still finds it once the record is gone.
   */
  async forget(transferIds: readonly string[], idsPerCallMax = 1000): Promise<void> {
    if (!Number.isSafeInteger(idsPerCallMax) || idsPerCallMax < 1) throw new RangeError(`idsPerCallMax must be a positive integer, got ${idsPerCallMax}`);
    const calls: Promise<number>[] = [];
    for (let start = 0; start < transferIds.length; start += idsPerCallMax) {
      calls.push(this.redis.unlink(...transferIds.slice(start, start + idsPerCallMax).map((id) => this.keys.accepted(id))));
    }
    await Promise.all(calls);
  }

  async getAccepted(transferId: string): Promise<AcceptedTransfer | null> {
    return recordIn(await this.lookupAccepted(transferId));
  }

  /**
   * The records of many ids, in their order (null where none is kept), in one `MGET` per
   * `idsPerCallMax`: a replayed batch looks up all its items at once.
   */
  async getAcceptedMany(transferIds: readonly string[], idsPerCallMax = 1000): Promise<(AcceptedTransfer | null)[]> {
    return (await this.lookupAcceptedMany(transferIds, idsPerCallMax)).map(recordIn);
  }

  /**
   * What the store holds for an id: its record, nothing (null), or something no writer of
   * ours wrote, with why (`malformed`; read as no record). Checked here: JSON of an object
   * whose id is this one, with a principal, a request hash and a resource object; the
   * resource itself is the caller's to check (the API parses it with its own schema). Redis's
   * errors are thrown, a key of another type's WRONGTYPE too (`isWrongType`).
   */
  async lookupAccepted(transferId: string): Promise<AcceptedLookup> {
    return lookupOf(transferId, await this.redis.get(this.keys.accepted(transferId)));
  }

  /** lookupAccepted for many ids, in their order, in one `MGET` per `idsPerCallMax` (MGET reads a key of another type as none). */
  async lookupAcceptedMany(transferIds: readonly string[], idsPerCallMax = 1000): Promise<AcceptedLookup[]> {
    if (!Number.isSafeInteger(idsPerCallMax) || idsPerCallMax < 1) throw new RangeError(`idsPerCallMax must be a positive integer, got ${idsPerCallMax}`);
    const calls: Promise<(string | null)[]>[] = [];
    for (let start = 0; start < transferIds.length; start += idsPerCallMax) {
      calls.push(this.redis.mget(transferIds.slice(start, start + idsPerCallMax).map((id) => this.keys.accepted(id))));
    }
    const texts = (await Promise.all(calls)).flat();
    return transferIds.map((id, i) => lookupOf(id, texts[i] ?? null));
  }
}

/** What `lookupAccepted` reads back: the id's record, none (null), or why what is kept is none of ours. */
export type AcceptedLookup = { record: AcceptedTransfer } | { malformed: string } | null;

const recordIn = (found: AcceptedLookup): AcceptedTransfer | null => (found !== null && 'record' in found ? found.record : null);

/** A stored record, checked: anything that is not this id's well-formed record is malformed. */
function lookupOf(transferId: string, text: string | null): AcceptedLookup {
  if (text === null) return null;
  let record: Partial<Record<keyof AcceptedTransfer, unknown>>;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { malformed: `not a JSON object: ${shown(text)}` };
    record = value;
  } catch {
    return { malformed: `not JSON: ${shown(text)}` };
  }
  if (record.id !== transferId) return { malformed: `the record of another id: ${typeof record.id === 'string' ? shown(record.id) : typeof record.id}` };
  if (typeof record.requestHash !== 'string' || typeof record.principal !== 'string') return { malformed: 'principal or requestHash is not text' };
  if (typeof record.resource !== 'object' || record.resource === null || Array.isArray(record.resource)) return { malformed: 'resource is not an object' };
  return { record: record as AcceptedTransfer };
}
