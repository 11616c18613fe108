/**
 * `POST /v1/transfers/{id}/reversals` (docs/api.md, Reversals): pay back (part of) a COMPLETED TRANSFER,
 * CAPTURE or DEPOSIT, from its destination to its source (a deposit's back outside).
 *
 * The command goes to the partition of the original's destination account: the single
 * writer of "how much of T is reversed", which refuses an over-reversal
 * (REVERSAL_EXCEEDS_ORIGINAL). What the API reads here (status, what is left) only fills the
 * default amount and spares an obviously doomed command; the writer decides.
 */
import { type AuthContext, canWrite, isAdmin } from '@ledgerline/auth';
import { REVERSIBLE_KINDS, type ReversalCommand, transferIdFor } from '@ledgerline/domain';
import type { TransferRow } from '@ledgerline/postgres';
import type { TransferResource, reversalBody } from '@ledgerline/schemas';
import type { z } from 'zod';
import { submitCommand } from './command-submission';
import { earlierTransfer } from './movements';
import type { AppContext } from './context';
import { ApiError, forbidden, notFound, validationFailed } from './errors';
import { requestHashOf } from './request-hash';
import { isClaimedOnly, isHidden, mayKnowOfClaim } from './status-read';
import { currentTransfer } from './transfer-status';
import { acceptedTransferWire } from './resources';

export interface ReversalAnswer {
  status: 200 | 202;
  resource: TransferResource;
}

export async function submitReversal(
  ctx: AppContext,
  auth: AuthContext,
  idempotencyKey: string,
  originalId: string,
  body: z.output<typeof reversalBody>,
): Promise<ReversalAnswer> {
  const { row: original, reversed } = await appliedOriginal(ctx, auth, originalId);
  const payer = original.toAccountId;
  const payerFacts = payer ? await ctx.directory.lookup(payer) : null;
  if (!payer || original.status !== 'COMPLETED' || !REVERSIBLE_KINDS.includes(original.kind)) throw notReversible();
  if (!isAdmin(auth)) {
    if (!canWrite(auth)) throw forbidden('this token lacks the ledger:write scope');
    if (payerFacts?.owner !== auth.principal) throw forbidden("only the owner of the original's destination account may reverse it");
  }
  const transferId = transferIdFor(auth.principal, idempotencyKey);
  // More than the whole original can never be taken back, whatever else is reversed: refused
  // now, as a capture of more than its hold is, not accepted to end REJECTED later (an outside
  // review). More than what is left (other reversals) is the writer's to decide. A retry of
  // such a reversal accepted before this rule (it ended REJECTED) still gets its replay.
  if (body.amount !== undefined && BigInt(body.amount) > original.amount && !(await earlierTransfer(ctx, transferId))) {
    throw validationFailed([{ path: 'amount', message: `must be at most the original's amount (${original.amount})` }]);
  }
  const requestHash = requestHashOf('REVERSAL', { reverses: originalId, ...body });
  const reversalTo = original.kind === 'DEPOSIT' ? null : original.fromAccountId;
  // Without an amount the writer takes what is left when it applies the reversal (`rest`):
  // only it counts the reversals still in flight. What is left now, as far as the applied
  // ones tell, is the accepted answer's amount; with nothing left, the whole original, whose
  // refusal gets recorded rather than a request that can never succeed.
  const rest = body.amount === undefined;
  const left = original.amount - reversed;
  const amount = body.amount !== undefined ? BigInt(body.amount) : left > 0n ? left : original.amount;
  const answer = await submitCommand<TransferResource>(ctx, auth, {
    id: transferId,
    subject: payer,
    requestHash,
    build: (acceptedAt) => {
      const command: ReversalCommand = {
        type: 'REVERSAL',
        transferId,
        reverses: originalId,
        fromAccountId: payer,
        amount,
        currency: original.currency,
        description: body.description ?? null,
        ...(rest ? { rest: true as const } : {}),
        principal: auth.principal,
        admin: isAdmin(auth),
        requestHash,
        acceptedAt,
      };
      return { command, resource: acceptedTransferWire(command, reversalTo) };
    },
    earlier: () => earlierTransfer(ctx, transferId),
  });
  return { status: answer.status, resource: answer.resource };
}

const notReversible = () => new ApiError(409, 'TRANSFER_NOT_REVERSIBLE', 'only a COMPLETED TRANSFER, CAPTURE or DEPOSIT can be reversed');

/**
 * The original's row and how much of it is reversed, for a caller who may read it (404 for anyone else), found as a status read finds a transfer (transfer-status.ts): its row,
 * else its ACCEPTED record, else its row again, else its claim. One accepted but not applied
 * yet has no row, and a status read shows it ACCEPTED (or, its record lost with the cache,
 * 503 to its claimant): to whoever may read it, it is not reversible yet (409), not missing
 * (a 404 would tell the caller that a transfer it has seen does not exist). Anyone else, and
 * an id nobody sent, gets 404; Redis not answering is 503, as for a status read.
 */
async function appliedOriginal(ctx: AppContext, auth: AuthContext, originalId: string): Promise<{ row: TransferRow; reversed: bigint }> {
  // Whoever may read the original learns why they may not reverse it; anyone else gets 404,
  // after the same reads as for an id nobody sent (findAsShown).
  const current = await currentTransfer(ctx, auth, originalId);
  if (current === null || isHidden(current)) throw notFound('transfer');
  if (isClaimedOnly(current)) {
    if (mayKnowOfClaim(auth, current.claimant)) throw notReversible();
    throw notFound('transfer');
  }
  if (!current.row) throw notReversible();
  // The read shows a COMPLETED reversible transfer with what its reversals took back.
  return { row: current.row, reversed: BigInt(current.resource.reversed_amount ?? '0') };
}
