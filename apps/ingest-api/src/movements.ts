/**
 * Accepting a money movement (transfer, deposit, withdrawal): the API's write path.
 *
 *   authorise (scope, ownership of the source account)
 *   -> hold check (bucket being moved: 503) -> idempotency claim in Postgres, batched with
 *      the claims of concurrent requests (the truth: a reused key stays a 422 even when
 *      Redis forgot everything) -> earlier resource
 *      from Postgres or the Redis ACCEPTED record
 *   -> route (account -> bucket -> partition) -> publish to Kafka, wait for acks=all
 *   -> record ACCEPTED in Redis -> 202 + Location
 *
 * The transfer id is derived from (principal, Idempotency-Key), so every retry names the
 * same transfer and the worker applies it at most once whatever the API does. What the
 * API adds is the answer: a replay with the same body gets the transfer's current
 * resource (200), a reuse with another body 422, a publish that failed 429/503 with the
 * key released so the retry can go through.
 */
import { type AuthContext, canWrite, isAdmin } from '@ledgerline/auth';
import { type ClientCommand, transferIdFor } from '@ledgerline/domain';
import { findTransfer, releaseIdempotencyKey } from '@ledgerline/postgres';
import { type TransferResource, encodeCommand } from '@ledgerline/schemas';
import { BackpressureError } from '@ledgerline/kafka';
import type { z } from 'zod';
import type { movementBody, transferBody } from '@ledgerline/schemas';
import type { AcceptedTransfer } from '@ledgerline/redis';
import type { AppContext } from './context';
import { BucketMovingError, forbidden, idempotencyKeyReused } from './errors';
import { requestHashOf } from './request-hash';
import { acceptedTransferWire, transferWireFromRow } from './resources';

export type MovementRequest =
  | { kind: 'TRANSFER'; body: z.output<typeof transferBody> }
  | { kind: 'DEPOSIT'; body: z.output<typeof movementBody> }
  | { kind: 'WITHDRAWAL'; body: z.output<typeof movementBody> };

export interface MovementAnswer {
  /** 202 when this request made it durable; 200 when it replays an earlier one. */
  status: 200 | 202;
  resource: TransferResource;
}

export async function submitMovement(
  ctx: AppContext,
  auth: AuthContext,
  idempotencyKey: string,
  request: MovementRequest,
): Promise<MovementAnswer> {
  const normalized = normalize(request);
  await authorise(ctx, auth, normalized);
  const subject = subjectOf(normalized);
  // Before any claim: a held bucket's command is refused without using the key up.
  if (ctx.routing.current().isHeld(subject)) {
    throw new BucketMovingError(`account ${subject} is being moved to another partition; retry shortly with the same Idempotency-Key`);
  }
  const transferId = transferIdFor(auth.principal, idempotencyKey);
  const requestHash = requestHashOf(normalized.kind, normalized.body);

  const claim = await ctx.claims.claim(transferId, auth.principal, requestHash);
  if (claim.kind === 'reused') {
    ctx.metrics.idempotency.inc({ outcome: 'reused' });
    throw idempotencyKeyReused();
  }
  if (claim.kind === 'replay') {
    const earlier = await earlierResource(ctx, transferId);
    if (earlier) {
      ctx.metrics.idempotency.inc({ outcome: 'replay' });
      return { status: 200, resource: earlier };
    }
    // Claimed with this very body but nothing to show: that request died before Kafka acked
    // (or is publishing right now). Publishing again is safe: same body, same partition,
    // and the worker dedupes on the transfer id.
  }

  const command = toCommand(normalized, auth, transferId, requestHash, ctx.clock().toISOString());
  try {
    await ctx.publisher.publish({
      topic: ctx.commandsTopic,
      partition: ctx.routing.current().partitionOf(subject),
      key: subject,
      value: encodeCommand(command),
    });
  } catch (error) {
    // Nothing was accepted: give the key back so the client's retry can go through.
    if (claim.kind === 'new') await releaseIdempotencyKey(ctx.pool, transferId, requestHash).catch(() => undefined);
    ctx.metrics.publishFailures.inc({ reason: error instanceof BackpressureError ? 'backpressure' : 'unavailable' });
    throw error;
  }

  const resource = acceptedTransferWire(command);
  const record: AcceptedTransfer = { id: transferId, principal: auth.principal, requestHash, resource };
  // Awaited so that a GET right after the 202 finds it; a failure only costs that GET a 404
  // until the worker has applied the transfer.
  await ctx.redis.accepted.putAccepted(record).catch((error: Error) => ctx.warn('putAccepted', `putAccepted failed: ${error.message}`));
  ctx.metrics.idempotency.inc({ outcome: 'new' });
  return { status: 202, resource };
}

/** Ids lower-cased so that case never changes the route, the hash or the owner lookup. */
function normalize(request: MovementRequest): MovementRequest {
  switch (request.kind) {
    case 'TRANSFER':
      return {
        kind: 'TRANSFER',
        body: { ...request.body, from_account_id: request.body.from_account_id.toLowerCase(), to_account_id: request.body.to_account_id.toLowerCase() },
      };
    case 'DEPOSIT':
    case 'WITHDRAWAL':
      return { kind: request.kind, body: { ...request.body, account_id: request.body.account_id.toLowerCase() } };
  }
}

function subjectOf(request: MovementRequest): string {
  return request.kind === 'TRANSFER' ? request.body.from_account_id : request.body.account_id;
}

/**
 * Deposits bring money from outside: admin only. Transfers and withdrawals take money from
 * an account: its owner or an admin. An account that does not exist is refused like
 * someone else's (403), so the answer does not reveal which ids exist. Admins are not
 * checked here: the worker rejects a missing account with ACCOUNT_NOT_FOUND.
 */
async function authorise(ctx: AppContext, auth: AuthContext, request: MovementRequest): Promise<void> {
  if (request.kind === 'DEPOSIT') {
    if (!isAdmin(auth)) throw forbidden('deposits need the ledger:admin scope');
    return;
  }
  if (isAdmin(auth)) return;
  if (!canWrite(auth)) throw forbidden('this token lacks the ledger:write scope');
  const source = await ctx.directory.lookup(subjectOf(request));
  if (!source || source.kind !== 'USER' || source.owner !== auth.principal) {
    throw forbidden('money can only be moved from your own accounts');
  }
}

/** What an earlier request with the same key and body produced: Postgres, else the ACCEPTED record. */
async function earlierResource(ctx: AppContext, transferId: string): Promise<TransferResource | null> {
  const row = await findTransfer(ctx.pool, transferId);
  if (row) return transferWireFromRow(row);
  const accepted = await ctx.redis.accepted.getAccepted(transferId).catch(() => null);
  return accepted ? (accepted.resource as TransferResource) : null;
}

function toCommand(
  request: MovementRequest,
  auth: AuthContext,
  transferId: string,
  requestHash: string,
  acceptedAt: string,
): ClientCommand {
  const common = {
    transferId,
    amount: BigInt(request.body.amount),
    currency: request.body.currency,
    principal: auth.principal,
    admin: isAdmin(auth),
    requestHash,
    acceptedAt,
  };
  switch (request.kind) {
    case 'TRANSFER':
      return {
        type: 'TRANSFER',
        fromAccountId: request.body.from_account_id,
        toAccountId: request.body.to_account_id,
        description: request.body.description ?? null,
        ...common,
      };
    case 'DEPOSIT':
    case 'WITHDRAWAL':
      return { type: request.kind, accountId: request.body.account_id, ...common };
  }
}
