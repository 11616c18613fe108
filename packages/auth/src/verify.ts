/**
 * Bearer-token verification with jose.
 *
 * HS256 with a shared secret is the local default (docs/api.md); RS256 against a JWKS URL is for
 * production, where the API must not hold a signing key. Both may be configured at once: the
 * token's header `alg` chooses the key, and only these two algorithms are ever accepted
 * (never `none`, never an HMAC keyed with a public key). Without `hs256Secret` an HS256
 * token is refused (401): the app config decides whether a secret exists at all.
 * A principal that names one of the ledger's internal owners (`system`) is refused too.
 */
import { type JWTPayload, type JWTVerifyGetKey, createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { type Clock, INTERNAL_OWNERS, PRINCIPAL_CHARS_MAX, systemClock } from '@ledgerline/domain';
import { duplicateKey, shownKey } from '@ledgerline/schemas';
import { AuthUnavailableError, ExpiredTokenError, InvalidTokenError, MalformedClaimError, MissingTokenError } from './errors';
import { type AuthContext, parseScopes } from './scopes';
import { VerifiedTokenCache } from './verified-token-cache';

export interface TokenVerifierOptions {
  /** HS256 shared secret; omit to refuse HS256 tokens. */
  hs256Secret?: string;
  /** RS256 key set URL; omit to refuse RS256 tokens. */
  jwksUrl?: string;
  /** Checked when set. */
  issuer?: string;
  audience?: string;
  /** Clock skew tolerated on exp/nbf/iat between the token issuer and us. */
  clockToleranceS?: number;
  /**
   * A token still valid for longer than this (its `exp` further away) is refused: a token
   * that cannot expire is a password that cannot be changed, and one that leaks stays good.
   */
  lifetimeMaxS?: number;
  /** A JWKS fetch slower than this fails (503), rather than hanging the request. */
  jwksTimeoutMs?: number;
  /** Verified tokens remembered (LRU); 0 verifies every request. */
  cachedTokensMax?: number;
  /** A remembered token is checked again after at most this long (and never served past its exp). */
  cachedTokenLifetimeMs?: number;
  /** What exp and nbf are checked against; tests pass a fake one. */
  clock?: Clock;
}

/**
 * Most clients send the same token with every request; verifying it costs an HMAC, base64 and
 * JSON parsing each time (see verified-token-cache.ts). 10,000 entries of about 1 KB each.
 */
export const CACHED_TOKENS_MAX_DEFAULT = 10_000;
/** Bounds how long a token whose key left the JWKS can still be accepted. */
export const CACHED_TOKEN_LIFETIME_MS_DEFAULT = 60_000;

/** The longest a token may still be valid for, by default (the local tools issue 24 h tokens). */
export const TOKEN_LIFETIME_MAX_S_DEFAULT = 86_400;
const CLOCK_TOLERANCE_S_DEFAULT = 5;

/** A header longer than this is not a token we issued; refuse before parsing it. */
const HEADER_LENGTH_MAX = 8192;

export class TokenVerifier {
  private readonly secret: Uint8Array | null;
  private readonly jwks: JWTVerifyGetKey | null;
  private readonly verified: VerifiedTokenCache;
  private readonly clock: Clock;

  constructor(private readonly options: TokenVerifierOptions) {
    if (!options.hs256Secret && !options.jwksUrl) throw new Error('TokenVerifier needs an HS256 secret or a JWKS URL');
    this.verified = new VerifiedTokenCache(
      options.cachedTokensMax ?? CACHED_TOKENS_MAX_DEFAULT,
      options.cachedTokenLifetimeMs ?? CACHED_TOKEN_LIFETIME_MS_DEFAULT,
    );
    this.clock = options.clock ?? systemClock;
    this.secret = options.hs256Secret ? new TextEncoder().encode(options.hs256Secret) : null;
    this.jwks = options.jwksUrl
      ? createRemoteJWKSet(new URL(options.jwksUrl), { timeoutDuration: options.jwksTimeoutMs ?? 2000 })
      : null;
  }

  /** Tokens remembered as verified right now (at most `cachedTokensMax`). */
  get cachedTokens(): number {
    return this.verified.size;
  }

  /** Verifies `Authorization: Bearer <jwt>`; throws a typed AuthError otherwise. */
  async verifyToken(authorizationHeader: string | undefined): Promise<AuthContext> {
    const token = bearerToken(authorizationHeader);
    const now = this.clock.now();
    const remembered = this.verified.get(token, now.getTime());
    if (remembered) return remembered;
    const payload = await this.verifySignatureAndClaims(token, now);
    this.checkTimes(payload, now);
    const auth = authContextOf(payload);
    // requiredClaims makes jose refuse a token without a numeric exp.
    this.verified.remember(token, auth, payload.exp!, now.getTime());
    return auth;
  }

  private async verifySignatureAndClaims(token: string, now: Date): Promise<JWTPayload> {
    const alg = headerAlg(token);
    const common = {
      issuer: this.options.issuer,
      audience: this.options.audience,
      clockTolerance: this.options.clockToleranceS ?? CLOCK_TOLERANCE_S_DEFAULT,
      currentDate: now,
      requiredClaims: ['exp', 'sub'],
    };
    const { secret, jwks } = this;
    if (!(alg === 'HS256' && secret) && !(alg === 'RS256' && jwks)) {
      // Quoted and cut like any other caller's text an answer echoes before the token is trusted.
      throw new InvalidTokenError(`algorithm ${shownKey(alg)} is not accepted`);
    }
    let payload: JWTPayload;
    try {
      payload =
        alg === 'HS256' && secret
          ? (await jwtVerify(token, secret, { ...common, algorithms: ['HS256'] })).payload
          : (await jwtVerify(token, jwks!, { ...common, algorithms: ['RS256'] })).payload;
    } catch (error) {
      throw translate(error);
    }
    refuseRepeatedKeys(token);
    return payload;
  }

  /**
   * What jose leaves to the caller: a token issued in the future (a forged or a broken
   * issuer's clock: jose checks `iat` only with maxTokenAge, which would make `iat`
   * required), and a token valid for longer than `lifetimeMaxS`. Both with the clock tolerance.
   */
  private checkTimes(payload: JWTPayload, now: Date): void {
    const nowS = now.getTime() / 1000;
    const toleranceS = this.options.clockToleranceS ?? CLOCK_TOLERANCE_S_DEFAULT;
    if (payload.iat !== undefined && payload.iat > nowS + toleranceS) throw new InvalidTokenError('token is issued in the future (iat)');
    const lifetimeMaxS = this.options.lifetimeMaxS ?? TOKEN_LIFETIME_MAX_S_DEFAULT;
    if (payload.exp! > nowS + lifetimeMaxS + toleranceS) {
      throw new InvalidTokenError(`token is valid for longer than ${lifetimeMaxS} s (exp); this API accepts at most that`);
    }
  }
}

/** One-shot convenience; long-lived callers keep a TokenVerifier (it caches the key set). */
export function verifyToken(authorizationHeader: string | undefined, options: TokenVerifierOptions): Promise<AuthContext> {
  return new TokenVerifier(options).verifyToken(authorizationHeader);
}

function authContextOf(payload: JWTPayload): AuthContext {
  const problem = principalProblem(payload.sub);
  if (problem) throw problem.malformedClaim ? new MalformedClaimError('sub', problem.message) : new InvalidTokenError(`sub ${problem.message}`);
  const scopes = parseScopes(payload.scope);
  if (scopes === null) throw new InvalidTokenError('scope must be a space-separated string or an array of strings');
  return { principal: payload.sub as string, scopes };
}

/**
 * Why `sub` cannot name a principal, or null: the one rule of a token's `sub`, which the
 * API's verifier applies (a malformed claim answers 400, the rest 401) and `ledgerctl token`
 * too, so that it never prints a token the API refuses.
 */
export function principalProblem(sub: unknown): { message: string; malformedClaim: boolean } | null {
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > PRINCIPAL_CHARS_MAX) {
    return { message: `must be a string of 1..${PRINCIPAL_CHARS_MAX} characters`, malformedClaim: false };
  }
  // Postgres text cannot hold NUL, nor jsonb a lone surrogate: refuse them here, not as a
  // write that fails in the worker every time it is retried.
  if (!sub.isWellFormed() || sub.includes('\u0000')) return { message: 'must be well-formed Unicode without NUL', malformedClaim: true };
  // A principal is stored as the owner of accounts and the author of transfers and is read
  // by people: no control characters (a newline or an escape sequence in a log or a
  // terminal) and no invisible format characters (zero-width, bidirectional overrides) that
  // make one name display as another.
  if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(sub)) {
    return { message: 'must not contain control or invisible format characters (zero-width, bidirectional) or line separators', malformedClaim: true };
  }
  if (isReservedPrincipal(sub)) return { message: 'names an internal owner of the ledger', malformedClaim: false };
  return null;
}

