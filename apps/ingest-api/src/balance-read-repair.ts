/**
 * Read-repair of the balance cache: when `GET /v1/transfers/{id}` shows a transfer COMPLETED or
 * REJECTED, or `GET /v1/holds/{id}` a hold HELD, CAPTURED, VOIDED or EXPIRED (a REJECTED one changed nothing), the
 * cached balances of the accounts it names are refreshed from Postgres first. The worker refreshes
 * the cache after its commit, but without waiting for Redis (partition-applier.ts), so a client
 * that reads the status and then the balance could otherwise see the balance from before: a
 * hold shown HELD with `available` not yet lowered by it. With the repair, a cached balance is
 * never older than a status the client has read there (docs/api.md, `GET .../balance`). Other
 * reads (history lists, a PROCESSING transfer, a 202's body) do not repair.
 *
 * Best effort: with Redis down, `GET /balance` reads Postgres anyway, and a repair that fails
 * (Postgres or Redis) never fails the status read it follows. The cache's script
 * never replaces a newer figure with an older one (`rev`), so a repair racing the worker's
 * own refresh is harmless.
 */
import { balanceFigureOf } from '@ledgerline/domain';
import { findAccountBalances } from '@ledgerline/postgres';
import type { AppContext } from './context';

export async function readRepairBalances(ctx: AppContext, accountIds: readonly (string | null)[]): Promise<void> {
  const ids = accountIds.filter((id): id is string => id !== null);
  if (ids.length === 0) return;
  try {
    // As of an instant the ledger held each balance (not the row's updated_at: findAccountBalances).
    const rows = await findAccountBalances(ctx.pool, ids);
    if (rows.length === 0) return;
    await ctx.redis.balances.refresh(rows.map((r) => balanceFigureOf(r.account, r.asOf)));
  } catch (error) {
    // The status read succeeded; a repair that cannot run must not fail it.
    ctx.warn('read-repair', `balance read-repair failed: ${(error as Error).message}`);
  }
}
