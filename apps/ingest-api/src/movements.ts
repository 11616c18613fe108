/**
 * Accepting money movements (transfer, deposit, withdrawal): the API's write path, one
 * function for the single endpoints and for each item of POST /v1/batch (routes/batch.ts).
 *
 *   authorise (scope, ownership of the source account)
 *   -> hold check (bucket being moved: 503) -> idempotency claim in Postgres, batched with
 *      the claims of concurrent requests (the truth: a reused key stays a 422 even when
 *      Redis forgot everything; a batch item is bound by its batch's claim instead,
 *      IdBinding) -> earlier resource from Postgres or the Redis ACCEPTED record
 *   -> route (account -> bucket -> partition) -> publish to Kafka, wait for acks=all (a
 *      batch's commands in item order, in as few produce requests as
 *      API_PRODUCE_GROUP_BYTES_MAX allows, one after another: groupsOf)
 *   -> record ACCEPTED in Redis (a batch's records in one call) -> 202 + Location
 *
 * The transfer id is derived from (principal, Idempotency-Key) (a batch item's from
 * (principal, batch key, index): batchItemIdFor), so every retry names the
 * same transfer and the worker applies it at most once whatever the API does. What the
 * API adds is the answer: a replay with the same body gets the transfer's current
 * resource (200), a reuse with another body 422. A publish that failed answers 429/503; the
 * key is given back only when the message certainly never left this process (a full
 * buffer, a producer refusing up front, a group after a failed one). Once a message may have
 * reached Kafka the key stays bound to it (docs/design.md invariant 11): a retry with the
 * same body publishes the same command again (the worker dedupes), another body is 422,
 * always. Handing it back would let a second body get 202 while the worker silently drops
 * it as a duplicate of the first.
 *
 * The routing snapshot is leased from the hold check until the publish has resolved: a
 * bucket move's settle step waits until no request that passed the hold check with an older
 * table is still publishing (packages/postgres/src/routing.ts, RoutingWatcher).
 */
import { type AuthContext, canWrite, isAdmin } from '@ledgerline/auth';
import { type ClientCommand, type HoldCommand, type RoutingTable, commandIdOf, transferIdFor } from '@ledgerline/domain';
import { type KeyClaim, findHold, findHolds, findTransfer, findTransfers, releaseIdempotencyKey } from '@ledgerline/postgres';
import { type HoldResource, type TransferResource, encodeCommand } from '@ledgerline/schemas';
import { BrokerUnavailableError, publishMayHaveReachedKafka } from '@ledgerline/kafka';
import type { z } from 'zod';
import type { holdBody, movementBody, transferBody } from '@ledgerline/schemas';
import type { AcceptedTransfer } from '@ledgerline/redis';
import type { AppContext } from './context';
import { lookupAs } from './account-directory';
import { BucketMovingError, forbidden, idempotencyKeyReused } from './errors';
import { publishFailureReason } from './command-submission';
import { requestHashOf } from './request-hash';
import { withReversedAmount, withReversedAmounts } from './transfer-status';
import { acceptedHoldWire, acceptedTransferWire, holdWire, transferWireFromRow } from './resources';
import { appliedElseAccepted, appliedElseAcceptedMany } from './applied-else-accepted';
import { acceptedRecord, holdIn, lookupAccepted, transferIn } from './cached-values';

/** A HOLD reserves money rather than moving it, but is accepted exactly like the others (POST /v1/holds, batch items). */
export type MovementRequest =
  | { kind: 'TRANSFER'; body: z.output<typeof transferBody> }
  | { kind: 'DEPOSIT'; body: z.output<typeof movementBody> }
  | { kind: 'WITHDRAWAL'; body: z.output<typeof movementBody> }
  | { kind: 'HOLD'; body: z.output<typeof holdBody> };

export interface MovementAnswer {
  /** 202 when this request made it durable; 200 when it replays an earlier one. */
  status: 200 | 202;
  /** A hold's resource for HOLD, a transfer's for the others. */
  resource: TransferResource | HoldResource;
}

