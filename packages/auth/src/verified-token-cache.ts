/**
 * Tokens that were verified a moment ago, so a client sending the same bearer token on every
 * request pays the HMAC (or RSA) check and the claims parsing once instead of each time.
 *
 * An entry is keyed by the exact token string and lives from the instant it was verified
 * until min(exp, verified + lifetime), never past `exp`: jose accepts a token until
 * exp + clockTolerance, so every answer served from here is one jose would have given at
 * that instant too. A clock that went backwards (before `verifiedAtMs`) is a miss, so a
 * not-yet-valid (`nbf`) token is never served either. What the cache cannot see is a key
 * leaving the JWKS: a token signed with it stays accepted for at most `lifetimeMs`.
 *
 * Only successful verifications are stored; a refused token is checked again every time.
 */
import { LRUCache } from 'lru-cache';
import type { AuthContext } from './scopes';

interface VerifiedToken {
  readonly auth: AuthContext;
  readonly verifiedAtMs: number;
  readonly validUntilMs: number;
}

export class VerifiedTokenCache {
  /** null when entriesMax is 0: nothing is remembered. */
  private readonly entries: LRUCache<string, VerifiedToken> | null;

  constructor(
    entriesMax: number,
    private readonly lifetimeMs: number,
  ) {
    if (!Number.isFinite(lifetimeMs) || lifetimeMs < 0) throw new RangeError('lifetimeMs must be a non-negative number');
    if (!Number.isInteger(entriesMax) || entriesMax < 0) throw new RangeError('entriesMax must be a non-negative integer');
    this.entries = entriesMax > 0 ? new LRUCache({ max: entriesMax }) : null;
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }

  /** The AuthContext `token` was verified into, if that verification still holds at `nowMs`. */
  get(token: string, nowMs: number): AuthContext | undefined {
    const entry = this.entries?.get(token);
    if (entry === undefined) return undefined;
    if (nowMs < entry.verifiedAtMs || nowMs >= entry.validUntilMs) {
      this.entries?.delete(token);
      return undefined;
    }
    return entry.auth;
  }

  /** Keeps what verifying `token` at `verifiedAtMs` produced; `expS` is its `exp` claim (seconds). */
  remember(token: string, auth: AuthContext, expS: number, verifiedAtMs: number): void {
    const validUntilMs = Math.min(expS * 1000, verifiedAtMs + this.lifetimeMs);
    if (!(validUntilMs > verifiedAtMs)) return;
    this.entries?.set(token, { auth, verifiedAtMs, validUntilMs });
  }
}
