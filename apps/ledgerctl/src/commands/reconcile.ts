/**
 * `ledgerctl reconcile`: every invariant of docs/design.md checked against live data; prints a
 * table and exits non-zero on any violation.
 */
import { SingleBar } from 'cli-progress';
import { createPool, findAccounts, reconcile } from '@ledgerline/postgres';
import { BalanceCache, createRedis, waitUntilReady } from '@ledgerline/redis';
import type { CheckResult } from '@ledgerline/postgres';
import { type CtlConfig, ctlPool } from '../config';
import { printTable } from '../table';


export async function runReconcile(config: CtlConfig, options: { progress: boolean; cache: boolean }): Promise<number> {
  const pool = ctlPool(config, 'read', 2, 'ledgerctl-reconcile');
  const bar = options.progress && process.stderr.isTTY ? new SingleBar({ format: 'accounts {bar} {value}/{total}', stream: process.stderr }) : null;
  try {
    let started = false;
    const report = await reconcile(pool, {
      outboxAgeMaxMs: config.reconcileOutboxAgeMaxMs,
      onProgress(done, total) {
        if (!bar) return;
        if (!started) bar.start(total, 0);
        started = true;
        bar.update(done);
      },
    });
    bar?.stop();
    const checks = [...report.checks];
    // Why the cache's check did not run to the end (Redis not ready, or failing part-way).
    let cacheStoppedBy: string | null = null;
    let cacheSkipped = false;
    if (options.cache) {
      const cache = await cacheAgreesWithPostgres(config, pool);
      cacheStoppedBy = cache.stoppedBy;
      // Stopped with nothing found: skipped. Stopped after finding some: what it found is
      // real (Redis is read first, so "ahead" cannot be a race) and is reported, not dropped.
      cacheSkipped = cache.stoppedBy !== null && cache.result.violations === 0;
      if (!cacheSkipped) checks.push(cache.result);
    }
    printTable(
      ['check', 'violations', 'example'],
      [...checks.map((c) => [c.name, String(c.violations), c.examples[0] ?? '']), ...(cacheSkipped ? [['cache-agrees', 'skipped', cacheStoppedBy ?? '']] : [])],
    );
    if (cacheStoppedBy !== null) {
      // The ledger's checks ran; the cache's did not finish. Said on stderr too, for a cron's mail.
      process.stderr.write(
        cacheSkipped
          ? `ledgerctl reconcile: cache-agrees skipped: ${cacheStoppedBy} (--no-cache skips it deliberately)\n`
          : `ledgerctl reconcile: cache-agrees stopped part-way: ${cacheStoppedBy}; its violations were found before that, the accounts after it were not checked\n`,
      );
    }
    const inFlight = report.inFlight.map((f) => `${f.currency} ${f.amount}`).join(', ') || 'none';
    process.stdout.write(`accounts=${report.accounts} transfers=${report.transfers} in_flight=${inFlight}\n`);
    const violations = checks.reduce((n, c) => n + c.violations, 0);
    const unfinished = cacheStoppedBy === null ? '' : cacheSkipped ? ' (cache-agrees skipped)' : ' (cache-agrees stopped part-way)';
    process.stdout.write(violations === 0 ? `reconcile: OK${unfinished}\n` : `reconcile: ${violations} violations${unfinished}\n`);
    return violations === 0 ? 0 : 1;
  } finally {
    bar?.stop();
    await pool.end();
  }
}

/**
 * Redis may be behind (it is refreshed after commit) but never ahead, and where it holds the
 * same revision of an account (`rev`, raised by every change of it) it must hold the same
 * balance and held amount. An entry that is no figure our writers could have written (a rev
 * beyond int64, a balance that is no number, another currency: BalanceCache.lookup) is a
 * violation too: the API ignores and removes it, but it should not be there.
 *
 * Each step reads Redis first, then Postgres: a figure read from Redis was then at most
 * Postgres's revision, and Postgres only moves forward, so a cache "ahead" is a real one. The
 * other order reported false violations under load (a commit between the two reads put Redis
 * one revision ahead of the figure Postgres had given a moment before).
 *
 * Redis not answering is not a violation of the ledger: the check stops, `stoppedBy` says why,
 * and the ledger's own checks stand. What it found before stopping is returned with it.
 */
async function cacheAgreesWithPostgres(config: CtlConfig, pool: ReturnType<typeof createPool>): Promise<{ result: CheckResult; stoppedBy: string | null }> {
  const redis = createRedis(config.redisUrl);
  const cache = new BalanceCache(redis, config.redisKeyPrefix);
  const examples: string[] = [];
  let violations = 0;
  const result = (): CheckResult => ({ name: 'cache-agrees', description: 'Redis never ahead of Postgres; same revision, same balance and held; no malformed entry', violations, examples });
  try {
    // Redis not ready, or failing part-way (a read timed out, its breaker open) stops the
    // cache's check with what it found so far; a Postgres error is the ledger's and goes on up.
    const stopped = (error: unknown) => ({ result: result(), stoppedBy: `redis: ${(error as Error).message}` });
    // The client fails fast rather than queue: wait for the connection before the first read.
    try {
      await waitUntilReady(redis, config.redisReadyWaitMs);
    } catch (error) {
      return stopped(error);
    }
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const ids = (await pool.query('SELECT id FROM accounts WHERE id > $1 ORDER BY id LIMIT $2', [after, config.cacheCheckAccountsPerStep])).rows.map(
        (r) => r.id as string,
      );
      if (ids.length === 0) break;
      let cached: Awaited<ReturnType<typeof cache.lookup>>[];
      try {
        cached = await Promise.all(ids.map((id) => cache.lookup(id)));
      } catch (error) {
        return stopped(error);
      }
      const accounts = new Map((await findAccounts(pool, ids)).map((a) => [a.id, a]));
      for (const [i, found] of cached.entries()) {
        const account = accounts.get(ids[i]!);
        if (!found || !account) continue;
        if ('malformed' in found || found.figure.currency !== account.currency) {
          violations++;
          const why = 'malformed' in found ? found.malformed : `currency ${found.figure.currency}, not ${account.currency}`;
          if (examples.length < 5) examples.push(`${account.id}: redis holds no figure of this account (${why})`);
          continue;
        }
        const { figure } = found;
        const ahead = figure.rev > account.rev;
        const differs = figure.rev === account.rev && (figure.balance !== account.balance || figure.held !== account.held);
        if (ahead || differs) {
          violations++;
          if (examples.length < 5) {
            examples.push(`${account.id}: redis ${figure.balance} (held ${figure.held}) rev ${figure.rev}, postgres ${account.balance} (held ${account.held}) rev ${account.rev}`);
          }
        }
      }
      after = ids[ids.length - 1]!;
    }
  } finally {
    redis.disconnect();
  }
  return { result: result(), stoppedBy: null };
}
