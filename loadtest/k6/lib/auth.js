// HS256 JWTs signed inside k6 with JWT_SECRET, the way docs/api.md says local tokens are made
// (claims: sub = the principal, scope = space-separated scopes). Cached per VU.
//
// One principal, one token, as a real client holds one for its lifetime: `iat` is the start of
// the current 10-minute window, so every VU signs the same token for a principal. With `iat`
// in seconds, each VU minted its own token for each principal it drew (200 principals times
// tens of VUs), and the API verified a new JWT on almost every request of a bench window.
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';

const TOKEN_TTL_S = 24 * 3600;
/** Tokens minted in the same window are identical (see above). */
const TOKEN_WINDOW_S = 600;
export const USER_SCOPE = 'ledger:read ledger:write';
export const ADMIN_SCOPE = 'ledger:read ledger:write ledger:admin';

const cache = {};

export function token(secret, sub, scope) {
  const cacheKey = `${sub}\n${scope}`;
  const cached = cache[cacheKey];
  if (cached) return cached;
  const now = Math.floor(Date.now() / 1000 / TOKEN_WINDOW_S) * TOKEN_WINDOW_S;
  const header = encoding.b64encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' }), 'rawurl');
  const payload = encoding.b64encode(JSON.stringify({ sub, scope, iat: now, exp: now + TOKEN_TTL_S }), 'rawurl');
  const signature = crypto.hmac('sha256', secret, `${header}.${payload}`, 'base64rawurl');
  const jwt = `${header}.${payload}.${signature}`;
  cache[cacheKey] = jwt;
  return jwt;
}

export function bearer(secret, sub, scope) {
  return `Bearer ${token(secret, sub, scope)}`;
}
