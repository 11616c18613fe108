// Proves against a real Redis that what the cache holds is read back as hostile input: an
// entry none of our writers could have written (a rev beyond int64 or not a number, another
// currency, a balance beyond int64, an as_of that is no time, a missing field) is malformed to
// `lookup` and a miss to `read`; and none of these, nor a string where the hash should be
// (Redis's WRONGTYPE, for the caller to read as malformed) or a hash that never expires, blocks
// the versioned refresh: refresh-balances.lua treats it as absent and replaces it whole. A
// well-formed entry with a TTL still does (the cache never goes back). And an ACCEPTED record
// that is not JSON of its own id's record is malformed to `lookupAccepted`, none to `getAccepted`.
import { randomBytes, randomUUID } from 'node:crypto';
import type { BalanceFigure } from '@ledgerline/domain';
import { AcceptedTransfers, BalanceCache, createRedis, isWrongType, waitUntilReady } from '../src';

const url = process.env.REDIS_URL;
if (!url) throw new Error('REDIS_URL must point at the test Redis (npm test sets it)');
const prefix = `t:${randomBytes(4).toString('hex')}:`;
const redis = createRedis(url);

beforeAll(async () => {
  await waitUntilReady(redis, 5_000);
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const INT64_MAX = '9223372036854775807';
const now = () => new Date().toISOString();
const figure = (accountId: string, rev: bigint, balance = 7n): BalanceFigure => ({ accountId, currency: 'USD', balance, seq: rev, held: 0n, rev, asOf: now() });
/** A well-formed entry as our writers store it, with the highest rev a real one can have. */
const wellFormed = () => ({ balance: '5', seq: '1', currency: 'USD', as_of: now(), held: '0', rev: INT64_MAX });

describe('BalanceCache: a malformed entry is a miss and never blocks a refresh', () => {
  const cache = new BalanceCache(redis, prefix);
  const key = (id: string) => `${prefix}bal:${id}`;

  // Each blocks today's refresh of rev 3 if its rev is compared as it stands (or it has none to compare).
  const malformed: [string, Record<string, string>, RegExp][] = [
    ['a rev beyond int64 (23 digits)', { ...wellFormed(), rev: '99999999999999999999999' }, /^rev "9{23}" is not a decimal integer/],
    ['a rev one past int64', { ...wellFormed(), rev: '9223372036854775808' }, /^rev /],
    ['a rev that is not a number', { ...wellFormed(), rev: '9e99' }, /^rev "9e99"/],
    ['a rev with leading zeros', { ...wellFormed(), rev: '0000000000000000009' }, /^rev /],
    ['a negative seq', { ...wellFormed(), seq: '-1' }, /^seq "-1"/],
    ['a negative held', { ...wellFormed(), held: '-5' }, /^held /],
    ['another currency', { ...wellFormed(), currency: 'ZZ<script>' }, /^currency "ZZ<script>" is not the account's \(USD\)$/],
    ['a balance beyond int64', { ...wellFormed(), balance: '99999999999999999999' }, /^balance "9{20}"/],
    ['a balance of "-0"', { ...wellFormed(), balance: '-0' }, /^balance "-0"/],
    ['an as_of that is no time', { ...wellFormed(), as_of: 'not-a-time' }, /^as_of "not-a-time" is not an ISO 8601 instant$/],
    ['an as_of with 7 fractional digits', { ...wellFormed(), as_of: '2026-01-01T00:00:00.1234567Z' }, /^as_of /],
    ['a missing field', (({ held: _held, ...rest }) => rest)(wellFormed()), /^fields missing: held$/],
  ];

  test.each(malformed)('%s: lookup says why (quoting at most 32 characters of it), read misses, and a refresh replaces it whole', async (_what, fields, why) => {
    const id = randomUUID();
    await redis.hset(key(id), { ...fields, foreign: 'x'.repeat(10_000) });
    await redis.expire(key(id), 600); // a TTL, as our writers set: only its fields make it foreign
    const found = await cache.lookup(id, 'USD');
    expect(found).toEqual({ malformed: expect.stringMatching(why) });
    expect(await cache.read(id)).toBeNull();

    await cache.refresh([figure(id, 3n)]);
    expect(await cache.lookup(id, 'USD')).toEqual({ figure: expect.objectContaining({ balance: 7n, rev: 3n, currency: 'USD' }) });
    expect(await redis.hexists(key(id), 'foreign')).toBe(0); // replaced whole, not patched
    expect(await redis.ttl(key(id))).toBeGreaterThan(3600);
  });

  test('a value of any length is quoted in at most 32 characters', async () => {
    const id = randomUUID();
    await redis.hset(key(id), { ...wellFormed(), currency: `ZZ${'<script>'.repeat(5_000)}` });
    const found = await cache.lookup(id, 'USD');
    expect(found).toEqual({ malformed: expect.stringMatching(/^currency "ZZ(<script>){3}<scrip"\.\.\. \(40002 characters\) is not the account's \(USD\)$/) });
  });

  test('a string where the hash should be: lookup throws WRONGTYPE (isWrongType), and the refresh of it and of its neighbours lands', async () => {
    const id = randomUUID();
    const neighbour = randomUUID();
    await redis.set(key(id), 'not a balance hash');
    const thrown = await cache.lookup(id, 'USD').catch((error: unknown) => error);
    expect(isWrongType(thrown)).toBe(true);
    await cache.refresh([figure(neighbour, 1n), figure(id, 3n)]);
    expect(await cache.read(id)).toMatchObject({ rev: 3n, balance: 7n });
    expect(await cache.read(neighbour)).toMatchObject({ rev: 1n });
  });

  test('a well-formed entry that never expires (ours always do) is replaced by an older rev', async () => {
    const id = randomUUID();
    await redis.hset(key(id), wellFormed()); // rev INT64_MAX, no TTL
    expect(await redis.ttl(key(id))).toBe(-1);
    expect(await cache.lookup(id, 'USD')).toEqual({ figure: expect.objectContaining({ rev: BigInt(INT64_MAX), balance: 5n }) });
    await cache.refresh([figure(id, 3n)]);
    expect(await cache.read(id)).toMatchObject({ rev: 3n, balance: 7n });
  });

  test('a well-formed entry with a TTL is still the newer one: an older rev does not replace it, the largest rev included', async () => {
    const id = randomUUID();
    await cache.refresh([figure(id, BigInt(INT64_MAX), 5n)]);
    await cache.refresh([figure(id, 3n)]);
    expect(await cache.read(id)).toMatchObject({ rev: BigInt(INT64_MAX), balance: 5n });
    const negative = randomUUID();
    await cache.refresh([{ ...figure(negative, 4n), balance: -9223372036854775808n }]);
    await cache.refresh([figure(negative, 3n)]);
    expect(await cache.lookup(negative, 'USD')).toEqual({ figure: expect.objectContaining({ rev: 4n, balance: -9223372036854775808n }) });
  });

  test('lookup without a currency does not compare it; a miss is null', async () => {
    const id = randomUUID();
    await cache.refresh([{ ...figure(id, 1n), currency: 'EUR' }]);
    expect(await cache.lookup(id)).toEqual({ figure: expect.objectContaining({ currency: 'EUR' }) });
    expect(await cache.lookup(id, 'USD')).toEqual({ malformed: expect.stringMatching(/^currency "EUR" is not the account's/) });
    expect(await cache.lookup(randomUUID(), 'USD')).toBeNull();
  });

  test('drop removes the entry', async () => {
    const id = randomUUID();
    await cache.refresh([figure(id, 1n)]);
    await cache.drop(id);
    expect(await redis.exists(key(id))).toBe(0);
  });
});

describe('AcceptedTransfers: a record none of our writers wrote reads as none, and says why', () => {
  const accepted = new AcceptedTransfers(redis, prefix, 300);
  const key = (id: string) => `${prefix}acc:${id}`;

  test('not JSON, not an object, another id\'s, without a resource; a hash at the key throws WRONGTYPE; a real record still reads', async () => {
    const cases: [string, (id: string) => Promise<unknown>, RegExp][] = [
      ['not JSON', (id) => redis.set(key(id), `{${'x'.repeat(10_000)}`), /^not JSON: "\{x{31}"\.\.\. \(10001 characters\)$/],
      ['not an object', (id) => redis.set(key(id), '[1,2]'), /^not a JSON object/],
      ['another id\'s', (id) => redis.set(key(id), JSON.stringify({ id: randomUUID(), principal: 'a', requestHash: 'h', resource: {} })), /^the record of another id/],
      ['no resource', (id) => redis.set(key(id), JSON.stringify({ id, principal: 'a', requestHash: 'h', resource: 'COMPLETED' })), /^resource is not an object$/],
    ];
    for (const [what, write, why] of cases) {
      const id = randomUUID();
      await write(id);
      expect({ what, found: await accepted.lookupAccepted(id) }).toEqual({ what, found: { malformed: expect.stringMatching(why) } });
      expect(await accepted.getAccepted(id)).toBeNull();
    }
    const hashed = randomUUID();
    await redis.hset(key(hashed), { id: hashed });
    expect(isWrongType(await accepted.lookupAccepted(hashed).catch((error: unknown) => error))).toBe(true);
    const id = randomUUID();
    const record = { id, principal: 'alice', requestHash: 'h', resource: { id, status: 'ACCEPTED' } };
    await accepted.putAccepted(record);
    expect(await accepted.lookupAccepted(id)).toEqual({ record });
    const garbled = randomUUID();
    await redis.set(key(garbled), 'garbled');
    expect(await accepted.lookupAcceptedMany([id, garbled, randomUUID()])).toEqual([{ record }, { malformed: expect.stringMatching(/^not JSON/) }, null]);
  });

  test('a key of another type does not keep its record, or the records written after it in the same call, out (an outside review)', async () => {
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    await redis.hset(key(ids[1]!), { id: ids[1]! });
    await redis.sadd(key(ids[2]!), 'x');
    const records = ids.map((id) => ({ id, principal: 'alice', requestHash: 'h', resource: { id, status: 'ACCEPTED' } }));
    await accepted.putAcceptedMany(records);
    expect(await accepted.lookupAcceptedMany(ids)).toEqual(records.map((record) => ({ record })));
    // The applied mark still keeps a record out.
    await accepted.markApplied([ids[0]!]);
    await accepted.putAcceptedMany(records.slice(0, 1));
    expect(await accepted.getAccepted(ids[0]!)).toBeNull();
  });
});
