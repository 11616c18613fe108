/**
 * Reading a transfer: `GET /v1/transfers/{id}[?wait_ms=N]`.
 *
 * Where the status comes from, in order of authority:
 *   1. Postgres (the worker's commit): PROCESSING, COMPLETED or REJECTED.
 *   2. Redis's ACCEPTED record (written after Kafka acked, before any worker applied it), if
 *      it is one our writers wrote (cached-values.ts): anything else is as if none were kept.
 *   3. Neither, but its Idempotency-Key is claimed: accepted (or in doubt after an unanswered
 *      publish) and not applied yet, its ACCEPTED record lost with the cache (Redis restarted
 *      or flushed while the worker was behind). Its claimant gets a 503 (after the long poll,
 *      if any): a 404 there once read as "never happened", and a client resubmitting under a
 *      new key would move the money twice (found by an outside fault review).
 *   4. None of these: 404 (or 503 when Redis could not be asked, since ACCEPTED may be there).
 *
 * Long poll, 404s and the claimant's 503: status-read.ts, the same rule as for holds. Another
 * owner's transfer is looked for as far as an unknown id is (findAsShown), so its 404 costs
 * the same reads, and it gets the unknown id's 503 when Redis cannot be asked. The check
 * itself reads the owners of its accounts from the account directory, a Postgres read for
 * each one not cached (docs/api.md says so).
 *
 * Read-your-writes: before a terminal status read from Postgres is returned, the balances
 * of the transfer's accounts are refreshed in the cache (balance-read-repair.ts). A client
 * that has seen COMPLETED therefore never gets an older balance from the cache afterwards.
 */
import { type AuthContext, isAdmin } from '@ledgerline/auth';
import { REVERSIBLE_KINDS } from '@ledgerline/domain';
import { type TransferRow, accountsClosedBy, findIdempotencyClaimant, findReversedAmounts, findTransfer } from '@ledgerline/postgres';
import type { AccountFacts } from './account-directory';
import type { TransferResource } from '@ledgerline/schemas';
import { readRepairBalances } from './balance-read-repair';
import { acceptedRecordForRead, holdIn, transferIn } from './cached-values';
import type { AppContext } from './context';
import { transferWireFromRow } from './resources';
import { type ClaimedOnly, type Hidden, findAsShown, isClaimedOnly, isHidden, readLongPolled } from './status-read';

export interface CurrentTransfer {
  resource: TransferResource;
  principal: string;
  row: TransferRow | null;
}

const isTerminal = (status: string) => status === 'COMPLETED' || status === 'REJECTED';

export async function readTransfer(ctx: AppContext, auth: AuthContext, transferId: string, waitMs: number): Promise<TransferResource> {
  const current = await readLongPolled(ctx, auth, transferId, waitMs, {
    what: 'transfer',
    current: () => currentTransfer(ctx, auth, transferId),
    unsettled: (found) => !isTerminal(found.resource.status),
  });
  if (current.row && isTerminal(current.row.status)) await readRepairBalances(ctx, [current.row.fromAccountId, current.row.toAccountId]);
  return await asSeenBy(ctx, auth, current.resource);
}

/**
 * The transfer as `auth` may see it (findAsShown: another owner's is HIDDEN, after the reads
 * an unknown id takes); an applied one with what its reversals took back, read only once it
 * may be shown.
 */
export async function currentTransfer(ctx: AppContext, auth: AuthContext, transferId: string): Promise<CurrentTransfer | ClaimedOnly | Hidden | null> {
  const found = await findAsShown<CurrentTransfer>(
    {
      applied: async () => {
        const row = await findTransfer(ctx.pool, transferId);
        return row ? { resource: transferWireFromRow(row), principal: row.principal, row } : null;
      },
      accepted: () => acceptedTransfer(ctx, transferId),
      claimant: () => findIdempotencyClaimant(ctx.pool, transferId, 'transfer'),
    },
    (current) => mayRead(ctx, auth, current),
  );
  if (found === null || isHidden(found) || isClaimedOnly(found) || found.row === null) return found;
  return { ...found, resource: await withReversedAmount(ctx, found.resource) };
}

/**
 * The transfer its ACCEPTED record shows; none for no record or a malformed one (as if none
 * were kept), and none for a hold's, which `otherFamily` tells apart.
 */
async function acceptedTransfer(ctx: AppContext, transferId: string): Promise<{ found: CurrentTransfer | null; otherFamily: boolean }> {
  const accepted = await acceptedRecordForRead(ctx, transferId, 'transfer');
  const resource = transferIn(accepted);
  return { found: accepted && resource ? { resource, principal: accepted.principal, row: null } : null, otherFamily: holdIn(accepted) !== null };
}

/** A COMPLETED TRANSFER, CAPTURE or DEPOSIT shows how much its reversals took back. */
export async function withReversedAmount(ctx: AppContext, resource: TransferResource): Promise<TransferResource> {
  return (await withReversedAmounts(ctx, [resource]))[0]!;
}

