/**
 * Holds at the API (docs/api.md, Holds): place one, read it (long poll), capture it, void it.
 *
 * A hold's states are documented in packages/domain/src/model.ts; the API adds ACCEPTED (in
 * Kafka, not applied yet: the Redis record). The writer of the held account's partition
 * decides everything else, so the API's checks here (ownership, capture amount) only spare
 * a round trip: the worker checks again.
 *
 * Placing a hold goes through submitMovements (movements.ts), like every transfer, deposit
 * and withdrawal, so that `POST /v1/batch` places holds the same way and in batch order.
 */
import { type AuthContext, canWrite, isAdmin } from '@ledgerline/auth';
import { type CaptureCommand, type VoidHoldCommand, holdEndedKey, holdIdFor, transferIdFor } from '@ledgerline/domain';
import { type HoldRow, findAccount, findHold, findIdempotencyClaimant } from '@ledgerline/postgres';
import type { HoldResource, HoldWait, TransferResource, captureBody, holdBody } from '@ledgerline/schemas';
import type { z } from 'zod';
import { readRepairBalances } from './balance-read-repair';
import { acceptedRecordForRead, holdIn, transferIn } from './cached-values';
import { submitCommand, publishCommand } from './command-submission';
import { earlierTransfer, submitMovements } from './movements';
import { type ClaimedOnly, type Hidden, findAsShown, isClaimedOnly, isHidden, mayKnowOfClaim, readLongPolled } from './status-read';
import type { AppContext } from './context';
import { ApiError, acceptedButUnrecorded, forbidden, notFound, validationFailed } from './errors';
import { requestHashOf } from './request-hash';
import { acceptedTransferWire, holdWire } from './resources';

export interface HoldAnswer {
  /** 202 when this request made it durable; 200 when it replays an earlier one. */
  status: 200 | 202;
  resource: HoldResource;
}

/**
 * `POST /v1/holds`: the owner of the account (or an admin) reserves money on it. Placed by
 * submitMovements (movements.ts), the one function that accepts movements for the single
 * endpoints and for POST /v1/batch's items, so a hold in a batch keeps its place in the
 * batch's order.
 */
export async function submitHold(ctx: AppContext, auth: AuthContext, idempotencyKey: string, input: z.output<typeof holdBody>): Promise<HoldAnswer> {
  const [outcome] = await submitMovements(ctx, auth, [{ id: holdIdFor(auth.principal, idempotencyKey), request: { kind: 'HOLD', body: input } }], 'claim');
  if (outcome?.answer === undefined) throw outcome?.error;
  return { status: outcome.answer.status, resource: outcome.answer.resource as HoldResource };
}

interface CurrentHold {
  resource: HoldResource;
  principal: string;
  row: HoldRow | null;
}

/**
 * The hold as `auth` may see it: Postgres (applied), else the Redis ACCEPTED record, else
 * Postgres again, else the key's claimant when only the Idempotency-Key claim shows it was
 * accepted (its record lost: transfer-status.ts), else nothing; another owner's is HIDDEN,
 * after the same reads as an unknown id (findAsShown).
 */
async function currentHold(ctx: AppContext, auth: AuthContext, holdId: string): Promise<CurrentHold | ClaimedOnly | Hidden | null> {
  return await findAsShown<CurrentHold>(
    {
      applied: async () => {
        const row = await findHold(ctx.pool, holdId);
        return row ? { resource: holdWire(row), principal: row.principal, row } : null;
      },
      accepted: () => acceptedHold(ctx, holdId),
      claimant: () => findIdempotencyClaimant(ctx.pool, holdId, 'hold'),
    },
    (current) => mayRead(ctx, auth, current),
  );
}

/**
 * The hold its ACCEPTED record shows; none for no record or a malformed one (as if none were
 * kept), and none for a transfer's, which `otherFamily` tells apart.
 */
async function acceptedHold(ctx: AppContext, holdId: string): Promise<{ found: CurrentHold | null; otherFamily: boolean }> {
  const accepted = await acceptedRecordForRead(ctx, holdId, 'hold');
  const resource = holdIn(accepted);
  return { found: accepted && resource ? { resource, principal: accepted.principal, row: null } : null, otherFamily: transferIn(accepted) !== null };
}

/** The hold as `auth` may see it; 404 when it may not, 503 when only its claim shows it (acceptedButUnrecorded). */
async function visibleHold(ctx: AppContext, auth: AuthContext, holdId: string): Promise<CurrentHold> {
  const current = await currentHold(ctx, auth, holdId);
  if (current === null || isHidden(current)) throw notFound('hold');
  if (isClaimedOnly(current)) {
    if (mayKnowOfClaim(auth, current.claimant)) throw acceptedButUnrecorded('hold', holdId);
    throw notFound('hold');
  }
  return current;
}

