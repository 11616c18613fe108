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
    if (options.cache) checks.push(await cacheAgreesWithPostgres(config, pool));
    printTable(
      ['check', 'violations', 'example'],
      checks.map((c) => [c.name, String(c.violations), c.examples[0] ?? '']),
    );
    const inFlight = report.inFlight.map((f) => `${f.currency} ${f.amount}`).join(', ') || 'none';
    process.stdout.write(`accounts=${report.accounts} transfers=${report.transfers} in_flight=${inFlight}\n`);
    const violations = checks.reduce((n, c) => n + c.violations, 0);
    process.stdout.write(violations === 0 ? 'reconcile: OK\n' : `reconcile: ${violations} violations\n`);
    return violations === 0 ? 0 : 1;
  } finally {
    bar?.stop();
    await pool.end();
  }
}

/**
 * Redis may be behind (it is refreshed after commit) but never ahead, and where it holds the
 * same version it must hold the same balance.
 */
async function cacheAgreesWithPostgres(config: CtlConfig, pool: ReturnType<typeof createPool>): Promise<CheckResult> {
  const redis = createRedis(config.redisUrl);
  const cache = new BalanceCache(redis, config.redisKeyPrefix);
  const examples: string[] = [];
  let violations = 0;
  try {
    // The client fails fast rather than queue: wait for the connection before the first read.
    await waitUntilReady(redis, config.redisReadyWaitMs);
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const ids = (await pool.query('SELECT id FROM accounts WHERE id > $1 ORDER BY id LIMIT $2', [after, config.cacheCheckAccountsPerStep])).rows.map(
        (r) => r.id as string,
      );
      if (ids.length === 0) break;
      const rows = await findAccounts(pool, ids);
      for (const account of rows) {
        const cached = await cache.read(account.id);
        if (!cached) continue;
        const ahead = cached.seq > account.seq;
        const differs = cached.seq === account.seq && cached.balance !== account.balance;
        if (ahead || differs) {
          violations++;
          if (examples.length < 5) examples.push(`${account.id}: redis ${cached.balance}@${cached.seq}, postgres ${account.balance}@${account.seq}`);
        }
      }
      after = ids[ids.length - 1]!;
    }
  } finally {
    redis.disconnect();
  }
  return { name: 'cache-agrees', description: 'Redis never ahead of Postgres; same version, same balance', violations, examples };
}