/** One movement to submit: its resource's id (already derived by the caller) and its body. */
export interface MovementSubmission {
  /**
   * The transfer's or the hold's id: transferIdFor / holdIdFor(principal, Idempotency-Key),
   * or batchItemIdFor(principal, key, index) for a batch item.
   */
  id: string;
  request: MovementRequest;
}

/** What became of one submission: the answer, or the error its single endpoint would throw. */
export type MovementOutcome = { answer: MovementAnswer; error?: undefined } | { error: unknown; answer?: undefined };

/** The single endpoints' entry point: one movement, the transfer id derived from (principal, key). */
export async function submitMovement(
  ctx: AppContext,
  auth: AuthContext,
  idempotencyKey: string,
  request: MovementRequest,
): Promise<MovementAnswer> {
  const [outcome] = await submitMovements(ctx, auth, [{ id: transferIdFor(auth.principal, idempotencyKey), request }], 'claim');
  if (outcome?.answer === undefined) throw outcome?.error;
  return outcome.answer;
}

/**
 * How each submission's id is bound to its body (docs/design.md invariant 11):
 * - `claim`: each id is claimed in Postgres on its own (the single endpoints);
 * - `batch-first`, `batch-replay`: a batch item's id is bound by the batch's own claim,
 *   which holds the hash of the whole body and is never given back, so the item needs no
 *   claim row of its own. Under the batch's first claim no item can have been submitted
 *   before (its id derives from the batch key); under a replay each item may have been, and
 *   answers with what it produced, or is published again (the worker dedupes on the id).
 *   `claimedAt` is the batch claim's time: every item is accepted at it.
 */
export type IdBinding = 'claim' | { kind: 'batch-first' | 'batch-replay'; claimedAt: string };

/**
 * THE use case "submit movements", for one (the single endpoints) or many (POST /v1/batch):
 * each submission is authorised, hold-checked and bound to its id (`binding`) on its own,
 * concurrently (claims share the group-committed statement), and every one that must be
 * published goes out in submission order, in as few produce requests as
 * API_PRODUCE_GROUP_BYTES_MAX allows (publish, groupsOf).
 * Outcomes come back in submission order; a failure of one submission before publishing is
 * its own.
 */
export async function submitMovements(
  ctx: AppContext,
  auth: AuthContext,
  submissions: readonly MovementSubmission[],
  binding: IdBinding,
): Promise<MovementOutcome[]> {
  const lease = ctx.routing.lease();
  try {
    const routing = lease.table;
    const earlier = earlierLookup(ctx, submissions, binding);
    const prepared = await Promise.all(
      submissions.map((submission) => prepare(ctx, auth, submission, binding, routing, earlier).catch((error: unknown): Prepared => ({ outcome: { error } }))),
    );
    const toPublish = prepared.filter((p): p is ToPublish => 'command' in p);
    const published = await publish(ctx, toPublish, routing);
    return prepared.map((p) => ('command' in p ? published.get(p)! : p.outcome));
  } finally {
    lease.release();
  }
}

interface ToPublish {
  command: ClientCommand | HoldCommand;
  subject: string;
  /** The version of the claim row this request inserted (what a release gives back); null when it inserted none. */
  insertedClaim: string | null;
}
type Prepared = ToPublish | { outcome: MovementOutcome };

/** What an earlier submission of an id produced (its resource), or null when nothing shows yet. */
type EarlierLookup = (kind: MovementRequest['kind'], id: string) => Promise<TransferResource | HoldResource | null>;

/**
 * How a replayed submission finds what it produced before. A single request looks its one id
 * up (earlierResource). A replayed batch may hold 1,000 items, each of which may have been
 * accepted before: all are looked up at once, one read per table and one Redis call, started
 * before the items are prepared. A failed Postgres read is each replayed item's own error
 * (503), as it would be alone. Redis unreadable means no ACCEPTED record to show: an item
 * not applied yet is published again (the worker applies it once) and answers 202, as a
 * replay racing its first request does (docs/api.md, Idempotency).
 */
