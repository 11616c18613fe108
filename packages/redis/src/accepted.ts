/**
 * Accepted-transfer records. Between Kafka's ack and the worker's commit, Postgres has no
 * row for a transfer; this record lets `GET /v1/transfers/{id}` answer ACCEPTED meanwhile.
 * It is written only after Kafka acknowledged, so it never claims more than is true.
 */
import type Redis from 'ioredis';
import { Keys } from './keys';

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

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
    private readonly ttlS: number = ACCEPTED_TTL_S_DEFAULT,
  ) {
    this.keys = new Keys(keyPrefix);
  }

  async putAccepted(record: AcceptedTransfer): Promise<void> {
    await this.redis.set(this.keys.accepted(record.id), JSON.stringify(record), 'EX', this.ttlS);
  }

  async getAccepted(transferId: string): Promise<AcceptedTransfer | null> {
    const text = await this.redis.get(this.keys.accepted(transferId));
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
}
