/**
 * The API's scopes (docs/api.md). `ledger:admin` implies the other two: an operator can do
 * anything a user can, on any account. `ledger:write` does not imply `ledger:read` (least
 * privilege: a token minted to move money need not be able to read balances).
 */
export const SCOPE_READ = 'ledger:read';
export const SCOPE_WRITE = 'ledger:write';
export const SCOPE_ADMIN = 'ledger:admin';
/** Every scope the API grants anything for; any other scope in a token grants nothing. */
export const SCOPES: readonly string[] = [SCOPE_READ, SCOPE_WRITE, SCOPE_ADMIN];

/** The scopes in a space-separated `scope` that grant nothing here (a typo, another API's). */
export function unknownScopes(scope: string): string[] {
  return [...(parseScopes(scope) ?? [])].filter((s) => !SCOPES.includes(s));
}

export interface AuthContext {
  /** The JWT `sub`: owner of the accounts it opens, author of the transfers it sends. */
  readonly principal: string;
  readonly scopes: ReadonlySet<string>;
}

export function isAdmin(auth: AuthContext): boolean {
  return auth.scopes.has(SCOPE_ADMIN);
}

export function canRead(auth: AuthContext): boolean {
  return auth.scopes.has(SCOPE_READ) || isAdmin(auth);
}

export function canWrite(auth: AuthContext): boolean {
  return auth.scopes.has(SCOPE_WRITE) || isAdmin(auth);
}

/**
 * `scope` is a space-separated string (RFC 8693); an array of strings is accepted for
 * tolerance; absent, it grants nothing. Anything else is null: a claim the issuer did not mean
 * (an array with a number or an object in it was read for its strings alone; an outside
 * review), which the verifier refuses as an invalid token rather than guess at.
 */
export function parseScopes(claim: unknown): Set<string> | null {
  if (claim === undefined) return new Set();
  if (typeof claim === 'string') return new Set(claim.split(' ').filter(Boolean));
  if (Array.isArray(claim) && claim.every((s) => typeof s === 'string')) return new Set(claim.filter(Boolean));
  return null;
}