function earlierLookup(ctx: AppContext, submissions: readonly MovementSubmission[], binding: IdBinding): EarlierLookup {
  if (binding === 'claim' || binding.kind !== 'batch-replay') return (kind, id) => earlierResource(ctx, kind, id);
  const found = earlierResources(ctx, submissions);
  // Awaited only by items that reach the replay branch; none may, and a rejection is theirs.
  found.catch(() => undefined);
  return async (_kind, id) => (await found).get(id) ?? null;
}

/** earlierResource for many ids: the rows in Postgres, else the ACCEPTED records in Redis, else the rows again (applied-else-accepted.ts). */
async function earlierResources(ctx: AppContext, submissions: readonly MovementSubmission[]): Promise<Map<string, TransferResource | HoldResource>> {
  const isHold = new Set(submissions.filter((s) => s.request.kind === 'HOLD').map((s) => s.id));
  return appliedElseAcceptedMany<TransferResource | HoldResource>(
    submissions.map((s) => s.id),
    async (ids) => {
      const [transfers, holds] = await Promise.all([findTransfers(ctx.pool, ids.filter((id) => !isHold.has(id))), findHolds(ctx.pool, ids.filter((id) => isHold.has(id)))]);
      const found = new Map<string, TransferResource | HoldResource>();
      // As a read shows them (and a single request's replay): a COMPLETED one with its reversed_amount.
      for (const resource of await withReversedAmounts(ctx, transfers.map(transferWireFromRow))) found.set(resource.id, resource);
      for (const row of holds) found.set(row.id, holdWire(row));
      return found;
    },
    async (ids) => {
      const records = await ctx.redis.accepted.lookupAcceptedMany(ids).catch(() => []);
      const found = new Map<string, TransferResource | HoldResource>();
      ids.forEach((id, i) => {
        // Checked as a single item's replay checks it: a hold's record for a hold, a transfer's for the rest.
        const accepted = acceptedRecord(ctx, id, records[i] ?? null);
        const resource = isHold.has(id) ? holdIn(accepted) : transferIn(accepted);
        if (resource) found.set(id, resource);
      });
      return found;
    },
  );
}

/** Everything before Kafka: authorise, hold check, claim; a replay with something to show ends here. */
async function prepare(
  ctx: AppContext,
  auth: AuthContext,
  submission: MovementSubmission,
  binding: IdBinding,
  routing: RoutingTable,
  earlierOf: EarlierLookup,
): Promise<Prepared> {
  const normalized = normalize(submission.request);
  await authorise(ctx, auth, normalized);
  const subject = subjectOf(normalized);
  // Before any claim: a held bucket's command is refused without using the key up.
  if (routing.isHeld(subject)) {
    throw new BucketMovingError(`account ${subject} is being moved to another partition; retry shortly with the same Idempotency-Key`);
  }
  const { id } = submission;
  const requestHash = movementRequestHash(submission.request);

  const bound = await bindId(ctx, auth, binding, id, requestHash);
  if (bound.replay) {
    const earlier = await earlierOf(normalized.kind, id);
    if (earlier) {
      ctx.metrics.idempotency.inc({ outcome: 'replay' });
      return { outcome: { answer: { status: 200, resource: earlier } } };
    }
    // Claimed with this very body but nothing to show: that request died before Kafka acked
    // (or is publishing right now). Publishing again is safe: same body, same partition,
    // and the worker dedupes on the transfer id.
  }
  // Accepted at the key's first claim: every submission of this id builds the same command,
  // whichever publishes it (a replay racing the first request, a retry after a timeout).
  return { command: toCommand(normalized, auth, id, requestHash, bound.claimedAt), subject, insertedClaim: bound.insertedClaim };
}

