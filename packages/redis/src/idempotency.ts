/**
 * The Idempotency-Key fast path. A key is claimed with SET NX; the claim remembers the
 * request's hash and the transfer id, so a replay is recognised in one round trip. Redis may
 * forget (restart, eviction): callers then ask Postgres, and the worker dedupes on the
 * transfer id whatever happens, so forgetting costs a query, never a double effect.
 */
import type Redis from 'ioredis';
import { Keys } from './keys';

export type ClaimResult =
  | { claimed: true }
  | { claimed: false; requestHash: string; transferId: string };

export class IdempotencyStore {
  private readonly keys: Keys;

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
  ) {
    this.keys = new Keys(keyPrefix);
  }

  /**
   * Claims (principal, key) for this request, or returns what the earlier claim recorded.
   * One command: SET NX GET (Redis >= 7.0) sets and returns the previous value atomically,
   * so there is no window in which the key exists but cannot be read.
   */
  async claim(principal: string, key: string, requestHash: string, transferId: string, ttlS: number): Promise<ClaimResult> {
    const value = JSON.stringify({ requestHash, transferId });
    const previous = (await this.redis.call('SET', this.keys.idempotency(principal, key), value, 'EX', String(ttlS), 'NX', 'GET')) as
      | string
      | null;
    if (previous === null) return { claimed: true };
    const parsed = parseClaim(previous);
    if (!parsed) {
      // Unreadable (written by something else): overwrite it, this request now owns the key.
      await this.redis.set(this.keys.idempotency(principal, key), value, 'EX', ttlS);
      return { claimed: true };
    }
    return { claimed: false, ...parsed };
  }

  /** Gives the key back: the request was not accepted (publishing failed), so a retry may run. */
  async release(principal: string, key: string): Promise<void> {
    await this.redis.del(this.keys.idempotency(principal, key));
  }
}

function parseClaim(text: string): { requestHash: string; transferId: string } | null {
  try {
    const value = JSON.parse(text) as { requestHash?: unknown; transferId?: unknown };
    if (typeof value.requestHash === 'string' && typeof value.transferId === 'string') {
      return { requestHash: value.requestHash, transferId: value.transferId };
    }
  } catch {
    // fall through
  }
  return null;
}
