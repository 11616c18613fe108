/**
 * The write path shared by the account commands of docs/api.md (holds, captures, reversals, account changes),
 * the same steps as `submitMovement` (movements.ts) without its money-movement specifics:
 *
 *   hold check (bucket being moved: 503) -> idempotency claim in Postgres -> replay: the
 *   earlier resource -> publish to the subject's partition, wait for acks=all -> ACCEPTED
 *   record in Redis -> 202
 *
 * With the same two rules as movements.ts: a failed publish gives the key back only when the
 * command certainly never left this process (docs/design.md invariant 11), and the routing
 * table is leased from the hold check until the publish has resolved (a bucket move's settle
 * step waits for it).
 */
import type { AuthContext } from '@ledgerline/auth';
import { type Command, type RoutingTable, subjectAccountOf } from '@ledgerline/domain';
import { releaseIdempotencyKey } from '@ledgerline/postgres';
import { encodeCommand } from '@ledgerline/schemas';
import { BackpressureError, publishMayHaveReachedKafka } from '@ledgerline/kafka';
import type { AppContext } from './context';
import { BucketMovingError, idempotencyKeyReused } from './errors';

export interface CommandSubmission<R> {
  /** The command's id (the claim's key): transfer, hold or account change id. */
  id: string;
  /** The account whose partition applies it. */
  subject: string;
  requestHash: string;
  /** Builds the command and its ACCEPTED resource at the moment it is accepted. */
  build(acceptedAt: string): { command: Command; resource: R };
  /** What an earlier request with the same key and body produced, if anything shows yet. */
  earlier(): Promise<R | null>;
  /** Record the ACCEPTED resource in Redis (GET shows it until the worker applied it). */
  recordAccepted?: boolean;
}

export interface SubmissionAnswer<R> {
  status: 200 | 202;
  resource: R;
  /** True when this request published the command (false for a replay). */
  published: boolean;
}

export async function submitCommand<R extends Record<string, unknown>>(
  ctx: AppContext,
  auth: AuthContext,
  submission: CommandSubmission<R>,
): Promise<SubmissionAnswer<R>> {
  const lease = ctx.routing.lease();
  try {
    return await submitWithTable(ctx, auth, submission, lease.table);
  } finally {
    lease.release();
  }
}

async function submitWithTable<R extends Record<string, unknown>>(
  ctx: AppContext,
  auth: AuthContext,
  submission: CommandSubmission<R>,
  routing: RoutingTable,
): Promise<SubmissionAnswer<R>> {
  const { id, subject, requestHash } = submission;
  // Before any claim: a held bucket's command is refused without using the key up.
  if (routing.isHeld(subject)) {
    throw new BucketMovingError(`account ${subject} is being moved to another partition; retry shortly with the same Idempotency-Key`);
  }
  const claim = await ctx.claims.claim(id, auth.principal, requestHash);
  if (claim.kind === 'reused') {
    ctx.metrics.idempotency.inc({ outcome: 'reused' });
    throw idempotencyKeyReused();
  }
  if (claim.kind === 'replay') {
    const earlier = await submission.earlier();
    if (earlier) {
      ctx.metrics.idempotency.inc({ outcome: 'replay' });
      return { status: 200, resource: earlier, published: false };
    }
    // Claimed with this very body but nothing to show: publishing again is safe (the
    // worker dedupes on the id).
  }
  // Accepted at the key's first claim: every submission of this id builds the same command
  // (a reversal without an amount may carry another estimate; its writer takes the rest).
  const { command, resource } = submission.build(claim.claimedAt);
  if (subjectAccountOf(command) !== subject) throw new Error(`command ${id} routes by ${subjectAccountOf(command)}, not ${subject}`);
  try {
    await ctx.publisher.publishTogether([{ topic: ctx.commandsTopic, partition: routing.partitionOf(subject), key: subject, value: encodeCommand(command, ctx.seal) }]);
  } catch (error) {
    const maybeSent = publishMayHaveReachedKafka(error);
    // A claim with no version shared its statement with a replay, which may publish: kept.
    if (claim.kind === 'new' && claim.version !== null && !maybeSent) {
      // A release that fails leaves the key bound (a retry with the same body publishes again).
      await releaseIdempotencyKey(ctx.pool, id, requestHash, claim.version).catch((e: Error) =>
        ctx.warn('releaseIdempotencyKey', `releasing the Idempotency-Key of ${id} failed: ${e.message}`),
      );
    }
    ctx.metrics.publishFailures.inc({ reason: publishFailureReason(error) });
    throw error;
  }
  if (submission.recordAccepted !== false) {
    await ctx.redis.accepted
      .putAccepted({ id, principal: auth.principal, requestHash, resource })
      .catch((error: Error) => ctx.warn('putAccepted', `putAccepted failed: ${error.message}`));
  }
  ctx.metrics.idempotency.inc({ outcome: 'new' });
  return { status: 202, resource, published: true };
}

/**
 * ledger_api_publish_failures_total's reason: the local buffer was full (backpressure), Kafka
 * may have the command (unknown: the key stays bound), or it certainly does not (unavailable).
 */
export function publishFailureReason(error: unknown): 'backpressure' | 'unknown' | 'unavailable' {
  if (error instanceof BackpressureError) return 'backpressure';
  return publishMayHaveReachedKafka(error) ? 'unknown' : 'unavailable';
}

/** Publishes a command that needs no claim (its effect is idempotent by state: a void). */
export async function publishCommand(ctx: AppContext, command: Command): Promise<void> {
  const subject = subjectAccountOf(command);
  const lease = ctx.routing.lease();
  try {
    if (lease.table.isHeld(subject)) {
      throw new BucketMovingError(`account ${subject} is being moved to another partition; retry shortly`);
    }
    await ctx.publisher.publishTogether([{ topic: ctx.commandsTopic, partition: lease.table.partitionOf(subject), key: subject, value: encodeCommand(command, ctx.seal) }]);
  } catch (error) {
    if (error instanceof BucketMovingError) throw error;
    ctx.metrics.publishFailures.inc({ reason: publishFailureReason(error) });
    throw error;
  } finally {
    lease.release();
  }
}
