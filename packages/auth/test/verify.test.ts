// Proves tokens are accepted only when correctly signed with an allowed algorithm and unexpired, and that each refusal has its own typed error.
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import {
  AuthUnavailableError,
  ExpiredTokenError,
  InvalidTokenError,
  MalformedClaimError,
  MissingTokenError,
  TokenVerifier,
  canRead,
  canWrite,
  isAdmin,
  signDevToken,
  verifyToken,
} from '../src';

const secret = 'test-secret-of-a-decent-length';
const hs = new TokenVerifier({ hs256Secret: secret });

describe('HS256', () => {
  it('accepts a dev token and returns principal and scopes', async () => {
    const token = await signDevToken({ sub: 'alice', scope: 'ledger:read ledger:write', secret, ttlS: 60 });
    const auth = await hs.verifyToken(`Bearer ${token}`);
    expect(auth.principal).toBe('alice');
    expect([...auth.scopes].sort()).toEqual(['ledger:read', 'ledger:write']);
    expect(canRead(auth) && canWrite(auth) && !isAdmin(auth)).toBe(true);
  });

  it('admin implies read and write', async () => {
    const token = await signDevToken({ sub: 'ops', scope: 'ledger:admin', secret, ttlS: 60 });
    const auth = await verifyToken(`bearer ${token}`, { hs256Secret: secret });
    expect(isAdmin(auth) && canRead(auth) && canWrite(auth)).toBe(true);
  });

  it('missing header is MissingTokenError', async () => {
    await expect(hs.verifyToken(undefined)).rejects.toBeInstanceOf(MissingTokenError);
    await expect(hs.verifyToken('')).rejects.toBeInstanceOf(MissingTokenError);
  });

  it('a non-bearer or garbled header is InvalidTokenError', async () => {
    await expect(hs.verifyToken('Basic dXNlcjpwYXNz')).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(hs.verifyToken('Bearer not-a-jwt')).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(hs.verifyToken('Bearer aaa.bbb.ccc')).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('a token signed with another secret is InvalidTokenError', async () => {
    const token = await signDevToken({ sub: 'alice', scope: 'ledger:read', secret: 'another-secret', ttlS: 60 });
    await expect(hs.verifyToken(`Bearer ${token}`)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('an expired token is ExpiredTokenError', async () => {
    const token = await signDevToken({ sub: 'alice', scope: 'ledger:read', secret, ttlS: 60, nowS: Math.floor(Date.now() / 1000) - 3600 });
    await expect(hs.verifyToken(`Bearer ${token}`)).rejects.toBeInstanceOf(ExpiredTokenError);
  });

  it('a token issued in the future is refused, beyond the clock tolerance', async () => {
    const nowS = Math.floor(Date.now() / 1000);
    const key = new TextEncoder().encode(secret);
    const issuedAt = (iat: number) =>
      new SignJWT({ scope: 'ledger:read' }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setIssuedAt(iat).setExpirationTime(nowS + 3600).sign(key);
    await expect(hs.verifyToken(`Bearer ${await issuedAt(nowS + 3600)}`)).rejects.toThrow(new InvalidTokenError('token is issued in the future (iat)'));
    // A few seconds ahead is a clock that drifts: within the 5 s tolerance.
    await expect(hs.verifyToken(`Bearer ${await issuedAt(nowS + 3)}`)).resolves.toMatchObject({ principal: 'alice' });
  });

  it('a token valid for longer than the API accepts is refused (24 h by default, lifetimeMaxS otherwise)', async () => {
    const year = await signDevToken({ sub: 'alice', scope: 'ledger:read', secret, ttlS: 365 * 86_400 });
    await expect(hs.verifyToken(`Bearer ${year}`)).rejects.toThrow(new InvalidTokenError('token is valid for longer than 86400 s (exp); this API accepts at most that'));
    const day = await signDevToken({ sub: 'alice', scope: 'ledger:read', secret, ttlS: 86_400 });
    await expect(hs.verifyToken(`Bearer ${day}`)).resolves.toMatchObject({ principal: 'alice' });
    const hour = new TokenVerifier({ hs256Secret: secret, lifetimeMaxS: 3600 });
    await expect(hour.verifyToken(`Bearer ${day}`)).rejects.toBeInstanceOf(InvalidTokenError);
    // Without iat too: what counts is how long the token is still good for.
    const noIat = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime(Math.floor(Date.now() / 1000) + 2 * 86_400).sign(new TextEncoder().encode(secret));
    await expect(hs.verifyToken(`Bearer ${noIat}`)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('a token without exp or sub is refused, naming the claim', async () => {
    const key = new TextEncoder().encode(secret);
    const noExp = await new SignJWT({ scope: 'ledger:read' }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').sign(key);
    const noSub = await new SignJWT({ scope: 'ledger:read' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(key);
    await expect(hs.verifyToken(`Bearer ${noExp}`)).rejects.toThrow(new InvalidTokenError('token rejected: missing required "exp" claim'));
    await expect(hs.verifyToken(`Bearer ${noSub}`)).rejects.toThrow(new InvalidTokenError('token rejected: missing required "sub" claim'));
  });

  it('a scope claim that is neither a string nor an array of strings is refused, not read for its strings (an outside review)', async () => {
    const key = new TextEncoder().encode(secret);
    const withScope = (scope: unknown) => new SignJWT({ scope } as Record<string, unknown>).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime('1h').sign(key);
    for (const scope of [['ledger:read', 5, null, {}], 5, { 'ledger:admin': true }, null, true]) {
      await expect(hs.verifyToken(`Bearer ${await withScope(scope)}`)).rejects.toThrow(new InvalidTokenError('scope must be a space-separated string or an array of strings'));
    }
    expect([...(await hs.verifyToken(`Bearer ${await withScope(['ledger:read', '', 'ledger:write'])}`)).scopes]).toEqual(['ledger:read', 'ledger:write']);
    const noScope = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime('1h').sign(key);
    expect((await hs.verifyToken(`Bearer ${noScope}`)).scopes.size).toBe(0);
  });

  it('alg none and algorithms without a configured key are refused', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
    await expect(hs.verifyToken(`Bearer ${header}.${body}.`)).rejects.toBeInstanceOf(InvalidTokenError);
    const { privateKey } = await generateKeyPair('RS256');
    const rs = await new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setSubject('alice').setExpirationTime('1h').sign(privateKey);
    await expect(hs.verifyToken(`Bearer ${rs}`)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('an alg that is not accepted is echoed quoted and cut: the header is the caller\'s text, read before any signature', async () => {
    const body = Buffer.from(JSON.stringify({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
    const unsigned = (alg: string) => `Bearer ${Buffer.from(JSON.stringify({ alg })).toString('base64url')}.${body}.`;
    await expect(hs.verifyToken(unsigned('none'))).rejects.toThrow(new InvalidTokenError('algorithm "none" is not accepted'));
    const long = `<script>${'A'.repeat(5000)}`;
    const refusal = await hs.verifyToken(unsigned(long)).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(InvalidTokenError);
    expect((refusal as Error).message).toBe(`algorithm "<script>${'A'.repeat(32)}..." is not accepted`);
  });

  it('a signed token whose payload or header repeats a key is refused: its issuer may have read the other value', async () => {
    const expS = Math.floor(Date.now() / 1000) + 60;
    const signed = (header: string, payload: string) => {
      const signingInput = `${Buffer.from(header).toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
      return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
    };
    const header = '{"alg":"HS256","typ":"JWT"}';
    await expect(hs.verifyToken(`Bearer ${signed(header, `{"sub":"alice","exp":${expS},"sub":"bob"}`)}`)).rejects.toThrow(
      new InvalidTokenError('token payload repeats the key "sub"'),
    );
    await expect(hs.verifyToken(`Bearer ${signed(header, `{"sub":"alice","exp":${expS},"scope":"ledger:read","\\u0073cope":"ledger:admin"}`)}`)).rejects.toThrow(
      new InvalidTokenError('token payload repeats the key "scope"'),
    );
    await expect(hs.verifyToken(`Bearer ${signed('{"alg":"HS256","typ":"JWT","typ":"x"}', `{"sub":"alice","exp":${expS}}`)}`)).rejects.toThrow(
      new InvalidTokenError('token header repeats the key "typ"'),
    );
    // The same claims, each once, in the same hand-made form: accepted.
    await expect(hs.verifyToken(`Bearer ${signed(header, `{"sub":"alice","exp":${expS},"scope":"ledger:read"}`)}`)).resolves.toMatchObject({ principal: 'alice' });
  });

  it('refuses to be built without any key', () => {
    expect(() => new TokenVerifier({})).toThrow();
  });
});

describe('RS256 via JWKS', () => {
  let server: Server;
  let url: string;
  let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  let available = true;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    server = createServer((_req, res) => {
      if (!available) {
        res.writeHead(500).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const sign = (ttl: string) =>
    new SignJWT({ scope: 'ledger:read' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('bob').setExpirationTime(ttl).sign(privateKey);

  it('accepts a token signed by a key from the set', async () => {
    const verifier = new TokenVerifier({ jwksUrl: url });
    const auth = await verifier.verifyToken(`Bearer ${await sign('1h')}`);
    expect(auth.principal).toBe('bob');
    expect(auth.scopes.has('ledger:read')).toBe(true);
  });

  it('an HS256 token is refused when only JWKS is configured', async () => {
    const verifier = new TokenVerifier({ jwksUrl: url });
    const token = await signDevToken({ sub: 'alice', scope: 'ledger:admin', secret, ttlS: 60 });
    await expect(verifier.verifyToken(`Bearer ${token}`)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('an unreachable key set is AuthUnavailableError, not a 401', async () => {
    available = false;
    try {
      const verifier = new TokenVerifier({ jwksUrl: url });
      await expect(verifier.verifyToken(`Bearer ${await sign('1h')}`)).rejects.toBeInstanceOf(AuthUnavailableError);
    } finally {
      available = true;
    }
  });
});

describe('internal principals', () => {
  it.each(['system', 'SYSTEM', ' system', 'ｓｙｓｔｅｍ'])('sub=%j is refused', async (sub) => {
    const token = await signDevToken({ sub, scope: 'ledger:admin', secret, ttlS: 60 });
    await expect(hs.verifyToken(`Bearer ${token}`)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it.each(['system\u200b', '\u202dsystem', 'alice\u200d', 'rv-\u0001\u001b[31m', 'a\nb', 'a\u0085b', 'a\u2028b', 'a\u2029b'])('sub=%j (control or invisible characters) is refused as malformed', async (sub) => {
    const token = await signDevToken({ sub, scope: 'ledger:admin', secret, ttlS: 60 });
    await expect(hs.verifyToken(`Bearer ${token}`)).rejects.toBeInstanceOf(MalformedClaimError);
  });

  it('a principal in any script is a principal: a look-alike of system is another name, never system', async () => {
    const token = await signDevToken({ sub: '\u0455ystem', scope: 'ledger:read', secret, ttlS: 60 });
    expect((await hs.verifyToken(`Bearer ${token}`)).principal).toBe('\u0455ystem');
  });

  it('a principal that merely contains the word is a principal like any other', async () => {
    const token = await signDevToken({ sub: 'systems-team', scope: 'ledger:read', secret, ttlS: 60 });
    expect((await hs.verifyToken(`Bearer ${token}`)).principal).toBe('systems-team');
  });
});