/**
 * The held account's owner or an admin; 404 for anyone else. Having placed it is not enough
 * (a placer without admin owns the account anyway; see transfer-status.ts, mayRead).
 */
async function mayRead(ctx: AppContext, auth: AuthContext, hold: CurrentHold): Promise<boolean> {
  if (isAdmin(auth)) return true;
  const facts = await ctx.directory.lookup(hold.resource.account_id);
  return facts?.owner === auth.principal;
}

/**
 * `GET /v1/holds/{id}?wait_ms=&until=`: waits while the hold is ACCEPTED (not applied yet),
 * and with `until` ended also while it is HELD, on its ended key (holdEndedKey), which the
 * worker notifies when a batch ends the hold or refuses it, and the re-check finds settled
 * only once it is no longer HELD.
 */
export async function readHold(ctx: AppContext, auth: AuthContext, holdId: string, waitMs: number, until: HoldWait = 'applied'): Promise<HoldResource> {
  const current = await readLongPolled(ctx, auth, holdId, waitMs, {
    what: 'hold',
    waitKey: until === 'ended' ? holdEndedKey(holdId) : holdId,
    current: () => currentHold(ctx, auth, holdId),
    unsettled: (found) => found.resource.status === 'ACCEPTED' || (until === 'ended' && found.resource.status === 'HELD'),
  });
  // A REJECTED hold never changed a balance: nothing for the cache to catch up with.
  if (current.resource.status !== 'ACCEPTED' && current.resource.status !== 'REJECTED') await readRepairBalances(ctx, [current.resource.account_id]);
  return current.resource;
}

/** The hold a capture or void names, if the caller may act on it (owner of the held account or admin). */
async function holdToActOn(ctx: AppContext, auth: AuthContext, holdId: string): Promise<CurrentHold> {
  const current = await visibleHold(ctx, auth, holdId);
  if (isAdmin(auth)) return current;
  if (!canWrite(auth)) throw forbidden('this token lacks the ledger:write scope');
  const facts = await ctx.directory.lookup(current.resource.account_id);
  if (facts?.owner !== auth.principal) throw forbidden('only the owner of the held account may capture or void a hold');
  return current;
}

export interface CaptureAnswer {
  status: 200 | 202;
  resource: TransferResource;
}

/**
 * `POST /v1/holds/{id}/capture`: a transfer of kind CAPTURE from the held account. Its id is
 * derived from (principal, Idempotency-Key) like any transfer's, so a retry names it again.
 */
export async function submitCapture(
  ctx: AppContext,
  auth: AuthContext,
  idempotencyKey: string,
  holdId: string,
  input: z.output<typeof captureBody>,
): Promise<CaptureAnswer> {
  const hold = await holdToActOn(ctx, auth, holdId);
  const body = { ...input, to_account_id: input.to_account_id.toLowerCase() };
  const transferId = transferIdFor(auth.principal, idempotencyKey);
  // A hold the API already reads as ended (a row no longer HELD), or due though the scan has
  // not released it yet (accepted now, the capture would be stamped at or after expires_at,
  // and the worker decides by that stamp), can only refuse a capture: 409 at once, before the
  // destination is looked at. Accepted to end REJECTED, it gave the caller, for free and
  // without limit, the destination checks' verdict on any account id (an outside review). A
  // retry under a key a capture was sent (or may have been) under goes on to submitCommand,
  // still without looking at the destination.
  const ended = hold.row !== null && hold.row.status !== 'HELD' ? hold.row.status : null;
  const due = ended === null && ctx.clock.now().getTime() >= Date.parse(hold.resource.expires_at);
  const closed = ended !== null || due;
  if (closed && !(await sentEarlierUnderKey(ctx, transferId))) throw ended !== null ? holdEndedError(ended) : holdDueError(hold.resource.expires_at);
  const holdAmount = BigInt(hold.resource.amount);
  const amount = body.amount === undefined ? holdAmount : BigInt(body.amount);
  if (amount > holdAmount) throw validationFailed([{ path: 'amount', message: `must be at most the hold's amount (${holdAmount})` }]);
  if (body.to_account_id === hold.resource.account_id) throw validationFailed([{ path: 'to_account_id', message: 'must differ from the held account' }]);
  if (!closed) await refuseDestination(ctx, hold, body.to_account_id, transferId);
  const requestHash = requestHashOf('CAPTURE', { hold_id: holdId, ...body });
  const answer = await submitCommand<TransferResource>(ctx, auth, {
    id: transferId,
    subject: hold.resource.account_id,
    requestHash,
    build: (acceptedAt) => {
      const command: CaptureCommand = {
        type: 'CAPTURE',
        transferId,
        holdId,
        accountId: hold.resource.account_id,
        toAccountId: body.to_account_id,
        amount,
        currency: hold.resource.currency,
        principal: auth.principal,
        admin: isAdmin(auth),
        requestHash,
        acceptedAt,
      };
      return { command, resource: acceptedTransferWire(command) };
    },
    earlier: () => earlierTransfer(ctx, transferId),
  });
  return { status: answer.status, resource: answer.resource };
}

