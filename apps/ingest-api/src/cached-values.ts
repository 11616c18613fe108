/**
 * What the API reads back from Redis, checked before it is used. Redis is never the truth
 * (docs/design.md, invariant 9), and it holds whatever anyone who reaches it wrote
 * (docs/security.md, "Redis"): a value is used only if it is one our own writers could have
 * written. Anything else is treated as absent: a balance is answered from Postgres (as on a
 * miss) and its entry removed, an ACCEPTED record is as if none were kept. Each such value
 * is logged (rate-limited, ctx.warn) with at most a few characters of it.
 *
 * packages/redis checks the encoding (BalanceCache.lookup, AcceptedTransfers.lookupAccepted);
 * this module checks the rest against the domain and the resources' schemas.
 */
import { type BalanceFigure, PRINCIPAL_CHARS_MAX, withinBalanceRange } from '@ledgerline/domain';
import { type AcceptedLookup, isWrongType, shown } from '@ledgerline/redis';
import { type HoldResource, type TransferResource, instantParam } from '@ledgerline/schemas';
import type { AccountFacts } from './account-directory';
import type { AppContext } from './context';
import { DependencyUnavailableError } from './errors';
import { acceptedResourceOf } from './resources';

/**
 * The cached figure of `facts`' account when it is one the account can have: packages/redis
 * checks its fields' encoding and its currency (the account's); here `as_of` must be an
 * instant the schemas accept and `available` (balance - held) within a balance's range. null
 * for a miss (counted as one); for a malformed entry too (a key of another type included),
 * once it is counted, logged and removed. The removal is awaited before the caller reads
 * Postgres: a worker's refresh that it removes was sent after that worker's commit, so
 * Postgres, read next, has that figure or a newer one, and the figure the caller writes back
 * never takes the cache back. Throws when Redis fails.
 */
export async function cachedBalance(ctx: AppContext, facts: AccountFacts): Promise<BalanceFigure | null> {
  const found = await orWrongType(ctx.redis.balances.lookup(facts.id, facts.currency), 'a hash');
  if (found === null) {
    ctx.metrics.cacheFallbacks.inc({ reason: 'miss' });
    return null;
  }
  const problem = 'figure' in found ? figureProblem(found.figure) : found.malformed;
  if (problem === null && 'figure' in found) return found.figure;
  ctx.metrics.cacheFallbacks.inc({ reason: 'malformed' });
  ctx.warn('cache-malformed-balance', `ignored the cached balance of account ${facts.id} (answered from Postgres, entry removed): ${problem}`);
  await ctx.redis.balances.drop(facts.id).catch(() => undefined); // not removed: the next read finds it again
  return null;
}

function figureProblem(figure: BalanceFigure): string | null {
  if (!instantParam.safeParse(figure.asOf).success) return `as_of ${shown(figure.asOf)} is not an instant`;
  const available = figure.balance - figure.held;
  if (!withinBalanceRange(available)) return `available (balance ${figure.balance} - held ${figure.held}) is outside a balance's range`;
  return null;
}

/** What Redis keeps for `id` (see acceptedRecord), a key of another type read as malformed; throws when Redis fails. */
export function lookupAccepted(ctx: AppContext, id: string): Promise<AcceptedLookup> {
  return orWrongType(ctx.redis.accepted.lookupAccepted(id), 'a string');
}

/** What `read` found, or malformed when Redis answered WRONGTYPE: the key holds another type than `expected`. */
async function orWrongType<T>(read: Promise<T>, expected: string): Promise<T | { malformed: string }> {
  try {
    return await read;
  } catch (error) {
    if (isWrongType(error)) return { malformed: `the key holds another type than ${expected}` };
    throw error;
  }
}

/** An ACCEPTED record as our writers write it: a transfer's or a hold's resource, and who sent it. */
export type AcceptedRecord = ({ transfer: TransferResource } | { hold: HoldResource }) & { principal: string };

/**
 * The ACCEPTED record kept for `id`, when it is one our writers wrote: null for none, and for
 * anything else (logged), as if none were kept. Transfers and holds keep theirs in one store:
 * the caller takes the kind it asked for (a hold's record is no transfer).
 */
export function acceptedRecord(ctx: AppContext, id: string, found: AcceptedLookup): AcceptedRecord | null {
  if (found === null) return null;
  let checked: ReturnType<typeof acceptedResourceOf>;
  if ('malformed' in found) checked = found;
  else {
    const { principal, resource } = found.record;
    checked = principal.length === 0 || principal.length > PRINCIPAL_CHARS_MAX ? { malformed: `its principal is ${principal.length} characters long` } : acceptedResourceOf(id, resource);
    if (!('malformed' in checked)) return { ...checked, principal };
  }
  ctx.warn('cache-malformed-accepted', `ignored the ACCEPTED record kept for ${id} (read as none): ${checked.malformed}`);
  return null;
}

/**
 * The ACCEPTED record kept for the transfer or hold `id` (acceptedRecord), for a status read:
 * Redis failing is 503, as the read cannot tell whether `id` was accepted.
 */
export async function acceptedRecordForRead(ctx: AppContext, id: string, what: 'transfer' | 'hold'): Promise<AcceptedRecord | null> {
  let found;
  try {
    found = await lookupAccepted(ctx, id);
  } catch {
    throw new DependencyUnavailableError('redis', `redis did not answer (down or too slow): cannot tell whether ${what} ${id} was accepted; retry shortly`);
  }
  return acceptedRecord(ctx, id, found);
}

/** The transfer an ACCEPTED record holds; null for none, or a hold's. */
export const transferIn = (record: AcceptedRecord | null): TransferResource | null => (record && 'transfer' in record ? record.transfer : null);

/** The hold an ACCEPTED record holds; null for none, or a transfer's. */
export const holdIn = (record: AcceptedRecord | null): HoldResource | null => (record && 'hold' in record ? record.hold : null);
