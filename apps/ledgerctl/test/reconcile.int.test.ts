// Proves `ledgerctl reconcile` passes a consistent ledger and exits non-zero, naming the
// check, when a balance no longer equals its entries, money was created, an entry names
// no account, an account's entries go back in time as their seq grows, or the balance cache
// is ahead of Postgres or disagrees with it at the same revision; that with Redis out of
// reach it still runs the ledger's checks and says the cache's was skipped; and that Redis
// failing part-way through the cache's check (one account's key answering WRONGTYPE after
// others were read) is reported the same way: skipped, exit 0, never a crash or a mismatch;
// unless the accounts checked before the failure disagreed, which is reported (exit 1).
import { findAccount, loadRouting } from '@ledgerline/postgres';
import { createRedis, waitUntilReady } from '@ledgerline/redis';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { ledgerctlEnvFor, ledgerctlFor } from '../../../test/support/ledgerctl';
import { testServices } from '../../../test/support/env';
import { useTestLedger } from '../../../test/support/test-ledger';
import { TestPublisher, allTerminal, deposit, openAccountOn } from '../../../test/support/ledger';
import { startWorker, waitFor } from '../../../test/support/worker';


const ROOT = join(__dirname, '..', '..', '..');

describe('ledgerctl reconcile', () => {
  const ledger = useTestLedger(2);

  const ledgerctl = (args: string[], extra: Record<string, string> = {}) => ledgerctlFor({ databaseUrl: ledger.db.url, topicPrefix: ledger.topics.prefix })(args, extra);

  const reconcileCli = () => ledgerctl(['reconcile', '--no-progress']);

  /** reconcile's exit code when its reader closes the pipe (stdout and stderr, as `2>&1 | head`) before the first line. */
  const reconcileUnheard = async (extra: Record<string, string> = {}): Promise<number | null> => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'apps/ledgerctl/src/main.ts'), 'reconcile', '--no-progress'], {
      cwd: ROOT,
      env: { ...process.env, ...ledgerctlEnvFor({ databaseUrl: ledger.db.url, topicPrefix: ledger.topics.prefix }), ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    child.stderr.destroy();
    const [code] = (await once(child, 'exit')) as [number | null];
    return code;
  };

  test('a usage error exits 2, never 1 (which only reconcile gives, for a broken ledger); a partition count past the buckets is refused', async () => {
    const typo = await ledgerctl(['reconcile', '--no-chache']);
    expect([typo.code, typo.err]).toEqual([2, expect.stringContaining("unknown option '--no-chache'")]);
    const huge = await ledgerctl(['partitions', 'add', '--to', '1600']);
    expect([huge.code, huge.err]).toEqual([2, 'ledgerctl: --to must be in 1..1024, got 1600\n']);
    const both = await ledgerctl(['rebalance', '--plan', '--apply']);
    expect([both.code, both.err]).toEqual([2, 'ledgerctl: --plan and --apply exclude each other: --plan only prints, --apply moves\n']);
  });

  test('OK on a consistent ledger, exit 1 naming the broken checks otherwise', async () => {
    const routing = await loadRouting(ledger.db.pool);
    const account = await openAccountOn(ledger.db.pool, routing, 0, 'reconciled');
    let funding: ReturnType<typeof deposit>;
    const worker = await startWorker({ databaseUrl: ledger.db.url, topicPrefix: ledger.topics.prefix, redisKeyPrefix: `${ledger.topics.prefix}:` });
    const publisher = await TestPublisher.create(ledger.topics, ledger.db.pool);
    try {
      funding = deposit(account, 500n);
      await publisher.publish(funding);
      await waitFor('deposit applied', () => allTerminal(ledger.db.pool, [funding.transferId]));
    } finally {
      await publisher.stop();
      await worker.stop();
    }
    const clean = await reconcileCli();
    expect(clean.code).toBe(0);
    expect(clean.out).toMatch(/reconcile: OK\n/);
    expect(clean.out).toMatch(/cache-agrees\s+0/);

    // The balance cache: ahead of Postgres, or another figure at the same revision.
    const redis = createRedis(testServices().redisUrl);
    const cacheKey = `${ledger.topics.prefix}:bal:${account}`;
    try {
      await waitUntilReady(redis, 10_000);
      const row = (await findAccount(ledger.db.pool, account))!;
      const figure = await redis.hgetall(cacheKey);
      expect(figure.rev).toBe(row.rev.toString());
      await redis.hset(cacheKey, { rev: (row.rev + 1n).toString(), seq: (row.seq + 1n).toString(), balance: '501' });
      const ahead = await reconcileCli();
      expect(ahead.code).toBe(1);
      expect(ahead.out).toMatch(/cache-agrees\s+1\s+\S+: redis 501 \(held 0\) rev \d+, postgres 500 \(held 0\)/);
      await redis.hset(cacheKey, { ...figure, held: '3' });
      const differs = await reconcileCli();
      expect(differs.code).toBe(1);
      expect(differs.out).toMatch(/cache-agrees\s+1/);
      // An entry none of our writers could have written (the API ignores and removes it): a violation, saying why.
      await redis.hset(cacheKey, { ...figure, rev: '99999999999999999999999' });
      const malformed = await reconcileCli();
      expect(malformed.code).toBe(1);
      expect(malformed.out).toMatch(/cache-agrees\s+1\s+\S+: redis holds no figure of this account \(rev "9{23}" is not a decimal integer/);
      await redis.hset(cacheKey, figure);
      expect((await reconcileCli()).code).toBe(0);
    } finally {
      redis.disconnect();
    }

    // Redis out of reach: the ledger's checks still run; the cache's is reported skipped.
    const unreachable = await ledgerctl(['reconcile', '--no-progress'], { REDIS_URL: 'redis://127.0.0.1:1', CTL_REDIS_READY_WAIT_MS: '500' });
    expect(unreachable.code).toBe(0);
    expect(unreachable.out).toMatch(/conservation\s+0/);
    expect(unreachable.out).toMatch(/cache-agrees\s+skipped/);
    expect(unreachable.out).toMatch(/reconcile: OK \(cache-agrees skipped\)/);
    expect(unreachable.err).toMatch(/cache-agrees skipped: .*--no-cache skips it deliberately/);
    // Its note on stderr, to a reader that has gone (`2>&1 | head`), is not a violation either.
    expect(await reconcileUnheard({ REDIS_URL: 'redis://127.0.0.1:1', CTL_REDIS_READY_WAIT_MS: '500' })).toBe(0);

    // Money created out of thin air: a balance moved without an entry.
    await ledger.db.pool.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [account]);
    const broken = await reconcileCli();
    expect(broken.code).toBe(1);
    expect(broken.out).toMatch(/conservation\s+1/);
    expect(broken.out).toMatch(/balance-equals-entries\s+1/);
    // Read by a reader that stops at once (`reconcile | head -1`): the verdict is still the
    // exit code. It used to exit 0 at the first refused write.
    expect(await reconcileUnheard()).toBe(1);
    await ledger.db.pool.query('UPDATE accounts SET balance = balance - 1 WHERE id = $1', [account]);

    // Issue 13's invariants: held money no hold explains, a reversal total past the original,
    // a closed account still holding money.
    await ledger.db.pool.query('UPDATE accounts SET held = 7 WHERE id = $1', [account]);
    await ledger.db.pool.query('INSERT INTO transfer_reversals (transfer_id, reversed_amount) VALUES ($1, 600)', [funding.transferId]);
    await ledger.db.pool.query(`UPDATE accounts SET status = 'CLOSED' WHERE id = $1`, [account]);
    const issue13 = await reconcileCli();
    expect(issue13.code).toBe(1);
    expect(issue13.out).toMatch(/held-equals-active-holds\s+1/);
    expect(issue13.out).toMatch(/reversals-within-original\s+1/);
    expect(issue13.out).toMatch(/closed-accounts-empty\s+1/);
    expect(issue13.out).toMatch(/entry-accounts-exist\s+0/);

    // An entry for an account that does not exist: the entries trigger refuses one, so the
    // schema owner switches it off for this insert, to prove reconcile would see it anyway.
    await ledger.db.pool.query('ALTER TABLE entries DISABLE TRIGGER entries_name_accounts');
    await ledger.db.pool.query(
      `INSERT INTO entries (account_id, seq, transfer_id, leg, amount, balance_after, currency, partition)
       VALUES (gen_random_uuid(), 1, gen_random_uuid(), 'CREDIT', 1, 1, 'USD', 0)`,
    );
    await ledger.db.pool.query('ALTER TABLE entries ENABLE TRIGGER entries_name_accounts');
    const orphan = await reconcileCli();
    expect(orphan.code).toBe(1);
    expect(orphan.out).toMatch(/entry-accounts-exist\s+1/);
    expect(orphan.out).toMatch(/entry-times-ordered\s+0/);

    // Entries whose time goes back as seq grows (a clock stepped back): the time reads bisect
    // on that order, so reconcile names it. Balanced (+1, -1), so nothing else is wrong.
    const stepped = await openAccountOn(ledger.db.pool, routing, 1, 'reconciled');
    await ledger.db.pool.query(
      `INSERT INTO entries (account_id, seq, transfer_id, leg, amount, balance_after, currency, partition, created_at)
       VALUES ($1, 1, gen_random_uuid(), 'CREDIT', 1, 1, 'USD', 1, now()), ($1, 2, gen_random_uuid(), 'DEBIT', -1, 0, 'USD', 1, now() - interval '1 day')`,
      [stepped],
    );
    await ledger.db.pool.query('UPDATE accounts SET seq = 2 WHERE id = $1', [stepped]);
    const clock = await reconcileCli();
    expect(clock.code).toBe(1);
    expect(clock.out).toMatch(/entry-times-ordered\s+1/);
    expect(clock.out).toMatch(/seq-contiguous\s+0/);
    expect(clock.out).toMatch(/balance-equals-entries\s+0/);
  });
});