/**
 * The 409 for a capture of an ended (or due) hold. An EXPIRED one answers the worker's own reason for a
 * late capture, HOLD_EXPIRED: a client that branches on it (to place a new hold) gets it
 * whether the expiry scan released the hold before the capture came or not (an outside
 * review); the others, HOLD_NOT_ACTIVE.
 */
function holdEndedError(status: HoldRow['status']): ApiError {
  return new ApiError(409, status === 'EXPIRED' ? 'HOLD_EXPIRED' : 'HOLD_NOT_ACTIVE', `the hold is ${status}: only a HELD hold can be captured`);
}

/**
 * A hold past its expires_at that the expiry scan has not released yet: still read HELD (its
 * GET says so for a few seconds), so the answer names the time rather than a status it does
 * not show yet (an outside review: "the hold is EXPIRED" beside a GET reading HELD).
 */
function holdDueError(expiresAt: string): ApiError {
  return new ApiError(409, 'HOLD_EXPIRED', `the hold expired at ${expiresAt}: a capture must be sent before it (the hold reads HELD until the expiry releases it, within seconds)`);
}

/**
 * A command went out under this key before, or may have: its transfer shows (the row, or the
 * ACCEPTED record), or only the key's claim does (the record lost, or never written: an
 * ambiguous 503 keeps the key bound). submitCommand then replays it, publishes it again (the
 * same body: the worker dedupes on the id) or answers 422 (another body), as it does for a
 * live hold; a 409 there would turn into 200 once the first attempt is applied (an outside
 * review).
 */
async function sentEarlierUnderKey(ctx: AppContext, transferId: string): Promise<boolean> {
  if (await earlierTransfer(ctx, transferId)) return true;
  return (await findIdempotencyClaimant(ctx.pool, transferId, 'transfer')) !== null;
}

/**
 * Across partitions a hold ends CAPTURED before the destination answers (docs/api.md): a
 * destination that cannot exist, cannot take the currency or is closed would use the hold up
 * for a refund, so what never changes about an account is checked here, before anything is
 * sent. Run only for a hold that may still be HELD: the caller can pay, and learns what a
 * transfer it can pay would tell it (REJECTED DESTINATION_NOT_FOUND, CURRENCY_MISMATCH,
 * ACCOUNT_CLOSED), no more (not which currency the account is in: it may be anyone's).
 */
async function refuseDestination(ctx: AppContext, hold: CurrentHold, toAccountId: string, transferId: string): Promise<void> {
  const destination = await ctx.directory.lookup(toAccountId);
  if (!destination || destination.kind !== 'USER') throw validationFailed([{ path: 'to_account_id', message: 'no such account' }]);
  if (destination.currency !== hold.resource.currency) {
    // Not which currency it is: the account may be anyone's (an outside review).
    throw validationFailed([{ path: 'to_account_id', message: `is in another currency than the hold (${hold.resource.currency})` }]);
  }
  // A closed account stays closed, so it can only refuse the capture; across partitions it
  // would refuse it only once the hold is used up (CAPTURED, its amount refunded to the held
  // account's balance), where on one partition the hold stays HELD. Refused here, the hold
  // stays HELD wherever the destination lives. Not for a retry of a capture sent, or maybe
  // sent, before the destination closed (its transfer, its record, or only its key's claim
  // shows it: sentEarlierUnderKey): that one replays, or publishes the same body again, as
  // its first attempt may still be applied (an outside review found the claim missed here).
  if ((await findAccount(ctx.pool, toAccountId))?.status === 'CLOSED' && !(await sentEarlierUnderKey(ctx, transferId))) {
    throw validationFailed([{ path: 'to_account_id', message: 'is closed' }]);
  }
}

/**
 * `POST /v1/holds/{id}/void`: asks the writer to release the hold. A void is idempotent by
 * the hold's state (a second one finds it no longer HELD), so it needs no claim; the answer
 * is the hold as it is now, and `GET /v1/holds/{id}` shows VOIDED (or what won the race).
 */
export async function submitVoid(ctx: AppContext, auth: AuthContext, holdId: string): Promise<HoldResource> {
  const hold = await holdToActOn(ctx, auth, holdId);
  const command: VoidHoldCommand = {
    type: 'VOID_HOLD',
    holdId,
    accountId: hold.resource.account_id,
    principal: auth.principal,
    admin: isAdmin(auth),
    acceptedAt: ctx.clock.now().toISOString(),
  };
  await publishCommand(ctx, command);
  return hold.resource;
}

