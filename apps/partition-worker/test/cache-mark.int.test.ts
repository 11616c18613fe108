// Proves that no cached balance stays behind the ledger when the worker that committed the
// change died before its refresh reached Redis (docs/design.md, invariant 9; cache-mark.ts).
//
// Before the cache mark, a worker killed between a commit and its refresh (the window
// FAULT_INJECT=crash-after-commit opens on purpose), or stopped while Redis was refusing and
// refreshes were owed, left those accounts' cached balances behind: `GET /balance` answered
// the older figure until the account changed again or the key expired (24 h), and reconcile,
// which allows a cache behind, said nothing.
import type Redis from 'ioredis';
import { BalanceCache, createRedis, waitUntilReady } from '@ledgerline/redis';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { TestPublisher, balanceOf, deposit, openAccount } from '../../../test/support/ledger';
import { testServices } from '../../../test/support/env';
import { claimPartition, databaseNow } from '@ledgerline/postgres';
import { type CacheMarkPorts, CatchUpPasses, PartitionCacheMark } from '../src/cache-mark';
import { type WorkerTarget, exited, freePort, spawnWorker, startWorker, waitFor } from '../../../test/support/worker';

describe('the cache mark', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let target: WorkerTarget;
  let publisher: TestPublisher;
  let redis: Redis;
  let cache: BalanceCache;
  const marks = { WORKER_CACHE_MARK_INTERVAL_MS: '200' };

  /** Whether the partition committed a batch at or after its cache mark (its cache may be behind). */
  async function markBehind(): Promise<boolean> {
    const r = await db.pool.query('SELECT cache_behind_since <= updated_at AS behind FROM partition_state WHERE topic = $1 AND partition = 0', [topics.names.commands]);
    return r.rows[0].behind as boolean;
  }

  /** A cache mark of partition 0 driven by the test: every refresh landed, none dropped, unless `ports` says otherwise. */
  function markOf(ports: Partial<CacheMarkPorts> & Pick<CacheMarkPorts, 'sendBalances'>): PartitionCacheMark {
    return new PartitionCacheMark(0, { pool: db.pool, cacheTtlS: 3600, refreshesLanded: async () => true, refreshesDropped: () => 0, log: () => undefined, ...ports });
  }

  beforeAll(async () => {
    db = await createTestDatabase(1);
    topics = await createTestTopics(1);
    target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
    redis = createRedis(testServices().redisUrl);
    await waitUntilReady(redis, 5_000);
    publisher = await TestPublisher.create(topics, db.pool);
    cache = new BalanceCache(redis, target.redisKeyPrefix);
  });

  afterAll(async () => {
    await publisher.stop();
    redis.disconnect();
    await topics.delete();
    await db.drop();
  });

  test('a worker killed between its commit and its refresh: the next owner catches the cached balance up, then moves the mark', async () => {
    const account = await openAccount(db.pool, 'frank');
    const first = await startWorker(target, marks);
    try {
      await publisher.publish(deposit(account, 100n));
      await waitFor('the first balance cached', async () => (await cache.read(account))?.balance === 100n);
      // Its refresh landed, so the owner moves the mark past its batch.
      await waitFor('the mark past the first batch', async () => !(await markBehind()));
    } finally {
      await first.stop();
    }
    expect(first.fatal).toEqual([]);

    await publisher.publish(deposit(account, 50n));
    const crashing = spawnWorker(target, { ...marks, FAULT_INJECT: 'crash-after-commit', WORKER_ID: 'crashing-worker' });
    expect((await exited(crashing)).signal).toBe('SIGKILL');
    // The fault is real: the deposit is committed, and the cache still shows the balance before it.
    expect(await balanceOf(db.pool, account)).toBe(150n);
    expect((await cache.read(account))?.balance).toBe(100n);
    expect(await markBehind()).toBe(true);

    const next = await startWorker(target, marks);
    try {
      await waitFor('the cache caught up with the committed deposit', async () => (await cache.read(account))?.balance === 150n, 20_000);
      expect((await cache.read(account))?.seq).toBe(2n);
      await waitFor('the mark past the crashed batch', async () => !(await markBehind()));
    } finally {
      await next.stop();
    }
    expect(next.fatal).toEqual([]);
  });

  test('the mark stays behind a refresh Redis did not take, and a worker with nothing to fetch catches the cache up', async () => {
    const account = await openAccount(db.pool, 'grace');
    const seeded = await startWorker(target, marks);
    try {
      await publisher.publish(deposit(account, 10n));
      await waitFor('the first balance cached', async () => (await cache.read(account))?.balance === 10n);
      await waitFor('the mark past it', async () => !(await markBehind()));
    } finally {
      await seeded.stop();
    }

    // A worker whose Redis never answers: every refresh is owed, and dropped when it stops.
    const redisless = await startWorker(target, { ...marks, REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    try {
      await publisher.publish(deposit(account, 5n));
      await waitFor('the deposit committed', async () => (await balanceOf(db.pool, account)) === 15n);
      // Ten rounds of the mark's timer: none may pass a batch whose refresh is owed.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(await markBehind()).toBe(true);
    } finally {
      await redisless.stop();
    }
    expect((await cache.read(account))?.balance).toBe(10n);

    // Its stop committed the group's offset: the next owner has nothing to fetch, and only
    // the mark tells it that the partition's cache may be behind.
    const next = await startWorker(target, marks);
    try {
      await waitFor('the cache caught up', async () => (await cache.read(account))?.balance === 15n, 20_000);
      await waitFor('the mark past the deposit', async () => !(await markBehind()));
    } finally {
      await next.stop();
    }
    expect(next.fatal).toEqual([]);
  });

  test("a worker's stop moves the mark once more: the next owner's catch-up starts from the stop, not from its last tick", async () => {
    const account = await openAccount(db.pool, 'ivan');
    // No tick within the test: only the stop's last round can move the mark.
    // The stop's bound raised: on a busy machine (a chaos run beside the suite) its 1 s default
    // was once too short, and a mark not moved then is allowed, not what this test is about.
    const worker = await startWorker(target, { WORKER_CACHE_MARK_INTERVAL_MS: '600000', WORKER_STOP_CACHE_MARK_TIMEOUT_MS: '30000' });
    try {
      await publisher.publish(deposit(account, 7n));
      await waitFor('the deposit cached', async () => (await cache.read(account))?.balance === 7n);
      expect(await markBehind()).toBe(true);
    } finally {
      await worker.stop();
    }
    expect(worker.fatal).toEqual([]);
    expect(await markBehind()).toBe(false);
  });

  test('the mark is an instant read before the applier is waited for, and moves only after a catch-up of its own claim', async () => {
    await openAccount(db.pool, 'heidi'); // at least one account changed since the mark below
    await claimPartition(db.pool, topics.names.commands, 0, 'an-earlier-owner'); // the row exists (when run alone)
    // A mark an hour back, and a batch since it.
    await db.pool.query(`UPDATE partition_state SET cache_behind_since = now() - interval '1 hour', updated_at = now() WHERE topic = $1 AND partition = 0`, [topics.names.commands]);
    const claim = await claimPartition(db.pool, topics.names.commands, 0, 'mark-test');
    const sent: string[][] = [];
    const mark = markOf({ sendBalances: async (balances) => void sent.push(balances.map((b) => b.accountId)) });
    const betweenWrites = { calls: 0, at: '' };
    const waitForWrites = async () => {
      betweenWrites.calls++;
      betweenWrites.at = await databaseNow(db.pool);
      return true;
    };
    // Not caught up for this claim: the first step starts the catch-up and moves nothing.
    expect(await mark.advance(claim, waitForWrites)).toBe(false);
    expect(betweenWrites.calls).toBe(0);
    await mark.settled();
    // Every account changed since that mark (this one, and those of the tests above), its figure sent again.
    const changed = await db.pool.query(`SELECT id FROM accounts WHERE updated_at >= now() - interval '1 hour'`);
    expect(sent.flat().sort()).toEqual(changed.rows.map((r) => r.id as string).sort());
    expect(changed.rows.length).toBeGreaterThan(0);
    expect(await mark.advance(claim, waitForWrites)).toBe(true);
    expect(betweenWrites.calls).toBe(1);
    const row = await db.pool.query(
      'SELECT cache_behind_since <= $2::timestamptz AS before_the_wait FROM partition_state WHERE topic = $1 AND partition = 0',
      [topics.names.commands, betweenWrites.at],
    );
    // A batch that began after the mark's instant was still to come when the applier was
    // waited for; one that began before it had been sent, and the wait covered it.
    expect(row.rows[0].before_the_wait).toBe(true);
    // A newer claim (another owner) fences the step.
    await claimPartition(db.pool, topics.names.commands, 0, 'someone-else');
    await db.pool.query('UPDATE partition_state SET updated_at = now() WHERE topic = $1 AND partition = 0', [topics.names.commands]);
    expect(await mark.advance(claim, waitForWrites)).toBe(false);
  });
  test('a refresh dropped after the mark moved is caught up from the mark, not again from the claim', async () => {
    await openAccount(db.pool, 'ivan'); // changed an hour after the mark below
    await claimPartition(db.pool, topics.names.commands, 0, 'an-earlier-owner');
    await db.pool.query(`UPDATE partition_state SET cache_behind_since = now() - interval '1 hour', updated_at = now() WHERE topic = $1 AND partition = 0`, [topics.names.commands]);
    const claim = await claimPartition(db.pool, topics.names.commands, 0, 'drop-test');
    const sent: string[][] = [];
    let dropped = 0;
    const mark = markOf({ sendBalances: async (balances) => void sent.push(balances.map((b) => b.accountId)), refreshesDropped: () => dropped });
    expect(await mark.advance(claim, async () => true)).toBe(false);
    await mark.settled();
    expect(sent.flat().length).toBeGreaterThan(0);
    expect(await mark.advance(claim, async () => true)).toBe(true);

    // Later, with no account changed since the mark moved, Redis drops a figure owed for a
    // change after it: the catch-up covers what changed since the mark, not the claim's hour.
    const changedAfter = async () => (await db.pool.query(`SELECT id FROM accounts WHERE updated_at >= (SELECT cache_behind_since FROM partition_state WHERE topic = $1 AND partition = 0)`, [topics.names.commands])).rows.map((r) => r.id as string);
    sent.length = 0;
    dropped++;
    expect(await mark.advance(claim, async () => true)).toBe(false);
    await mark.settled();
    expect(sent.flat().sort()).toEqual((await changedAfter()).sort());
  });
  /** A claim of partition 0 whose mark is an hour back, with a batch since it. */
  async function claimWithMarkAnHourBack(owner: string) {
    await claimPartition(db.pool, topics.names.commands, 0, 'an-earlier-owner'); // the row exists (when run alone)
    await db.pool.query(`UPDATE partition_state SET cache_behind_since = now() - interval '1 hour', updated_at = now() WHERE topic = $1 AND partition = 0`, [topics.names.commands]);
    return claimPartition(db.pool, topics.names.commands, 0, owner);
  }

  test('a catch-up reads the accounts table a range of blocks per statement, and finds the changed accounts of every range, the last one included', async () => {
    // 600 accounts in new blocks, in order; three changed since the mark (the first, one
    // in the middle, the last), the rest two hours before it.
    await db.pool.query(`INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, updated_at)
      SELECT gen_random_uuid(), 'ranges-' || g, 'USER', 'USD', 0,
             CASE WHEN g IN (1, 300, 600) THEN now() ELSE now() - interval '2 hours' END
        FROM generate_series(1, 600) AS g`);
    const step = 2;
    const blocks = Number((await db.pool.query(`SELECT (pg_relation_size('accounts') / current_setting('block_size')::int8)::int8 AS n`)).rows[0].n);
    const lastBlock = Number((await db.pool.query(`SELECT (ctid::text::point)[0] AS block FROM accounts WHERE owner = 'ranges-600'`)).rows[0].block);
    expect(blocks).toBeGreaterThanOrEqual(4 * step); // several ranges
    expect(lastBlock).toBeGreaterThanOrEqual(blocks - step); // in the last range
    const claim = await claimWithMarkAnHourBack('ranges-test');
    const sent: string[][] = [];
    const mark = markOf({ sendBalances: async (balances) => void sent.push(balances.map((b) => b.accountId)), catchUpBlocks: step });
    expect(await mark.advance(claim, async () => true)).toBe(false);
    await mark.settled();
    const changed = await db.pool.query(`SELECT id, owner FROM accounts WHERE updated_at >= now() - interval '1 hour'`);
    expect(changed.rows.filter((r) => String(r.owner).startsWith('ranges-')).map((r) => r.owner).sort()).toEqual(['ranges-1', 'ranges-300', 'ranges-600']);
    expect(sent.flat().sort()).toEqual(changed.rows.map((r) => r.id as string).sort());
    expect(await mark.advance(claim, async () => true)).toBe(true);
  });

  test('a catch-up during which the accounts table is rewritten (VACUUM FULL, CLUSTER, pg_repack) is not done: its blocks are not the same rows', async () => {
    // The table's live rows packed anew (what a rewrite leaves of those already here), then
    // 40-odd blocks of rows changed before the mark, an account changed since it, and the
    // rows before it written again (same figures) past it: their first versions are dead
    // space below it, which a rewrite reclaims.
    await db.pool.query('VACUUM FULL accounts');
    const blocksOf = async () => Number((await db.pool.query(`SELECT (pg_relation_size('accounts') / current_setting('block_size')::int8)::int8 AS n`)).rows[0].n);
    const step = (await blocksOf()) + 2; // the first range holds everything a rewrite below leaves
    await db.pool.query(`INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, updated_at)
      SELECT gen_random_uuid(), 'rewrite-' || g, 'USER', 'USD', 0, now() - interval '2 hours' FROM generate_series(1, 2000) AS g`);
    const late = String((await db.pool.query(`INSERT INTO accounts (id, owner, kind, currency, overdraft_limit) VALUES (gen_random_uuid(), 'rewrite-late', 'USER', 'USD', 0) RETURNING id`)).rows[0].id);
    await db.pool.query(`UPDATE accounts SET balance = balance WHERE owner LIKE 'rewrite-%' AND owner <> 'rewrite-late'`);
    expect(await blocksOf()).toBeGreaterThanOrEqual(3 * step);
    const claim = await claimWithMarkAnHourBack('rewrite-test');
    // The table is rewritten right after the catch-up's first range was read: the account
    // changed since the mark moves from the old file's last block to the new one's first.
    let ranges = 0;
    const pool = new Proxy(db.pool, {
      get(target, property, receiver) {
        if (property !== 'query') return Reflect.get(target, property, receiver);
        return async (...args: Parameters<typeof db.pool.query>) => {
          const result = await (target.query as (...a: unknown[]) => Promise<unknown>)(...args);
          if (String(args[0]).includes('ctid >=') && ++ranges === 1) await target.query('VACUUM FULL accounts');
          return result;
        };
      },
    });
    const sent = new Set<string>();
    const mark = markOf({ pool, sendBalances: async (balances) => balances.forEach((b) => sent.add(b.accountId)), catchUpBlocks: step, catchUpRetryMs: 100 });
    let moved = false;
    for (let steps = 0; steps < 30 && !moved; steps++) {
      moved = await mark.advance(claim, async () => true);
      await mark.settled();
      if (!moved) await new Promise((resolve) => setTimeout(resolve, 50));
      // Whenever the mark moves, every account changed since the mark it found was sent.
      if (moved) expect(sent.has(late)).toBe(true);
    }
    expect(ranges).toBeGreaterThan(1);
    expect(moved).toBe(true);
  });

  test('a failed catch-up is tried again after a wait, not at every step (each one reads the whole table)', async () => {
    await openAccount(db.pool, 'judy'); // changed since the mark below
    const claim = await claimWithMarkAnHourBack('retry-test');
    let attempts = 0;
    const mark = markOf({
      sendBalances: async () => {
        attempts++;
        if (attempts === 1) throw new Error('Redis refused');
      },
      catchUpRetryMs: 1_500,
    });
    expect(await mark.advance(claim, async () => true)).toBe(false);
    await mark.settled();
    expect(attempts).toBe(1);
    // Steps within the wait start nothing.
    for (let step = 0; step < 3; step++) {
      expect(await mark.advance(claim, async () => true)).toBe(false);
      await mark.settled();
    }
    expect(attempts).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    expect(await mark.advance(claim, async () => true)).toBe(false);
    await mark.settled();
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(await mark.advance(claim, async () => true)).toBe(true);
  });

  test("a claim's catch-up that fails after a newer claim was taken does not make the newer one's wait", async () => {
    await openAccount(db.pool, 'kim'); // changed since the mark below
    const first = await claimWithMarkAnHourBack('earlier-claim');
    let refuse!: () => void;
    const refused = new Promise<void>((resolve) => (refuse = resolve));
    let sends = 0;
    const mark = markOf({
      sendBalances: async () => {
        if (++sends === 1) {
          await refused;
          throw new Error('Redis refused');
        }
      },
      catchUpRetryMs: 60_000,
    });
    mark.claimed(first);
    await waitFor("the first claim's catch-up sending", async () => sends === 1, 10_000, 10);
    // The partition is claimed again (lost and taken back) while that catch-up runs: the new
    // claim's own cannot start until it ends, and then fails.
    const second = await claimPartition(db.pool, topics.names.commands, 0, 'later-claim');
    mark.claimed(second);
    refuse();
    await mark.settled();
    // The new claim's catch-up starts at its next step, as a new claim's does, not a minute later.
    expect(await mark.advance(second, async () => true)).toBe(false);
    await mark.settled();
    expect(sends).toBeGreaterThanOrEqual(2);
    expect(await mark.advance(second, async () => true)).toBe(true);
  });
  test("partitions claimed together share one pass over the accounts, from the earliest mark; a catch-up asked for during a pass gets the next", async () => {
    await openAccount(db.pool, 'kim'); // changed since the marks below
    const passes: string[] = [];
    const shared = new CatchUpPasses({ pool: db.pool, sendBalances: async () => undefined, cacheTtlS: 3600, log: () => undefined }, async (since) => {
      passes.push(since);
      await new Promise((resolve) => setTimeout(resolve, 300));
      return 0;
    });
    // Two partitions of one worker, their marks one and two hours back.
    const claims = [];
    for (const [partition, back] of [[0, '1 hour'], [1, '2 hours']] as const) {
      await claimPartition(db.pool, topics.names.commands, partition, 'an-earlier-owner');
      await db.pool.query(`UPDATE partition_state SET cache_behind_since = now() - interval '${back}', updated_at = now() WHERE topic = $1 AND partition = $2`, [topics.names.commands, partition]);
      claims.push(await claimPartition(db.pool, topics.names.commands, partition, 'shared-test'));
    }
    const marks = claims.map(
      (_, partition) => new PartitionCacheMark(partition, { pool: db.pool, sendBalances: async () => undefined, cacheTtlS: 3600, refreshesLanded: async () => true, refreshesDropped: () => 0, log: () => undefined, passes: shared }),
    );
    for (const [i, mark] of marks.entries()) mark.claimed(claims[i]!);
    await Promise.all(marks.map((mark) => mark.settled()));
    expect(passes).toEqual([claims[1]!.cacheBehindSince]); // one pass, from the earlier mark
    for (const [i, mark] of marks.entries()) expect(await mark.advance(claims[i]!, async () => true)).toBe(true);

    // While a pass runs, a new request waits for the next one, from its own instant.
    passes.length = 0;
    const first = shared.request(claims[0]!.cacheBehindSince);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the first pass has begun
    const second = shared.request(claims[1]!.cacheBehindSince);
    await first;
    expect(passes).toEqual([claims[0]!.cacheBehindSince]);
    await second;
    expect(passes).toEqual([claims[0]!.cacheBehindSince, claims[1]!.cacheBehindSince]);
  });
});