/** withReversedAmount for many resources (a batch's replay), in one read. */
export async function withReversedAmounts(ctx: AppContext, resources: readonly TransferResource[]): Promise<TransferResource[]> {
  const reversible = (r: TransferResource) => r.status === 'COMPLETED' && REVERSIBLE_KINDS.includes(r.kind);
  const ids = resources.filter(reversible).map((r) => r.id);
  if (ids.length === 0) return [...resources];
  const reversed = await findReversedAmounts(ctx.pool, ids);
  return resources.map((r) => (reversible(r) ? { ...r, reversed_amount: (reversed.get(r.id) ?? 0n).toString() } : r));
}

/**
 * An admin, or the owner of either account, may read a transfer; anyone else gets the same
 * 404 as for an id that does not exist. Having sent it is not enough: a sender without admin
 * owns its source account anyway, and one that sent it as admin must be admin to read it
 * (an outside review: a principal's read-only token read what it had sent with an admin one).
 */
export async function mayRead(ctx: AppContext, auth: AuthContext, current: CurrentTransfer): Promise<boolean> {
  if (isAdmin(auth)) return true;
  for (const id of [current.resource.from_account_id, current.resource.to_account_id]) {
    if (!id) continue;
    const facts = await ctx.directory.lookup(id);
    if (facts?.owner === auth.principal) return true;
  }
  return false;
}

/**
 * A transfer as `auth` may see it: a reader who is only the payee (neither admin nor the
 * source account's owner) sees a rejection's reason only when it is about the payee's own
 * account, so that a payee does not learn that the payer's account is short of funds, frozen
 * or closed (two outside reviews); and never a rejection's description, the payer's text
 * that moved no money: anyone could otherwise write into anyone's history for free, with a
 * transfer it cannot pay ("URGENT: call ... to claim your refund", an outside review).
 */
export async function asSeenBy(ctx: AppContext, auth: AuthContext, resource: TransferResource): Promise<TransferResource> {
  return (await asSeenByAll(ctx, auth, [resource]))[0]!;
}

/**
 * `asSeenBy` for each of `resources` (a history page), with at most two statements for the
 * whole page: the accounts' facts the directory does not hold, and the closing checks. A
 * page of 200 rejections once ran a statement per row, all at once, on the API's pool (an
 * outside review: one principal's reads could hold every connection).
 */
export async function asSeenByAll(ctx: AppContext, auth: AuthContext, resources: readonly TransferResource[]): Promise<TransferResource[]> {
  const rejected = resources.filter((r) => r.status === 'REJECTED');
  if (rejected.length === 0 || isAdmin(auth)) return [...resources];
  const facts = await ctx.directory.lookupMany(rejected.flatMap((r) => [r.from_account_id, r.to_account_id].filter((id): id is string => id !== undefined)));
  const payers = (r: TransferResource) => r.from_account_id !== undefined && facts.get(r.from_account_id)?.owner === auth.principal;
  // ACCOUNT_CLOSED is the payee's when its account was closed by the time it was decided.
  const closing = rejected.filter((r) => !payers(r) && r.reason === 'ACCOUNT_CLOSED' && r.to_account_id !== undefined && r.completed_at !== undefined);
  const closed = await accountsClosedBy(ctx.pool, closing.map((r) => ({ accountId: r.to_account_id!, instant: r.completed_at! })));
  const closedBefore = new Set(closing.filter((_, i) => closed[i]));
  return resources.map((resource) => {
    if (resource.status !== 'REJECTED' || payers(resource)) return resource;
    const { reason, description: _payersText, ...seen } = resource;
    return reason !== undefined && aboutThePayee(resource, facts, closedBefore.has(resource)) ? { ...seen, reason } : seen;
  });
}

/**
 * Whether a rejection's reason is about the destination account. Some reasons name one side
 * only: BALANCE_LIMIT_EXCEEDED is never the payer's (a debit cannot pass a user account's
 * bound; it is the credited account's ceiling, or a system account's, which is no one's
 * private business). CURRENCY_MISMATCH and ACCOUNT_CLOSED can be either's (the reason does
 * not say which), so they count as the payee's when its own account explains them: another
 * currency than the transfer's (it never changes), or closed by the time the transfer was
 * decided (`closedWhenDecided`; closed later, it explains nothing: an outside review saw a
 * payee learn that the payer's account had been closed by closing its own). The rest (funds,
 * frozen, rights, a hold's or an original's state) are the payer's.
 */
function aboutThePayee(resource: TransferResource, facts: ReadonlyMap<string, AccountFacts>, closedWhenDecided: boolean): boolean {
  const to = resource.to_account_id;
  switch (resource.reason) {
    case 'DESTINATION_NOT_FOUND':
    case 'UNPROCESSABLE':
    case 'BALANCE_LIMIT_EXCEEDED':
      return true;
    case 'CURRENCY_MISMATCH':
      return to !== undefined && facts.get(to)?.currency !== resource.currency;
    case 'ACCOUNT_CLOSED':
      return closedWhenDecided;
    default:
      return false;
  }
}