const RESERVED = new Set(INTERNAL_OWNERS.map(foldPrincipal));

/**
 * True for `system` however it is spelled: case and Unicode compatibility forms folded,
 * surrounding whitespace ignored (a look-alike would still confuse a human reading the books).
 */
export function isReservedPrincipal(principal: string): boolean {
  return RESERVED.has(foldPrincipal(principal));
}

function foldPrincipal(text: string): string {
  return text.normalize('NFKC').trim().toLowerCase();
}

function bearerToken(header: string | undefined): string {
  if (header === undefined || header.trim() === '') throw new MissingTokenError('Authorization header is missing');
  if (header.length > HEADER_LENGTH_MAX) throw new InvalidTokenError('Authorization header is too long');
  const match = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*) *$/i.exec(header);
  if (!match) throw new InvalidTokenError('Authorization header must be "Bearer <JWT>"');
  return match[1]!;
}

/**
 * A signed token whose header or payload repeats a key is refused: jose (JSON.parse) keeps
 * the last `sub`, its issuer may have read, checked or logged the first, so the one signed
 * text would name two principals. Run once the signature holds, on the texts it covers.
 */
function refuseRepeatedKeys(token: string): void {
  const [header, payload] = token.split('.');
  for (const [part, encoded] of [['header', header], ['payload', payload]] as const) {
    const repeated = duplicateKey(Buffer.from(encoded ?? '', 'base64url').toString('utf8'));
    if (repeated !== null) throw new InvalidTokenError(`token ${part} repeats the key ${shownKey(repeated)}`);
  }
}

