// Proves that remembering verified tokens never accepts what jose would refuse at that instant (past exp, before the verification, a token never verified), that refusals are not remembered, and that the cache stays bounded.
import { SignJWT } from 'jose';
import { ExpiredTokenError, InvalidTokenError, TokenVerifier, signDevToken } from '../src';
import { VerifiedTokenCache } from '../src/verified-token-cache';

const secret = 'test-secret-of-a-decent-length';
const T0_S = 1_900_000_000;

/** A clock the test moves by hand; jose and the cache both read it. */
function fakeClock(startMs: number) {
  let nowMs = startMs;
  return {
    now: () => new Date(nowMs),
    set(ms: number) {
      nowMs = ms;
    },
  };
}

const tokenFor = (sub: string, ttlS: number, nowS = T0_S) => signDevToken({ sub, scope: 'ledger:read ledger:write', secret, ttlS, nowS });

describe('VerifiedTokenCache', () => {
  const auth = { principal: 'alice', scopes: new Set(['ledger:read']) };

  it('serves an entry from its verification until min(exp, verified + lifetime), not after', () => {
    const cache = new VerifiedTokenCache(10, 60_000);
    const t0 = T0_S * 1000;
    cache.remember('far', auth, T0_S + 3600, t0);
    cache.remember('near', auth, T0_S + 10, t0);
    expect(cache.get('far', t0 + 59_999)).toBe(auth);
    expect(cache.get('far', t0 + 60_000)).toBeUndefined();
    expect(cache.get('near', t0 + 9_999)).toBe(auth);
    expect(cache.get('near', t0 + 10_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('a clock that went back before the verification is a miss', () => {
    const cache = new VerifiedTokenCache(10, 60_000);
    cache.remember('t', auth, T0_S + 3600, T0_S * 1000);
    expect(cache.get('t', T0_S * 1000 - 1)).toBeUndefined();
  });

  it('a token already at or past exp is not remembered at all', () => {
    const cache = new VerifiedTokenCache(10, 60_000);
    cache.remember('late', auth, T0_S, T0_S * 1000 + 2_000); // accepted by jose thanks to its clock tolerance
    expect(cache.size).toBe(0);
  });

  it('keeps at most entriesMax tokens, evicting the least recently used', () => {
    const cache = new VerifiedTokenCache(2, 60_000);
    const t0 = T0_S * 1000;
    cache.remember('a', auth, T0_S + 3600, t0);
    cache.remember('b', auth, T0_S + 3600, t0);
    cache.get('a', t0);
    cache.remember('c', auth, T0_S + 3600, t0);
    expect(cache.size).toBe(2);
    expect(cache.get('b', t0)).toBeUndefined();
    expect(cache.get('a', t0)).toBe(auth);
    expect(cache.get('c', t0)).toBe(auth);
  });
});

describe('TokenVerifier with remembered tokens', () => {
  it('a remembered token stops being accepted once the clock reaches exp (no tolerance)', async () => {
    const clock = fakeClock(T0_S * 1000);
    const verifier = new TokenVerifier({ hs256Secret: secret, clockToleranceS: 0, clock });
    const token = await tokenFor('alice', 30);
    expect((await verifier.verifyToken(`Bearer ${token}`)).principal).toBe('alice');
    expect(verifier.cachedTokens).toBe(1);

    clock.set((T0_S + 30) * 1000 - 1);
    expect((await verifier.verifyToken(`Bearer ${token}`)).principal).toBe('alice');
    clock.set((T0_S + 30) * 1000);
    await expect(verifier.verifyToken(`Bearer ${token}`)).rejects.toBeInstanceOf(ExpiredTokenError);
    expect(verifier.cachedTokens).toBe(0);
  });

  it('with the default tolerance, past exp is jose answering (accepted within tolerance, refused after), never the cache', async () => {
    const clock = fakeClock(T0_S * 1000);
    const verifier = new TokenVerifier({ hs256Secret: secret, clock });
    const token = await tokenFor('alice', 30);
    await verifier.verifyToken(`Bearer ${token}`);

    clock.set((T0_S + 32) * 1000); // past exp, within the 5 s tolerance: jose accepts, nothing to remember
    expect((await verifier.verifyToken(`Bearer ${token}`)).principal).toBe('alice');
    expect(verifier.cachedTokens).toBe(0);
    clock.set((T0_S + 35) * 1000);
    await expect(verifier.verifyToken(`Bearer ${token}`)).rejects.toBeInstanceOf(ExpiredTokenError);
  });

  it('another token is verified for real: a forged signature on a remembered payload is refused', async () => {
    const clock = fakeClock(T0_S * 1000);
    const verifier = new TokenVerifier({ hs256Secret: secret, clock });
    const token = await tokenFor('alice', 3600);
    await verifier.verifyToken(`Bearer ${token}`);
    const [header, payload] = token.split('.');
    const forged = `${header}.${payload}.${Buffer.alloc(32, 7).toString('base64url')}`;
    await expect(verifier.verifyToken(`Bearer ${forged}`)).rejects.toBeInstanceOf(InvalidTokenError);
    const bob = await tokenFor('bob', 3600);
    expect((await verifier.verifyToken(`Bearer ${bob}`)).principal).toBe('bob');
    expect(verifier.cachedTokens).toBe(2);
  });

  it('a refused token is not remembered: refused again, every time', async () => {
    const clock = fakeClock(T0_S * 1000);
    const verifier = new TokenVerifier({ hs256Secret: secret, clock });
    // Correctly signed and unexpired, but refused after jose by the principal check.
    const longSub = await new SignJWT({ scope: 'ledger:read' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x'.repeat(300))
      .setExpirationTime(T0_S + 3600)
      .sign(new TextEncoder().encode(secret));
    await expect(verifier.verifyToken(`Bearer ${longSub}`)).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(verifier.verifyToken(`Bearer ${longSub}`)).rejects.toBeInstanceOf(InvalidTokenError);
    const expired = await tokenFor('alice', 60, T0_S - 3600);
    await expect(verifier.verifyToken(`Bearer ${expired}`)).rejects.toBeInstanceOf(ExpiredTokenError);
    expect(verifier.cachedTokens).toBe(0);
  });

  it('a token refused before its nbf is accepted once the clock reaches it', async () => {
    const clock = fakeClock(T0_S * 1000);
    const verifier = new TokenVerifier({ hs256Secret: secret, clockToleranceS: 0, clock });
    const notYet = await new SignJWT({ scope: 'ledger:read' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setNotBefore(T0_S + 10)
      .setExpirationTime(T0_S + 3600)
      .sign(new TextEncoder().encode(secret));
    await expect(verifier.verifyToken(`Bearer ${notYet}`)).rejects.toBeInstanceOf(InvalidTokenError);
    clock.set((T0_S + 10) * 1000);
    expect((await verifier.verifyToken(`Bearer ${notYet}`)).principal).toBe('alice');
  });

  it('stays bounded by cachedTokensMax; an evicted token is verified again', async () => {
    const clock = fakeClock(T0_S * 1000);
    const verifier = new TokenVerifier({ hs256Secret: secret, cachedTokensMax: 2, clock });
    const tokens = await Promise.all(['a', 'b', 'c', 'd'].map((sub) => tokenFor(sub, 3600)));
    for (const token of tokens) await verifier.verifyToken(`Bearer ${token}`);
    expect(verifier.cachedTokens).toBe(2);
    expect((await verifier.verifyToken(`Bearer ${tokens[0]}`)).principal).toBe('a');
    expect(verifier.cachedTokens).toBe(2);
  });

  it('cachedTokensMax 0 remembers nothing', async () => {
    const verifier = new TokenVerifier({ hs256Secret: secret, cachedTokensMax: 0 });
    await verifier.verifyToken(`Bearer ${await signDevToken({ sub: 'alice', scope: 'ledger:read', secret, ttlS: 60 })}`);
    expect(verifier.cachedTokens).toBe(0);
  });
});