/** Whether the id may have been submitted before, and the claim row this request inserted for it, if any. */
async function bindId(
  ctx: AppContext,
  auth: AuthContext,
  binding: IdBinding,
  id: string,
  requestHash: string,
): Promise<{ replay: boolean; insertedClaim: string | null; claimedAt: string }> {
  if (binding !== 'claim') return { replay: binding.kind === 'batch-replay', insertedClaim: null, claimedAt: binding.claimedAt };
  const claim: KeyClaim = await ctx.claims.claim(id, auth.principal, requestHash);
  if (claim.kind === 'reused') {
    ctx.metrics.idempotency.inc({ outcome: 'reused' });
    throw idempotencyKeyReused();
  }
  return { replay: claim.kind === 'replay', insertedClaim: claim.kind === 'new' ? claim.version : null, claimedAt: claim.claimedAt };
}

/**
 * Publishes them in order, as few produce requests as API_PRODUCE_GROUP_BYTES_MAX allows
 * (one for any batch of ordinary size), one after another; then the ACCEPTED records.
 * After a request fails, the later ones are not sent: no item can then be in Kafka while an
 * earlier item of the same batch, perhaps of the same partition, is not.
 */
async function publish(ctx: AppContext, items: readonly ToPublish[], routing: RoutingTable): Promise<Map<ToPublish, MovementOutcome>> {
  const outcomes = new Map<ToPublish, MovementOutcome>();
  if (items.length === 0) return outcomes;
  const messages = items.map((item) => ({
    topic: ctx.commandsTopic,
    partition: routing.partitionOf(item.subject),
    key: item.subject,
    value: encodeCommand(item.command, ctx.seal),
  }));
  let sent = 0;
  for (const group of groupsOf(messages, ctx.config.produceGroupBytesMax)) {
    try {
      await ctx.publisher.publishTogether(group);
      sent += group.length;
    } catch (error) {
      const failed = items.slice(sent);
      // The failed group may be in Kafka (a timeout while in flight): its keys stay bound.
      // The groups after it were certainly never sent: their keys go back.
      const maybeSent = publishMayHaveReachedKafka(error);
      const released = maybeSent ? failed.slice(group.length) : failed;
      // A release that fails leaves the key bound: a retry with the same body publishes again
      // (the worker dedupes); only another body gets the 422 a release would have spared it.
      await Promise.all(
        released.map((item) =>
          item.insertedClaim !== null
            ? releaseIdempotencyKey(ctx.pool, commandIdOf(item.command), item.command.requestHash, item.insertedClaim).catch((e: Error) =>
                ctx.warn('releaseIdempotencyKey', `releasing the Idempotency-Key of ${commandIdOf(item.command)} failed: ${e.message}`),
              )
            : undefined,
        ),
      );
      // Only the failed group's items may be in Kafka: the later ones are told they were not
      // sent (an outside review: they were told, as the failed group's, that Kafka may still
      // append them), and counted so.
      const notSent = maybeSent ? new BrokerUnavailableError('an earlier produce request of this batch failed', false) : error;
      ctx.metrics.publishFailures.inc({ reason: publishFailureReason(error) }, maybeSent ? group.length : failed.length);
      if (maybeSent && failed.length > group.length) ctx.metrics.publishFailures.inc({ reason: publishFailureReason(notSent) }, failed.length - group.length);
      failed.forEach((item, i) => outcomes.set(item, { error: i < group.length ? error : notSent }));
      break;
    }
  }

  const accepted = items.slice(0, sent);
  const resources = accepted.map(({ command }) => (command.type === 'HOLD' ? acceptedHoldWire(command) : acceptedTransferWire(command)));
  const records: AcceptedTransfer[] = accepted.map(({ command }, i) => ({
    id: commandIdOf(command),
    principal: command.principal,
    requestHash: command.requestHash,
    resource: resources[i]!,
  }));
  // All in one round trip (none for none), awaited so that a GET right after the 202 finds
  // them; a failure only costs such a GET a 404 until the worker has applied the transfer.
  await ctx.redis.accepted.putAcceptedMany(records).catch((error: Error) => ctx.warn('putAccepted', `putAccepted failed: ${error.message}`));
  accepted.forEach((item, i) => outcomes.set(item, { answer: { status: 202, resource: resources[i]! } }));
  if (accepted.length > 0) ctx.metrics.idempotency.inc({ outcome: 'new' }, accepted.length);
  return outcomes;
}

