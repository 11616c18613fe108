import { SignJWT } from 'jose';

export interface DevTokenOptions {
  sub: string;
  /** Space-separated scopes, e.g. "ledger:read ledger:write". */
  scope: string;
  secret: string;
  ttlS: number;
  /** Seconds since the epoch; defaults to now (tests pass it to mint expired tokens). */
  nowS?: number;
  /** `iss` and `aud`: what an API with JWT_ISSUER / JWT_AUDIENCE requires; left out when absent. */
  issuer?: string;
  audience?: string;
}

/** An HS256 token for local use (`npm run token`, tests). Production tokens come from an IdP. */
export async function signDevToken(options: DevTokenOptions): Promise<string> {
  if (!Number.isInteger(options.ttlS)) throw new RangeError('ttlS must be an integer');
  const now = options.nowS ?? Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ scope: options.scope })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + options.ttlS);
  if (options.issuer !== undefined) jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(options.secret));
}
