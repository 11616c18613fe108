/**
 * Per-principal request rates, shared by every API instance through Redis
 * (rate-limiter-flexible: an atomic INCR + PEXPIRE script per window, no hand-written bucket).
 *
 * Two separate budgets, writes (POST) and reads (GET, long polls included), so a client
 * polling hard cannot starve its own writes and the other way round. Each budget is a
 * BurstyRateLimiter: `perS` points per one-second window, and when a window is spent, up
 * to (burst - perS) more from an allowance refilled every `burstWindowS` seconds. ledger:admin
 * principals get `adminFactor` times both.
 *
 * When Redis is down the budgets fall back to an in-memory limiter per instance (the
 * library's insuranceLimiter): the limit then holds per instance instead of across all of
 * them, and requests keep being served. Redis is never the truth for money, and a limiter
 * outage must not become an API outage.
 */
import { type AuthContext, isAdmin } from '@ledgerline/auth';
import type { RedisClient } from '@ledgerline/redis';
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

export type RequestKind = 'read' | 'write';

export interface RateLimitSettings {
  writesPerS: number;
  writesBurst: number;
  readsPerS: number;
  readsBurst: number;
  burstWindowS: number;
  adminFactor: number;
}

/** The principal spent its budget: answer 429 with Retry-After. */
export class RateLimitedError extends Error {
  override readonly name = 'RateLimitedError';
  constructor(
    readonly kind: RequestKind,
    readonly retryAfterS: number,
  ) {
    super(`too many ${kind}s for this principal; retry after ${retryAfterS} s`);
  }
}

export interface RequestLimiter {
  /**
   * Resolves when the request may go on; throws RateLimitedError otherwise. `points` (1 by
   * default) is what it costs: a POST /v1/batch of n items costs n writes.
   */
  consume(kind: RequestKind, auth: AuthContext, points?: number): Promise<void>;
  /** The most one request of this principal can ever spend (1 as it arrives, the rest in one consume): a larger one would be refused forever. */
  capacity(kind: RequestKind, auth: AuthContext): number;
}

interface Budget {
  perS: number;
  burst: number;
}

/**
 * `redis` null: in-memory only (one instance; tests that build the app without Redis).
 * `keyPrefix` keeps deployments (and test files) sharing a Redis apart.
 */
export function createRequestLimiter(settings: RateLimitSettings, redis: RedisClient | null, keyPrefix: string): RequestLimiter {
  /** A budget's limiter, and its burst allowance alone (null without one): a 429 reads when it refills. */
  const build = (name: string, budget: Budget): { limiter: { consume(key: string, points?: number): Promise<unknown> }; burst: RateLimiterAbstract | null } => {
    const limiter = (suffix: string, points: number, duration: number): RateLimiterAbstract => {
      const memory = new RateLimiterMemory({ points, duration, keyPrefix: `${keyPrefix}${name}:${suffix}` });
      if (redis === null) return memory;
      return new RateLimiterRedis({
        storeClient: redis,
        points,
        duration,
        keyPrefix: `${keyPrefix}${name}:${suffix}`,
        // The client has no offline queue: fail over to memory at once, never wait for a reconnect.
        rejectIfRedisNotReady: true,
        insuranceLimiter: memory,
      });
    };
    const rate = limiter('rate', budget.perS, 1);
    // A burst equal to the rate means no extra allowance at all.
    if (budget.burst <= budget.perS) return { limiter: rate, burst: null };
    const burst = limiter('burst', budget.burst - budget.perS, settings.burstWindowS);
    return { limiter: new BurstyRateLimiter(rate, burst), burst };
  };
  const scaled = (budget: Budget, factor: number): Budget => ({ perS: budget.perS * factor, burst: budget.burst * factor });
  const writes: Budget = { perS: settings.writesPerS, burst: settings.writesBurst };
  const reads: Budget = { perS: settings.readsPerS, burst: settings.readsBurst };
  const limiters = {
    user: { write: build('w', writes), read: build('r', reads) },
    admin: { write: build('aw', scaled(writes, settings.adminFactor)), read: build('ar', scaled(reads, settings.adminFactor)) },
  };
  const budgetOf = (kind: RequestKind, auth: AuthContext): Budget => {
    const base = kind === 'write' ? writes : reads;
    return isAdmin(auth) ? scaled(base, settings.adminFactor) : base;
  };
  return {
    capacity(kind, auth) {
      const budget = budgetOf(kind, auth);
      // A BurstyRateLimiter takes a consume's points from the one-second window or, when
      // that cannot hold them all, from the burst allowance: never split across the two. A
      // request costs 1 point as it arrives (any window) and the rest at once, so the most
      // it can ever pass with is the window's points, or 1 + the allowance (not the burst:
      // a user batch of 150 against 100/s with a burst of 200 was a 429 forever).
      return budget.burst > budget.perS ? Math.max(budget.perS, budget.burst - budget.perS + 1) : budget.perS;
    },
    async consume(kind, auth, points = 1) {
      const { limiter, burst } = limiters[isAdmin(auth) ? 'admin' : 'user'][kind];
      // The rest of a request (points > 1) follows its first point into the same window: when
      // the two together are more than the window holds, only the burst allowance can take it,
      // so it is taken from there alone. Through the BurstyRateLimiter it first tried the window,
      // and the window counted the points it could not hold: the principal's next request was
      // refused with "1 s" and, retried then, refused again with the allowance's wait (a 101-item
      // batch at 100/s; two outside reviews). A refusal now names the allowance's refill.
      const allowanceOnly = burst !== null && points > 1 && points + 1 > budgetOf(kind, auth).perS;
      try {
        await (allowanceOnly ? burst : limiter).consume(auth.principal, points);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) {
          throw new RateLimitedError(kind, Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
        }
        // Both Redis and the insurance limiter failed: serve rather than refuse everyone.
      }
    },
  };
}
