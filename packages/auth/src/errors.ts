/**
 * Why a request is not authenticated. Each class has a stable `code`; the API maps them to
 * HTTP in its one error-mapping file (401 for the first three, 503 for AUTH_UNAVAILABLE, 400 for
 * a malformed claim).
 */
export type AuthErrorCode = 'TOKEN_MISSING' | 'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'AUTH_UNAVAILABLE' | 'VALIDATION_FAILED';

export abstract class AuthError extends Error {
  abstract readonly code: AuthErrorCode;
}

/** No `Authorization: Bearer ...` header at all. */
export class MissingTokenError extends AuthError {
  override readonly name = 'MissingTokenError';
  readonly code = 'TOKEN_MISSING';
}

/** Malformed, badly signed, wrong algorithm, unknown key, or missing required claims. */
export class InvalidTokenError extends AuthError {
  override readonly name = 'InvalidTokenError';
  readonly code = 'TOKEN_INVALID';
}

/** Well formed and correctly signed, but past its `exp`. */
export class ExpiredTokenError extends AuthError {
  override readonly name = 'ExpiredTokenError';
  readonly code = 'TOKEN_EXPIRED';
}

/**
 * The key set could not be fetched (JWKS endpoint down or slow): not the client's fault, so
 * it must not answer 401 (a client would throw its token away).
 */
export class AuthUnavailableError extends AuthError {
  override readonly name = 'AuthUnavailableError';
  readonly code = 'AUTH_UNAVAILABLE';
}

/**
 * Correctly signed, but a claim holds text the ledger cannot store or show (a `sub` with a lone
 * UTF-16 surrogate, NUL, a control or an invisible format character): the request is refused as bad input (400, naming the claim), before the
 * principal could reach a transfer row.
 */
export class MalformedClaimError extends AuthError {
  override readonly name = 'MalformedClaimError';
  readonly code = 'VALIDATION_FAILED';
  constructor(
    readonly claim: string,
    /** What the claim must be, as a field issue says it ("must be ..."). */
    readonly rule: string,
  ) {
    super(`the token's ${claim} ${rule}`);
  }
}
