// Proves the Redis adapter against a real Redis: the versioned balance refresh never goes back, survives SCRIPT FLUSH, idempotency claims behave, one PUBLISH wakes a long-poll waiter, and an auto-pipelined connection answers each command on its own.
import { randomBytes, randomUUID } from 'node:crypto';
import {
  APPLIED_MARK,
  APPLIED_MARK_TTL_S,
  AcceptedTransfers,
  BalanceCache,
  StatusNotifier,
  TransferStatusWaiter,
  createRedis,
  createSubscriber,
  ping,
  waitUntilReady,
} from '../src';

const url = process.env.REDIS_URL;
if (!url) throw new Error('REDIS_URL must point at the test Redis (npm test sets it)');
const prefix = `t:${randomBytes(4).toString('hex')}:`;
const redis = createRedis(url);
const subscriber = createSubscriber(url);

beforeAll(async () => {
  await waitUntilReady(redis, 5_000);
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  subscriber.disconnect();
});

// rev = seq unless said otherwise: the cache is versioned by rev (a hold bumps rev, not seq).
const balance = (accountId: string, value: bigint, seq: bigint, held = 0n, rev = seq) => ({
  accountId,
  currency: 'USD',
  balance: value,
  seq,
  held,
  rev,
  asOf: new Date().toISOString(),
});

describe('BalanceCache', () => {
  const cache = new BalanceCache(redis, prefix);

  test('a hold (same seq, newer rev) replaces the figure; an older rev never does', async () => {
    const id = randomUUID();
    await cache.refresh([balance(id, 500n, 5n, 0n, 7n)]);
    await cache.refresh([balance(id, 500n, 5n, 200n, 8n)]);
    expect(await cache.read(id)).toMatchObject({ balance: 500n, seq: 5n, held: 200n, rev: 8n });
    await cache.refresh([balance(id, 500n, 5n, 0n, 7n)]); // the stale figure, from before the hold
    expect(await cache.read(id)).toMatchObject({ held: 200n, rev: 8n });
  });

  it('never replaces a newer seq with an older one', async () => {
    const id = randomUUID();
    await cache.refresh([balance(id, 500n, 5n)]);
    await cache.refresh([balance(id, 300n, 3n)]);
    expect(await cache.read(id)).toMatchObject({ balance: 500n, seq: 5n, currency: 'USD' });
    await cache.refresh([balance(id, 300n, 5n)]); // same seq: stays as written first
    expect((await cache.read(id))?.balance).toBe(500n);
    await cache.refresh([balance(id, -600n, 6n)]);
    expect(await cache.read(id)).toMatchObject({ balance: -600n, seq: 6n });
  });

  it('compares revs of different lengths by value: 10 is newer than 9, and 9 never replaces 10', async () => {
    // The script compares canonical decimal strings: by length first, then by character. By
    // character alone "10" < "9": an account's figure would stick at rev 9, and a stale rev 9
    // would replace rev 10.
    const id = randomUUID();
    await cache.refresh([balance(id, 90n, 9n)]);
    await cache.refresh([balance(id, 100n, 10n)]);
    expect(await cache.read(id)).toMatchObject({ balance: 100n, rev: 10n });
    await cache.refresh([balance(id, 90n, 9n)]); // the stale figure
    expect(await cache.read(id)).toMatchObject({ balance: 100n, rev: 10n });
    await cache.refresh([balance(id, 1_000n, 100n)]);
    expect(await cache.read(id)).toMatchObject({ balance: 1_000n, rev: 100n });
    await cache.refresh([balance(id, 990n, 99n)]);
    expect(await cache.read(id)).toMatchObject({ balance: 1_000n, rev: 100n });
  });

  it('compares seq exactly beyond 2^53 and writes many accounts per call', async () => {
    const big = randomUUID();
    await cache.refresh([balance(big, 1n, 9007199254740993n)]);
    await cache.refresh([balance(big, 2n, 9007199254740992n)]);
    expect((await cache.read(big))?.seq).toBe(9007199254740993n);

    const small = new BalanceCache(redis, prefix, { accountsPerCallMax: 7 });
    const ids = Array.from({ length: 30 }, () => randomUUID());
    await small.refresh(ids.map((id, i) => balance(id, BigInt(i), 1n)));
    const read = await Promise.all(ids.map((id) => small.read(id)));
    expect(read.map((r) => r?.balance)).toEqual(ids.map((_, i) => BigInt(i)));
  });

  it('sets a TTL on every written key', async () => {
    const id = randomUUID();
    await new BalanceCache(redis, prefix, { ttlS: 120 }).refresh([balance(id, 1n, 1n)]);
    const ttl = await redis.ttl(`${prefix}bal:${id}`);
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);
  });

  it('recovers from NOSCRIPT after SCRIPT FLUSH', async () => {
    const id = randomUUID();
    await cache.refresh([balance(id, 1n, 1n)]);
    await redis.script('FLUSH');
    await cache.refresh([balance(id, 2n, 2n)]);
    expect(await cache.read(id)).toMatchObject({ balance: 2n, seq: 2n });
  });

  it('a miss is null', async () => {
    expect(await cache.read(randomUUID())).toBeNull();
  });
});

