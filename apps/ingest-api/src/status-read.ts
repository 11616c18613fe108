/**
 * A status read with an optional long poll (`GET /v1/transfers/{id}`, `GET /v1/holds/{id}`),
 * one rule for both families:
 * - unknown, or not the caller's to read: 404 (the same answer for both, after the same reads:
 *   findAsShown);
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
import { appliedElseAccepted } from './applied-else-accepted';
import { acceptedButUnrecorded, notFound } from './errors';

/** Only the claim of its Idempotency-Key shows the resource, and who claimed it. */
export interface ClaimedOnly {
  claimant: string;
}

/** The resource exists, and the caller may not read it: answered as an unknown id (404). */
export const HIDDEN = Object.freeze({ hidden: true as const });
export type Hidden = typeof HIDDEN;
export const isHidden = (found: unknown): found is Hidden => found === HIDDEN;

/** The places one id is looked for, in order (applied-else-accepted.ts, then the claim). */
export interface IdLookups<Found> {
  /** The applied row's resource, if any. */
  applied(): Promise<Found | null>;
  /** The ACCEPTED record's resource, if any; `otherFamily` when the record is the other family's (a hold's for a transfer id). */
  accepted(): Promise<{ found: Found | null; otherFamily: boolean }>;
  /** Who claimed the id's Idempotency-Key, when only that claim shows it (its ACCEPTED record lost). */
  claimant(): Promise<string | null>;
}

/**
 * One id as `mayShow` lets the caller see it: applied, else ACCEPTED, else applied again, else
 * known by its claim only, else unknown (null).
 *
 * A resource the caller may not read is, to the lookups, not there: every later look an
 * unknown id takes is taken too (the ACCEPTED record, the row again, the claim), nothing they
 * find is shown, and the answer is HIDDEN, which callers answer as they answer an unknown id.
 * So another owner's transfer or hold costs the same reads as an id nobody sent, and its 404
 * does not come back sooner (ids are derived from a principal and an Idempotency-Key, which
 * may be guessable; an account read's 404 got the same treatment first: account-directory.ts,
 * visibleAccount).
 */
export async function findAsShown<Found>(lookups: IdLookups<Found>, mayShow: (found: Found) => Promise<boolean>): Promise<Found | ClaimedOnly | Hidden | null> {
  let hidden = false;
  let otherFamily = false;
  // Once something the caller may not read was found, nothing found after it is shown: the
  // row outranks the ACCEPTED record it replaced, and a record the caller may read must not
  // stand in for a row it may not (a long poll woke to such a row: long-poll-readers.int).
  const shown = async (found: Found | null): Promise<Found | null> => {
    if (found === null || hidden) return null;
    if (await mayShow(found)) return found;
    hidden = true;
    return null;
  };
  const found = await appliedElseAccepted(
    async () => shown(await lookups.applied()),
    async () => {
      const accepted = await lookups.accepted();
      otherFamily ||= accepted.otherFamily;
      return shown(accepted.found);
    },
  );
  if (found !== null) return found;
  // Neither: the claim may still show it, its record lost with the cache. Read even when the
  // answer is already known, so that every way to a 404 takes the same four looks.
  const claimant = await lookups.claimant();
  if (hidden) return HIDDEN;
  // The id's ACCEPTED record is the other family's: its claim is that resource's, not one of
  // this family whose record was lost (a 503 would tell its sender to wait for what never comes).
  if (otherFamily) return null;
  return claimant === null ? null : { claimant };
}

/** What a status read needs of its resource family. */
export interface StatusSource<Current> {
  what: 'transfer' | 'hold';
  /** What the long poll waits on: the id (applied, or terminal for a transfer) unless given (holdEndedKey). */
  waitKey?: string;
  /** The resource as it stands now, as the caller may see it (findAsShown): applied, ACCEPTED, known by its claim only, hidden, or unknown. */
  current(): Promise<Current | ClaimedOnly | Hidden | null>;
  /** Not settled yet: a long poll waits for it to change. */
  unsettled(current: Current): boolean;
}

export const isClaimedOnly = <Current>(found: Current | ClaimedOnly | Hidden): found is ClaimedOnly => typeof found === 'object' && found !== null && 'claimant' in found;

export async function readLongPolled<Current>(ctx: AppContext, auth: AuthContext, id: string, waitMs: number, source: StatusSource<Current>): Promise<Current> {
  const handle = waitMs > 0 ? registerLongPoll(ctx, auth, source.waitKey ?? id) : null;
  try {
    const first = await source.current();
    if (first === null || isHidden(first)) throw notFound(source.what);
    if (isClaimedOnly(first)) {
      if (!mayKnowOfClaim(auth, first.claimant)) throw notFound(source.what);
      if (!handle) throw acceptedButUnrecorded(source.what, id);
      await waitLongPoll(ctx, handle, waitMs);
      const after = await source.current();
      // Shown now, it was read as any other, by an admin or an owner of an account it touches
      // (its claimant sent it with another token, an admin one, perhaps; an outside review).
      if (isHidden(after)) throw notFound(source.what);
      if (after === null || isClaimedOnly(after)) throw acceptedButUnrecorded(source.what, id);
      return after;
    }
    if (!handle || !source.unsettled(first)) return first;
    // Woken when the wait key is settled (notified, or found so by the safety re-check,
    // settledWaitKeys), or when the time is up: one more read answers.
    await waitLongPoll(ctx, handle, waitMs);
    const after = await source.current();
    // Read as any other: what it woke to may name other accounts than what it began with (a
    // reversal recorded REJECTED without its destination; an outside review).
    if (isHidden(after)) throw notFound(source.what);
    if (after === null || isClaimedOnly(after)) return first;
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