/** Consecutive runs of messages whose values add up to at most `bytesMax` (a larger message goes alone). */
export function groupsOf<M extends { value: string }>(messages: readonly M[], bytesMax: number): M[][] {
  const groups: M[][] = [];
  let current: M[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = Buffer.byteLength(message.value, 'utf8');
    if (current.length > 0 && bytes + size > bytesMax) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** Hashes already taken, per request: a batch hashes each item for the batch's hash, then for its command. */
const hashes = new WeakMap<MovementRequest, string>();

/** The hash a movement is claimed with: the same request always hashes the same, whatever its ids' case. */
export function movementRequestHash(request: MovementRequest): string {
  let hash = hashes.get(request);
  if (hash === undefined) {
    const normalized = normalize(request);
    hash = requestHashOf(normalized.kind, normalized.body);
    hashes.set(request, hash);
  }
  return hash;
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
    case 'HOLD':
      return { kind: 'HOLD', body: { ...request.body, account_id: request.body.account_id.toLowerCase() } };
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
  const source = await lookupAs(ctx.directory, auth, subjectOf(request));
  if (!source || source.kind !== 'USER' || source.owner !== auth.principal) {
    throw forbidden(request.kind === 'HOLD' ? 'money can only be held on your own accounts' : 'money can only be moved from your own accounts');
  }
}

/** What an earlier request with the same key and body produced: Postgres, else the ACCEPTED record, else Postgres again. */
async function earlierResource(ctx: AppContext, kind: MovementRequest['kind'], id: string): Promise<TransferResource | HoldResource | null> {
  if (kind !== 'HOLD') return earlierTransfer(ctx, id);
  return appliedElseAccepted<HoldResource>(
    async () => {
      const hold = await findHold(ctx.pool, id);
      return hold ? holdWire(hold) : null;
    },
    async () => holdIn(acceptedRecord(ctx, id, await lookupAccepted(ctx, id).catch(() => null))),
  );
}

/**
 * The transfer an earlier request under the same key produced (a replay's answer): the row in
 * Postgres, else the ACCEPTED record in Redis, else the row again (applied-else-accepted.ts),
 * else null. Shared by every write path that names a transfer (movements, captures, reversals).
 */
export async function earlierTransfer(ctx: AppContext, transferId: string): Promise<TransferResource | null> {
  return appliedElseAccepted(
    async () => {
      const row = await findTransfer(ctx.pool, transferId);
      // The same resource GET /v1/transfers/{id} shows (a COMPLETED deposit with its reversed_amount).
      return row ? withReversedAmount(ctx, transferWireFromRow(row)) : null;
    },
    async () => transferIn(acceptedRecord(ctx, transferId, await lookupAccepted(ctx, transferId).catch(() => null))),
  );
}

function toCommand(
  request: MovementRequest,
  auth: AuthContext,
  id: string,
  requestHash: string,
  acceptedAt: string,
): ClientCommand | HoldCommand {
  const common = {
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
        transferId: id,
        ...common,
      };
    case 'DEPOSIT':
    case 'WITHDRAWAL':
      return { type: request.kind, accountId: request.body.account_id, description: request.body.description ?? null, transferId: id, ...common };
    case 'HOLD':
      return {
        type: 'HOLD',
        holdId: id,
        accountId: request.body.account_id,
        // Fixed here, once: every replay and the writer agree on when it falls due.
        expiresAt: new Date(Date.parse(acceptedAt) + request.body.expires_in_s * 1000).toISOString(),
        description: request.body.description ?? null,
        ...common,
      };
  }
}