function headerAlg(token: string): string {
  try {
    const alg = decodeProtectedHeader(token).alg;
    if (typeof alg !== 'string') throw new InvalidTokenError('token header has no alg');
    return alg;
  } catch (error) {
    if (error instanceof InvalidTokenError) throw error;
    throw new InvalidTokenError('token header is not valid base64url JSON');
  }
}

function translate(error: unknown): Error {
  if (error instanceof errors.JWTExpired) return new ExpiredTokenError('token has expired');
  // The key set's endpoint failing (timeout, non-200, garbage) is ours to fix, not the client's.
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || (error as errors.JOSEError).code === 'ERR_JOSE_GENERIC') {
    return new AuthUnavailableError(`JWKS unavailable: ${(error as Error).message}`);
  }
  // Which claim and why ("missing required \"exp\" claim", "\"iss\" claim check failed"):
  // the caller's own token, and what to fix in it.
  if (error instanceof errors.JWTClaimValidationFailed) return new InvalidTokenError(`token rejected: ${error.message}`);
  if (error instanceof errors.JOSEError) return new InvalidTokenError(`token rejected: ${error.code}`);
  // Anything else came from fetching the key set (network), not from the token.
  return new AuthUnavailableError(`could not verify token: ${(error as Error).message}`);
}
