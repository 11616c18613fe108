/**
 * Accepted-transfer records. Between Kafka's ack and the worker's commit, Postgres has no
 * row for a transfer; this record lets `GET /v1/transfers/{id}` answer ACCEPTED meanwhile.
 * It is written only after Kafka acknowledged, so it never claims more than is true. What it
 * reads back is checked (`lookupAccepted`; the API parses the resource too: cached-values.ts):
 * anything else reads as no record.
 *
 * A record is needed only until its row is committed: the worker that commits the row
 * replaces it right after with a short-lived mark (`markApplied`), so Redis holds about one
 * record per command not yet applied, not one per command of the last `ttlS` seconds. The
 * mark is what makes that hold when the API is slower than the worker: the API writes a
 * record after Kafka's acknowledgement, and a fast worker may apply the command before that
 * write arrives; the write is skipped where the mark is (put-accepted.lua). A
 * record the mark missed (written more than APPLIED_MARK_TTL_S after the commit, or whose
 * mark Redis did not take) expires after `ttlS`.
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

/**
 * What stands at a record's key once its command is applied: not JSON, so no record can be
 * mistaken for it, and read as no record. It stays APPLIED_MARK_TTL_S, longer than the API
 * takes between Kafka's acknowledgement and its record write in any run measured (a batch's
 * records are written after its last produce request; the bench's overloaded batch phase
 * acknowledged within 10 s). Its memory: one short key per command applied in the last minute.
 */
export const APPLIED_MARK = 'applied';
export const APPLIED_MARK_TTL_S = 60;

export class AcceptedTransfers {
  private readonly keys: Keys;
  /** KEYS: the records' keys; ARGV: ttl, the applied mark, then each record's JSON (see the script's header). */
  private readonly putAcceptedRecords: ScriptCommand;

  /** KEYS: the records' keys; ARGV: the mark's TTL, the mark (see the script's header). */
  private readonly markAppliedRecords: ScriptCommand;

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
    private readonly ttlS: number = ACCEPTED_TTL_S_DEFAULT,
  ) {
    this.putAcceptedRecords = scriptCommand(redis, 'put-accepted.lua');
    this.markAppliedRecords = scriptCommand(redis, 'mark-applied.lua');
    this.keys = new Keys(keyPrefix);
  }

  /**
   * Writes the record unless its key holds the applied mark (the worker was faster). Anything
   * else there is overwritten: the same record from an earlier request with the same key (the
   * id is derived from the key, and a key is bound to its body), or a value none of our
   * writers wrote, which must not keep the real record out (an outside review: `SET NX` did).
   */
  async putAccepted(record: AcceptedTransfer): Promise<void> {
    await this.putAcceptedMany([record]);
  }

  /**
   * Many records, as `putAccepted` writes each (not over the applied mark), in one script
   * call per `recordsPerCallMax`. Not atomic across calls: a failure may leave some written,
   * which only ever shows the truth (each record is written after Kafka acknowledged it).
   */
  async putAcceptedMany(records: readonly AcceptedTransfer[], recordsPerCallMax = 1000): Promise<void> {
    await Promise.all(
      chunksOf(records, recordsPerCallMax, 'recordsPerCallMax').map((chunk) =>
        this.putAcceptedRecords(chunk.length, ...chunk.map((r) => this.keys.accepted(r.id)), String(this.ttlS), APPLIED_MARK, ...chunk.map((r) => JSON.stringify(r))),
      ),
    );
  }

  /**
   * Replaces the records of these ids (their rows are committed) with the applied mark, in one
   * script call per `idsPerCallMax`; an id without a record gets the mark all the same (its
   * record may be on its way). Readers look at Postgres before and after the record (see the
   * API's applied-else-accepted.ts), so a read that missed the row just before its commit
   * still finds it once the record is gone.
   */
  async markApplied(transferIds: readonly string[], idsPerCallMax = 1000): Promise<void> {
    await Promise.all(
      chunksOf(transferIds, idsPerCallMax, 'idsPerCallMax').map((chunk) =>
        this.markAppliedRecords(chunk.length, ...chunk.map((id) => this.keys.accepted(id)), String(APPLIED_MARK_TTL_S), APPLIED_MARK),
      ),
    );
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
    const calls = chunksOf(transferIds, idsPerCallMax, 'idsPerCallMax').map((chunk) => this.redis.mget(chunk.map((id) => this.keys.accepted(id))));
    const texts = (await Promise.all(calls)).flat();
    return transferIds.map((id, i) => lookupOf(id, texts[i] ?? null));
  }
}

/** `items` in slices of at most `perCallMax` (a positive integer, named `what` when it is not), one per Redis call. */
function chunksOf<T>(items: readonly T[], perCallMax: number, what: string): T[][] {
  if (!Number.isSafeInteger(perCallMax) || perCallMax < 1) throw new RangeError(`${what} must be a positive integer, got ${perCallMax}`);
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += perCallMax) chunks.push(items.slice(start, start + perCallMax));
  return chunks;
}

/** What `lookupAccepted` reads back: the id's record, none (null), or why what is kept is none of ours. */
export type AcceptedLookup = { record: AcceptedTransfer } | { malformed: string } | null;

const recordIn = (found: AcceptedLookup): AcceptedTransfer | null => (found !== null && 'record' in found ? found.record : null);

/** A stored record, checked: anything that is not this id's well-formed record is malformed. */
function lookupOf(transferId: string, text: string | null): AcceptedLookup {
  if (text === null || text === APPLIED_MARK) return null;
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