describe('AcceptedTransfers', () => {
  it('stores and returns the record with a TTL', async () => {
    const accepted = new AcceptedTransfers(redis, prefix, 300);
    const id = randomUUID();
    const record = { id, principal: 'alice', requestHash: 'h', resource: { id, status: 'ACCEPTED', amount: '10' } };
    await accepted.putAccepted(record);
    expect(await accepted.getAccepted(id)).toEqual(record);
    expect(await redis.ttl(`${prefix}acc:${id}`)).toBeGreaterThan(200);
    expect(await accepted.getAccepted(randomUUID())).toBeNull();
  });

  it('stores many records in script calls, each readable alone with its TTL, after the scripts were flushed', async () => {
    const accepted = new AcceptedTransfers(redis, prefix, 300);
    const records = Array.from({ length: 7 }, (_, i) => {
      const id = randomUUID();
      return { id, principal: 'alice', requestHash: `h${i}`, resource: { id, status: 'ACCEPTED', amount: String(i + 1), description: 'snow \u2603' } };
    });
    await redis.script('FLUSH'); // the first call meets NOSCRIPT and falls back to EVAL
    await accepted.putAcceptedMany(records, 3); // three calls: 3, 3 and 1 records
    expect(await Promise.all(records.map((r) => accepted.getAccepted(r.id)))).toEqual(records);
    for (const r of records) {
      const ttl = await redis.ttl(`${prefix}acc:${r.id}`);
      expect(ttl).toBeGreaterThan(200);
      expect(ttl).toBeLessThanOrEqual(300);
    }
    const single = records[0]!;
    const again = { ...single, id: randomUUID() };
    await accepted.putAcceptedMany([again]);
    expect(await accepted.getAccepted(again.id)).toEqual(again);
    await accepted.putAcceptedMany([]);
    await expect(accepted.putAcceptedMany(records, 0)).rejects.toThrow(RangeError);
  });

  it('marks applied commands: their records replaced for APPLIED_MARK_TTL_S, and a record written after the mark kept out', async () => {
    const accepted = new AcceptedTransfers(redis, prefix, 300);
    const recordOf = (id: string) => ({ id, principal: 'alice', requestHash: 'h', resource: { id, status: 'ACCEPTED', amount: '1' } });
    const applied = randomUUID(); // its record written, then its command applied
    const early = randomUUID(); // applied before the API's write arrived
    const earlyInBatch = [randomUUID(), randomUUID()];
    const waiting = randomUUID(); // not applied: its record stays
    await accepted.putAccepted(recordOf(applied));
    await redis.script('FLUSH'); // the mark's first call meets NOSCRIPT and falls back to EVAL
    await accepted.markApplied([applied, early, ...earlyInBatch], 2); // two calls
    // The API's writes that lost the race with the worker: refused by the mark.
    await accepted.putAccepted(recordOf(early));
    await accepted.putAcceptedMany([...earlyInBatch, waiting].map(recordOf));
    for (const id of [applied, early, ...earlyInBatch]) {
      expect([id, await redis.get(`${prefix}acc:${id}`)]).toEqual([id, APPLIED_MARK]);
      const ttl = await redis.ttl(`${prefix}acc:${id}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(APPLIED_MARK_TTL_S);
    }
    // The mark reads as no record, alone and in a batch's lookup, and is not malformed.
    expect(await accepted.getAccepted(applied)).toBeNull();
    expect(await accepted.lookupAccepted(early)).toBeNull();
    expect(await accepted.lookupAcceptedMany([applied, waiting])).toEqual([null, { record: recordOf(waiting) }]);
    await accepted.markApplied([]);
    await expect(accepted.markApplied([waiting], 0)).rejects.toThrow(RangeError);
  });

  it('writes a record over anything but the mark: a value none of our writers wrote does not keep it out', async () => {
    const accepted = new AcceptedTransfers(redis, prefix, 300);
    const recordOf = (id: string) => ({ id, principal: 'alice', requestHash: 'h', resource: { id, status: 'ACCEPTED', amount: '1' } });
    const alone = randomUUID();
    const inBatch = [randomUUID(), randomUUID()];
    for (const id of [alone, ...inBatch]) await redis.set(`${prefix}acc:${id}`, 'garbage'); // no TTL: it would stay for good
    await accepted.putAccepted(recordOf(alone));
    await accepted.putAcceptedMany(inBatch.map(recordOf));
    for (const id of [alone, ...inBatch]) {
      expect(await accepted.getAccepted(id)).toEqual(recordOf(id));
      expect(await redis.ttl(`${prefix}acc:${id}`)).toBeGreaterThan(200);
    }
  });

  it('reads many records in their order, in MGET calls: none for ids without one, and none for a record that is not its id\'s', async () => {
    const accepted = new AcceptedTransfers(redis, prefix, 300);
    const records = Array.from({ length: 5 }, (_, i) => {
      const id = randomUUID();
      return { id, principal: 'alice', requestHash: `h${i}`, resource: { id, status: 'ACCEPTED', amount: String(i + 1) } };
    });
    await accepted.putAcceptedMany(records);
    const unknown = randomUUID();
    const misfiled = randomUUID(); // holds another id's record: read as none, as getAccepted does
    await redis.set(`${prefix}acc:${misfiled}`, JSON.stringify(records[0]), 'EX', 300);
    const garbled = randomUUID();
    await redis.set(`${prefix}acc:${garbled}`, '{not json', 'EX', 300);
    const ids = [records[3]!.id, unknown, records[0]!.id, misfiled, garbled, records[4]!.id, records[1]!.id];
    const expected = [records[3], null, records[0], null, null, records[4], records[1]];
    expect(await accepted.getAcceptedMany(ids, 2)).toEqual(expected); // four calls: 2, 2, 2 and 1 ids
    expect(await accepted.getAcceptedMany(ids)).toEqual(expected);
    expect(await Promise.all(ids.map((id) => accepted.getAccepted(id)))).toEqual(expected);
    expect(await accepted.getAcceptedMany([])).toEqual([]);
    await expect(accepted.getAcceptedMany(ids, 0)).rejects.toThrow(RangeError);
  });
});

describe('status notifications', () => {
  const terminalInStore = new Set<string>();
  const waiter = new TransferStatusWaiter(subscriber, prefix, {
    waitersMax: 3,
    recheckMs: 200,
    areTerminal: async (ids) => new Set(ids.filter((id) => terminalInStore.has(id))),
  });
  const notifier = new StatusNotifier(redis, prefix);

  beforeAll(async () => {
    await waiter.start(5_000);
  });
  afterAll(() => waiter.close());

  it('one PUBLISH wakes the waiters of every id in it', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const ha = waiter.register(a)!;
    const hb = waiter.register(b)!;
    const outcomes = Promise.all([ha.until(10_000), hb.until(10_000)]);
    await notifier.publishTerminal([a, b]);
    // Woken by the message: neither id is in terminalInStore, so the re-check never reports
    // them, and without the message each would end as 'timeout'.
    expect(await outcomes).toEqual(['terminal', 'terminal']);
    expect([terminalInStore.has(a), terminalInStore.has(b)]).toEqual([false, false]);
    expect(waiter.waiting).toBe(0);
  });

  it('times out when nothing happens, and the safety re-check finds what pub/sub missed', async () => {
    const quiet = waiter.register(randomUUID())!;
    expect(await quiet.until(50)).toBe('timeout');
    const missed = randomUUID();
    const handle = waiter.register(missed)!;
    terminalInStore.add(missed); // terminal in the store, but no message was published
    expect(await handle.until(5_000)).toBe('terminal');
  });

  it('refuses to register past waitersMax, and cancel frees a slot', async () => {
    const handles = [1, 2, 3].map(() => waiter.register(randomUUID()));
    expect(handles.every(Boolean)).toBe(true);
    expect(waiter.register(randomUUID())).toBeNull();
    handles[0]!.cancel();
    const again = waiter.register(randomUUID());
    expect(again).not.toBeNull();
    for (const h of [...handles, again]) h?.cancel();
    expect(waiter.waiting).toBe(0);
  });

  it('ping answers while Redis is up', async () => {
    await expect(ping(redis)).resolves.toBeUndefined();
  });
});

describe('auto-pipelined connection (the API\'s)', () => {
  const pipelined = createRedis(url, { autoPipelining: true });
  beforeAll(() => waitUntilReady(pipelined, 5_000));
  afterAll(() => pipelined.disconnect());

  it('commands issued together are each answered with their own result, Lua and NOSCRIPT recovery included', async () => {
    const cache = new BalanceCache(pipelined, prefix);
    const accepted = new AcceptedTransfers(pipelined, prefix, 300);
    const ids = Array.from({ length: 20 }, () => randomUUID());
    await pipelined.script('FLUSH');
    await Promise.all(ids.map((id, i) => cache.refresh([balance(id, BigInt(i), 1n)])));
    const records = ids.map((id) => ({ id, principal: 'alice', requestHash: 'h', resource: { id, status: 'ACCEPTED', amount: '1' } }));
    // Single SETs and script calls (NOSCRIPT once: the scripts were flushed) in one pipeline.
    await Promise.all([...records.slice(0, 5).map((record) => accepted.putAccepted(record)), accepted.putAcceptedMany(records.slice(5, 12)), accepted.putAcceptedMany(records.slice(12))]);
    const [balances, stored] = await Promise.all([Promise.all(ids.map((id) => cache.read(id))), Promise.all(ids.map((id) => accepted.getAccepted(id)))]);
    expect(balances.map((b) => b?.balance)).toEqual(ids.map((_, i) => BigInt(i)));
    expect(stored).toEqual(records);
  });

  it('a command that fails rejects alone; its neighbours in the pipeline succeed', async () => {
    const key = `${prefix}plain:${randomUUID()}`;
    await pipelined.set(key, 'not a hash');
    const sent = [pipelined.get(key), pipelined.hget(key, 'field'), pipelined.ping()];
    expect(pipelined.autoPipelineQueueSize).toBe(3); // one pipeline, sent at the end of this turn
    const outcomes = await Promise.allSettled(sent);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason.message).toMatch(/WRONGTYPE/);
  });

  it('with Redis down every command still fails instead of queueing', async () => {
    const dead = createRedis('redis://127.0.0.1:1', { autoPipelining: true });
    try {
      const outcomes = await Promise.allSettled([new BalanceCache(dead, prefix).read(randomUUID()), ping(dead), dead.get('k')]);
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    } finally {
      dead.disconnect();
    }
  });
});

describe('Redis down', () => {
  it('commands fail fast instead of queueing', async () => {
    const dead = createRedis('redis://127.0.0.1:1');
    try {
      // Refused at once by ioredis itself, not queued until a reconnect gives up: the
      // connection has no offline queue (a queued command fails later, with another message).
      const notQueued = /Stream isn't writeable and enableOfflineQueue options is false/;
      await expect(new BalanceCache(dead, prefix).read(randomUUID())).rejects.toThrow(notQueued);
      await expect(ping(dead)).rejects.toThrow(notQueued);
    } finally {
      dead.disconnect();
    }
  });
});
