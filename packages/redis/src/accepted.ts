/**
 * Accepted-transfer records. Between Kafka's ack and the worker's commit, Postgres has no
 * row for a transfer; this record lets `GET /v1/transfers/{id}` answer ACCEPTED meanwhile.
 * It is written only after Kafka acknowledged, so it never claims more than is true.
 */
import type Redis from 'ioredis';
import { Keys } from './keys';
import { type ScriptCommand, scriptCommand } from './scripts';

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

  async getAccepted(transferId: string): Promise<AcceptedTransfer | null> {
    return recordOf(transferId, await this.redis.get(this.keys.accepted(transferId)));
  }

  /**
   * The records of many ids, in their order (null where none is kept), in one `MGET` per
   * `idsPerCallMax`: a replayed batch looks up all its items at once.
   */
  async getAcceptedMany(transferIds: readonly string[], idsPerCallMax = 1000): Promise<(AcceptedTransfer | null)[]> {
    if (!Number.isSafeInteger(idsPerCallMax) || idsPerCallMax < 1) throw new RangeError(`idsPerCallMax must be a positive integer, got ${idsPerCallMax}`);
    const calls: Promise<(string | null)[]>[] = [];
    for (let start = 0; start < transferIds.length; start += idsPerCallMax) {
      calls.push(this.redis.mget(transferIds.slice(start, start + idsPerCallMax).map((id) => this.keys.accepted(id))));
    }
    const texts = (await Promise.all(calls)).flat();
    return transferIds.map((id, i) => recordOf(id, texts[i] ?? null));
  }
}

/** A stored record, checked: anything that is not this id's well-formed record reads as none. */
function recordOf(transferId: string, text: string | null): AcceptedTransfer | null {
  if (text === null) return null;
  try {
    const record = JSON.parse(text) as AcceptedTransfer;
    if (record.id !== transferId || typeof record.requestHash !== 'string' || typeof record.principal !== 'string') return null;
    if (typeof record.resource !== 'object' || record.resource === null) return null;
    return record;
  } catch {
    return null;
  }
}
