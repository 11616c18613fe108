/**
 * `ledgerctl reconcile`: every invariant of docs/design.md checked against live data; prints a
 * table and exits non-zero on any violation.
 */
import { SingleBar } from 'cli-progress';
import { createPool, findAccounts, reconcile } from '@ledgerline/postgres';
import { BalanceCache, createRedis, waitUntilReady } from '@ledgerline/redis';
import type { CheckResult } from '@ledgerline/postgres';
import type { CtlConfig } from '../config';
import { printTable } from '../table';


export async function runReconcile(config: CtlConfig, options: { progress: boolean; cache: boolean }): Promise<number> {
  const pool = createPool({ connectionString: config.readDatabaseUrl, connectionsMax: 2, connectTimeoutMs: config.pgConnectTimeoutMs, idleTimeoutMs: config.pgIdleTimeoutMs, applicationName: 'ledgerctl-reconcile' });
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
    let cacheSkipped: string | null = null;
    if (options.cache) {
      const cache = await cacheAgreesWithPostgres(config, pool);
      if ('skipped' in cache) cacheSkipped = cache.skipped;
      else checks.push(cache);
    }
    printTable(
      ['check', 'violations', 'example'],
      [...checks.map((c) => [c.name, String(c.violations), c.examples[0] ?? '']), ...(cacheSkipped === null ? [] : [['cache-agrees', 'skipped', cacheSkipped]])],
    );
    if (cacheSkipped !== null) {
      // The ledger's checks ran; only the cache's could not. Said on stderr too, for a cron's mail.
      process.stderr.write(`ledgerctl reconcile: cache-agrees skipped: ${cacheSkipped} (--no-cache skips it deliberately)\n`);
    }
    const inFlight = report.inFlight.map((f) => `${f.currency} ${f.amount}`).join(', ') || 'none';
    process.stdout.write(`accounts=${report.accounts} transfers=${report.transfers} in_flight=${inFlight}\n`);
    const violations = checks.reduce((n, c) => n + c.violations, 0);
    const skipped = cacheSkipped === null ? '' : ' (cache-agrees skipped)';
    process.stdout.write(violations === 0 ? `reconcile: OK${skipped}\n` : `reconcile: ${violations} violations${skipped}\n`);
    return violations === 0 ? 0 : 1;
  } finally {
    bar?.stop();
    await pool.end();
  }
}

/**
 * Redis may be behind (it is refreshed after commit) but never ahead, and where it holds the
 * same revision of an account (`rev`, raised by every change of it) it must hold the same
 * balance and held amount.
 *
 * Each step reads Redis first, then Postgres: a figure read from Redis was then at most
 * Postgres's revision, and Postgres only moves forward, so a cache "ahead" is a real one. The
 * other order reported false violations under load (a commit between the two reads put Redis
 * one revision ahead of the figure Postgres had given a moment before).
 *
 * Redis not answering is not a violation of the ledger: the check is reported skipped, and the
 * ledger's own checks stand.
 */
async function cacheAgreesWithPostgres(config: CtlConfig, pool: ReturnType<typeof createPool>): Promise<CheckResult | { skipped: string }> {
  const redis = createRedis(config.redisUrl);
  const cache = new BalanceCache(redis, config.redisKeyPrefix);
  const examples: string[] = [];
  let violations = 0;
  try {
    // Redis not ready, or failing partway (a read timed out, its breaker open) skips the
    // cache's check; a Postgres error is the ledger's and goes on up.
    const skipped = (error: unknown) => ({ skipped: `redis: ${(error as Error).message}` });
    // The client fails fast rather than queue: wait for the connection before the first read.
    try {
      await waitUntilReady(redis, config.redisReadyWaitMs);
    } catch (error) {
      return skipped(error);
    }
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const ids = (await pool.query('SELECT id FROM accounts WHERE id > $1 ORDER BY id LIMIT $2', [after, config.cacheCheckAccountsPerStep])).rows.map(
        (r) => r.id as string,
      );
      if (ids.length === 0) break;
      let cached: Awaited<ReturnType<typeof cache.read>>[];
      try {
        cached = await Promise.all(ids.map((id) => cache.read(id)));
      } catch (error) {
        return skipped(error);
      }
      const accounts = new Map((await findAccounts(pool, ids)).map((a) => [a.id, a]));
      for (const figure of cached) {
        const account = figure && accounts.get(figure.accountId);
        if (!figure || !account) continue;
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
  return { name: 'cache-agrees', description: 'Redis never ahead of Postgres; same revision, same balance and held', violations, examples };
}
