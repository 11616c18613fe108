/**
 * A status read with an optional long poll (`GET /v1/transfers/{id}`, `GET /v1/holds/{id}`),
 * one rule for both families:
 * - unknown, or not the caller's to read: 404 (the same answer for both);
 * - known only by its Idempotency-Key claim (accepted, its ACCEPTED record lost with the
 *   cache): its claimant or an admin gets a 503 (acceptedButUnrecorded), after the long poll
 *   if one was asked for and the resource did not show up meanwhile; anyone else the 404;
 * - otherwise the resource, read again after the long poll when it was still unsettled.
 *
 * The request registers with the waiter BEFORE it reads, so a wake-up published between the
 * read and the wait cannot be missed.
 */
import { type AuthContext, isAdmin } from '@ledgerline/auth';
import { type Database, findEndedHoldIds, findTerminalTransferIds } from '@ledgerline/postgres';
import { holdEndedKey, holdIdOfEndedKey } from '@ledgerline/domain';
import type { WaitHandle } from '@ledgerline/redis';
import type { AppContext } from './context';
import { acceptedButUnrecorded, notFound } from './errors';

/** Only the claim of its Idempotency-Key shows the resource, and who claimed it. */
export interface ClaimedOnly {
  claimant: string;
}

/** What a status read needs of its resource family. */
export interface StatusSource<Current> {
  what: 'transfer' | 'hold';
  /** What the long poll waits on: the id (applied, or terminal for a transfer) unless given (holdEndedKey). */
  waitKey?: string;
  /** The resource as it stands now: applied, ACCEPTED, known by its claim only, or unknown. */
  current(): Promise<Current | ClaimedOnly | null>;
  mayRead(current: Current): Promise<boolean>;
  /** Not settled yet: a long poll waits for it to change. */
  unsettled(current: Current): boolean;
}

const isClaimedOnly = <Current>(found: Current | ClaimedOnly): found is ClaimedOnly => typeof found === 'object' && found !== null && 'claimant' in found;

export async function readLongPolled<Current>(ctx: AppContext, auth: AuthContext, id: string, waitMs: number, source: StatusSource<Current>): Promise<Current> {
  const handle = waitMs > 0 ? registerLongPoll(ctx, auth, source.waitKey ?? id) : null;
  try {
    const first = await source.current();
    if (first === null) throw notFound(source.what);
    if (isClaimedOnly(first)) {
      if (!mayKnowOfClaim(auth, first.claimant)) throw notFound(source.what);
      if (!handle) throw acceptedButUnrecorded(source.what, id);
      await waitLongPoll(ctx, handle, waitMs);
      const after = await source.current();
      if (after === null || isClaimedOnly(after)) throw acceptedButUnrecorded(source.what, id);
      // Shown now: read as any other, by an admin or an owner of an account it touches (its
      // claimant sent it with another token, an admin one, perhaps; an outside review).
      if (!(await source.mayRead(after))) throw notFound(source.what);
      return after;
    }
    if (!(await source.mayRead(first))) throw notFound(source.what);
    if (!handle || !source.unsettled(first)) return first;
    // Woken when the wait key is settled (notified, or found so by the safety re-check,
    // settledWaitKeys), or when the time is up: one more read answers.
    await waitLongPoll(ctx, handle, waitMs);
    const after = await source.current();
    if (after === null || isClaimedOnly(after)) return first;
    // Read as any other: what it woke to may name other accounts than what it began with (a
    // reversal recorded REJECTED without its destination; an outside review).
    if (!(await source.mayRead(after))) throw notFound(source.what);
    return after;
  } finally {
    handle?.cancel();
  }
}

/**
 * The safety re-check of the long polls' wait keys (TransferStatusWaiter): which are settled
 * now. A transfer's or account change's id once it is terminal, a hold's once it is applied;
 * a hold's ended key (holdEndedKey) once it is no longer HELD.
 */
export async function settledWaitKeys(pool: Database, keys: readonly string[]): Promise<ReadonlySet<string>> {
  const ids: string[] = [];
  const endedHolds: string[] = [];
  for (const key of keys) {
    const holdId = holdIdOfEndedKey(key);
    if (holdId === null) ids.push(key);
    else endedHolds.push(holdId);
  }
  const [settled, ended] = await Promise.all([findTerminalTransferIds(pool, ids), findEndedHoldIds(pool, endedHolds)]);
  for (const holdId of ended) settled.add(holdEndedKey(holdId));
  return settled;
}

/**
 * A place among the waiting long polls for `id`, within `auth`'s share
 * (API_LONG_POLLS_PER_PRINCIPAL_MAX) and the process's (API_LONG_POLLS_MAX); null, counted,
 * when either is full: the caller then answers at once. Its `cancel` gives both back.
 */
export function registerLongPoll(ctx: AppContext, auth: AuthContext, id: string): WaitHandle | null {
  const giveBack = ctx.longPollShares.take(auth.principal);
  const handle = giveBack ? ctx.redis.waiter.register(id) : null;
  if (!handle) {
    giveBack?.();
    ctx.metrics.longPollsRefused.inc({ limit: giveBack ? 'process' : 'principal' });
    return null;
  }
  return {
    until: (ms) => handle.until(ms),
    cancel: () => {
      handle.cancel();
      giveBack!();
    },
  };
}

/** A long poll's sleep until its waiter wakes it or `waitMs` pass, counted while it lasts. */
async function waitLongPoll(ctx: AppContext, handle: { until(ms: number): Promise<unknown> }, waitMs: number): Promise<void> {
  ctx.metrics.longPollsWaiting.inc();
  try {
    await handle.until(waitMs);
  } finally {
    ctx.metrics.longPollsWaiting.dec();
  }
}

/** Who may learn that an id was claimed and not yet applied: its claimant, or an admin; anyone else gets a 404. */
export function mayKnowOfClaim(auth: AuthContext, claimant: string): boolean {
  return isAdmin(auth) || claimant === auth.principal;
}