describe('ledgerctl reconcile, Redis failing part-way through the cache check', () => {
  const ledger = useTestLedger(2);

  const ledgerctl = (args: string[], extra: Record<string, string> = {}) => ledgerctlFor({ databaseUrl: ledger.db.url, topicPrefix: ledger.topics.prefix })(args, extra);

  test('one account answering WRONGTYPE after others answered: cache-agrees skipped, the ledger checked and OK, no mismatch, exit 0', async () => {
    // Three funded accounts, their balances cached by a real worker.
    const routing = await loadRouting(ledger.db.pool);
    const accounts = [
      await openAccountOn(ledger.db.pool, routing, 0, 'partway'),
      await openAccountOn(ledger.db.pool, routing, 1, 'partway'),
      await openAccountOn(ledger.db.pool, routing, 0, 'partway'),
    ].sort(); // reconcile walks accounts in id order
    const funding = accounts.map((id, i) => deposit(id, BigInt(100 * (i + 1))));
    const worker = await startWorker({ databaseUrl: ledger.db.url, topicPrefix: ledger.topics.prefix, redisKeyPrefix: `${ledger.topics.prefix}:` });
    const publisher = await TestPublisher.create(ledger.topics, ledger.db.pool);
    try {
      for (const command of funding) await publisher.publish(command);
      await waitFor('deposits applied', () => allTerminal(ledger.db.pool, funding.map((f) => f.transferId)));
    } finally {
      await publisher.stop();
      await worker.stop();
    }

    const redis = createRedis(testServices().redisUrl);
    const keyOf = (id: string) => `${ledger.topics.prefix}:bal:${id}`;
    const broken = accounts[1]!; // the middle one: the first account's figure is read before it fails
    try {
      await waitUntilReady(redis, 10_000);
      for (const id of accounts) {
        const row = (await findAccount(ledger.db.pool, id))!;
        await waitFor(`${id} cached`, async () => (await redis.hget(keyOf(id), 'rev')) === row.rev.toString());
      }
      const clean = await ledgerctl(['reconcile', '--no-progress']);
      expect([clean.code, clean.out]).toEqual([0, expect.stringMatching(/cache-agrees\s+0\s/)]);
      expect(clean.out).toMatch(/reconcile: OK\n/);

      // The middle account's key becomes a string: HMGET on it answers WRONGTYPE, the others'
      // still answer.
      const figure = await redis.hgetall(keyOf(broken));
      await redis.del(keyOf(broken));
      await redis.set(keyOf(broken), 'not a balance hash');
      await expect(redis.hmget(keyOf(broken), 'balance')).rejects.toThrow(/WRONGTYPE/);
      expect((await redis.hgetall(keyOf(accounts[0]!))).rev).toBeDefined();

      // One account per step: step 1 compares the first account, step 2 fails. And the default
      // step (all three at once): two reads answer, one fails.
      for (const step of ['1', '1000']) {
        const partway = await ledgerctl(['reconcile', '--no-progress'], { CTL_CACHE_CHECK_ACCOUNTS_PER_STEP: step });
        expect({ step, code: partway.code }).toEqual({ step, code: 0 });
        // The ledger's checks ran, over all three accounts, and passed.
        expect(partway.out).toMatch(/conservation\s+0\s/);
        expect(partway.out).toMatch(/balance-equals-entries\s+0\s/);
        expect(partway.out).toMatch(/accounts=\d+ transfers=3 /);
        // The cache's check says skipped, and why; never a count, never a violation.
        expect(partway.out).toMatch(/cache-agrees\s+skipped\s+redis: WRONGTYPE/);
        expect(partway.out).not.toMatch(/cache-agrees\s+\d/);
        expect(partway.out).not.toMatch(/violations\n|mismatch|redis \d+ \(held/);
        expect(partway.out).toMatch(/reconcile: OK \(cache-agrees skipped\)\n$/);
        expect(partway.err).toMatch(/ledgerctl reconcile: cache-agrees skipped: redis: WRONGTYPE.*--no-cache skips it deliberately/);
      }

      // What the check found before Redis failed is real (Redis is read first, so "ahead" is
      // no race) and is reported, not dropped with the rest: the first account's figure one
      // revision ahead, then the failure at the second step.
      const first = accounts[0]!;
      const firstRev = (await redis.hget(keyOf(first), 'rev'))!;
      await redis.hset(keyOf(first), 'rev', String(BigInt(firstRev) + 1n));
      const found = await ledgerctl(['reconcile', '--no-progress'], { CTL_CACHE_CHECK_ACCOUNTS_PER_STEP: '1' });
      expect(found.code).toBe(1);
      expect(found.out).toMatch(new RegExp(`cache-agrees\\s+1\\s+${first}: redis`));
      expect(found.out).toMatch(/reconcile: 1 violations \(cache-agrees stopped part-way\)\n$/);
      expect(found.err).toMatch(/cache-agrees stopped part-way: redis: WRONGTYPE/);
      await redis.hset(keyOf(first), 'rev', firstRev);

      // The key mended, the cache's check runs to the end again and agrees.
      await redis.del(keyOf(broken));
      await redis.hset(keyOf(broken), figure);
      const mended = await ledgerctl(['reconcile', '--no-progress'], { CTL_CACHE_CHECK_ACCOUNTS_PER_STEP: '1' });
      expect([mended.code, mended.out]).toEqual([0, expect.stringMatching(/cache-agrees\s+0\s/)]);
      expect(mended.out).toMatch(/reconcile: OK\n$/);
    } finally {
      redis.disconnect();
    }
  });
});
