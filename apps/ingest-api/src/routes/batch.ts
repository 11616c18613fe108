/**
 * POST /v1/batch: up to API_BATCH_ITEMS_MAX movements under one Idempotency-Key.
 *
 *   envelope (items 1..API_BATCH_ITEMS_MAX, body up to API_BATCH_BODY_BYTES_MAX; else
 *   400/413 for all)
 *   -> each item parsed by its single endpoint's schema (a bad item is a 400 of its own)
 *   -> batch claim: the key with the hash of the whole body (another body: 422 for all)
 *   -> submitMovements (movements.ts, the single endpoints' own function): each item
 *      authorised and hold-checked under batchItemIdFor(principal, key, index), its id bound
 *      by the batch claim (no claim row per item: IdBinding); every accepted item published
 *      in ONE produce request, in item order, and its ACCEPTED record written in one Redis call
 *   -> 202 {"results": [{index, status, resource?, error?}]} in item order
 *
 * Not atomic: each item gets the status it would have got alone (202, 200 for a replayed
 * item, 400, 403, 422, 429, 503...). Every 202/200 item is durable in Kafka before the
 * answer is sent. Item ids are derived from (principal, key, index), so replaying the same
 * key and body names the same transfers: accepted items answer 200 with their current
 * resource, items that failed are tried again. The batch claim is never given back: a key
 * once used for a batch stays bound to that body.
 *
 * Order: publishTogether puts the items of one partition into one record batch, in item
 * order, all or none; the partition's worker applies them in that order.
 */
import { z } from 'zod';
import type { AuthContext } from '@ledgerline/auth';
import { BATCH_ITEMS_MAX, batchIdFor, batchItemIdFor } from '@ledgerline/domain';
import { type BatchItemKind, batchBody, batchEnvelope, batchItemKind, holdBody, holdResource, movementBody, transferBody, transferResource } from '@ledgerline/schemas';
import type { AppContext } from '../context';
import { ApiError, errorBody, idempotencyKeyReused, issuesOf, toHttpError, validationFailed } from '../errors';
import { assertObjectBody, envelopeProblem, parseBody } from '../http-input';
import { authOf, requireWrite } from '../request-principal';
import { type MovementRequest, type MovementSubmission, movementRequestHash, submitMovements } from '../movements';
import { requestHashOf } from '../request-hash';
import { defineRoute } from '../route-table';
import { RateLimitedError } from '../rate-limits';

export const BATCH_PATH = '/v1/batch';

/** A valid item is an object of strings (depth 2); anything much deeper is hostile, refused whole. */
const BATCH_BODY_DEPTH_MAX = 8;

/** Item results of a batch, in item order; `status` is what the item would have got alone. */
export const batchResult = z
  .object({
    results: z.array(
      z.object({
        index: z.number().int().min(0),
        status: z.number().int().min(200).max(599),
        resource: z.union([transferResource, holdResource]).optional().meta({ description: 'A hold for a HOLD item, a transfer for the others' }),
        error: errorBody.shape.error.optional(),
      }),
    ),
  })
  .meta({ id: 'BatchResult' });

type ParsedItem = { request: MovementRequest } | { error: ApiError; raw: unknown };

/**
 * The most items a batch may hold with the default settings (apps/ingest-api/src/config.ts:
 * 100 writes/s, a burst of 200, admins 10 times that; capped at BATCH_ITEMS_MAX), as the
 * document states them. A unit test (openapi.test.ts) holds them to the limiter's own
 * capacity under the default configuration.
 */
export const BATCH_ITEMS_BY_DEFAULT = { user: 101, admin: 1_000 } as const;

export interface BatchItemResult {
  index: number;
  status: number;
  resource?: unknown;
  error?: { code: string; message: string; details?: unknown };
}

export const batchRoutes = [
  defineRoute({
    method: 'post',
    path: BATCH_PATH,
    summary: `Up to ${BATCH_ITEMS_MAX.toLocaleString('en-US')} movements under one Idempotency-Key, no more than the caller's write budget takes (${BATCH_ITEMS_BY_DEFAULT.user} for a non-admin at the defaults); each item answered as its single endpoint would`,
    description:
      'Items are TRANSFER, DEPOSIT, WITHDRAWAL or HOLD, each with its endpoint\'s body. Not atomic: the answer is 202 with one result per item, in item order, `status` being what the item would have got alone (202, 200 for a replayed item, 400, 403, 429, 503...). Every accepted item is durable in Kafka before the answer. Item i is named by (principal, key, i): the same key and body replay, another body under the key is 422. ' +
      // The schema's maxItems is the absolute cap; what a principal may send depends on who it
      // is, which JSON Schema cannot say: the document said 1,000 to everyone, and a
      // non-admin's batch of 102 was a 400 every time (an outside review).
      `How many items: at most ${BATCH_ITEMS_MAX.toLocaleString('en-US')} (maxItems), fewer when API_BATCH_ITEMS_MAX is lower, and never more than the caller's write budget can take at once, since a batch costs one write per item: the larger of API_RATE_WRITES_PER_S and API_RATE_WRITES_BURST - API_RATE_WRITES_PER_S + 1, both times API_RATE_ADMIN_FACTOR for a ledger:admin token. ` +
      `At the defaults that is ${BATCH_ITEMS_BY_DEFAULT.user} items for a non-admin and ${BATCH_ITEMS_BY_DEFAULT.admin.toLocaleString('en-US')} for an admin. A batch over the bound is 400 VALIDATION_FAILED at \`items\`, its message naming the bound; one within it that the budget cannot take now is 429 RATE_LIMITED. The body may be up to API_BATCH_BODY_BYTES_MAX (1 MiB).`,
    idempotent: true,
    body: batchBody,
    bodyCheckedBy: 'handler',
    responses: { 202: { description: 'One result per item, in item order', schema: batchResult } },
    errors: [403],
    handle: async (ctx, { res, key, body }) => {
      const auth = authOf(res);
      requireWrite(auth);
      const envelope = parseEnvelope(ctx, body);
      checkWriteBudget(ctx, auth, envelope.length);
      const results = await ctx.batchAdmission.run(envelope.length, () => submitBatch(ctx, auth, key, envelope));
      for (const result of results) ctx.metrics.batchItems.inc({ status: String(result.status) });
      res.status(202).json({ results });
    },
  }),
];

/**
 * The batch's work once admitted: charge, parse, claim, submit. Answers one result per item,
 * in item order.
 */
async function submitBatch(ctx: AppContext, auth: AuthContext, key: string, envelope: unknown[]): Promise<BatchItemResult[]> {
  await chargeWrites(ctx, auth, envelope.length);
  const items = envelope.map(parseItem);

  const claim = await ctx.claims.claim(batchIdFor(auth.principal, key), auth.principal, batchHash(items), 'batch');
  if (claim.kind === 'reused') throw idempotencyKeyReused();

  const submissions: MovementSubmission[] = [];
  const submitted: number[] = [];
  items.forEach((item, index) => {
    if (!('request' in item)) return;
    submissions.push({ id: batchItemIdFor(auth.principal, key, index), request: item.request });
    submitted.push(index);
  });
  // The batch's claim binds every item id to its body: items need no claim rows of their own.
  const outcomes = await submitMovements(ctx, auth, submissions, { kind: claim.kind === 'new' ? 'batch-first' : 'batch-replay', claimedAt: claim.claimedAt });

  const results: BatchItemResult[] = items.map((item, index) => ('error' in item ? errorResult(ctx, index, item.error) : { index, status: 0 }));
  outcomes.forEach((outcome, i) => {
    const index = submitted[i]!;
    results[index] =
      outcome.answer !== undefined
        ? { index, status: outcome.answer.status, resource: outcome.answer.resource }
        : errorResult(ctx, index, outcome.error);
  });
  return results;
}

/** The envelope (items 1..API_BATCH_ITEMS_MAX), before any item is looked at. */
function parseEnvelope(ctx: AppContext, body: unknown): unknown[] {
  assertObjectBody(body);
  const problem = envelopeProblem(body, BATCH_BODY_DEPTH_MAX);
  if (problem) throw validationFailed([problem], 'request body is not valid');
  const parsed = batchEnvelope.safeParse(body ?? {}, { reportInput: true });
  if (!parsed.success) throw validationFailed(issuesOf(parsed.error), 'request body is not valid');
  const { items } = parsed.data;
  if (items.length > ctx.config.batchItemsMax) {
    throw validationFailed([{ path: 'items', message: `must hold at most ${ctx.config.batchItemsMax} items` }], 'request body is not valid');
  }
  return items;
}

/**
 * A batch of n items costs n writes of the principal's budget, as n single requests would:
 * the rate-limit middleware took one for the request, the rest is taken here, once the batch
 * is admitted and before the key is claimed (a refused batch leaves the key unused). Whether
 * n can ever fit the budget is checked before admission (checkWriteBudget).
 */
async function chargeWrites(ctx: AppContext, auth: AuthContext, items: number): Promise<void> {
  if (items <= 1) return;
  try {
    await ctx.limiter.consume('write', auth, items - 1);
  } catch (error) {
    // Counted as the rate-limit middleware counts its own refusals (an outside review: a batch
    // refused here was a 429 RATE_LIMITED that ledger_api_rate_limited_total never showed).
    if (error instanceof RateLimitedError) ctx.metrics.refusedRateLimited.inc({ kind: 'write' });
    throw error;
  }
}

/** A batch larger than the principal's whole write budget could never pass: invalid, not "retry later". */
function checkWriteBudget(ctx: AppContext, auth: AuthContext, items: number): void {
  const capacity = ctx.limiter.capacity('write', auth);
  if (items > capacity) {
    throw validationFailed(
      [{ path: 'items', message: `must hold at most ${capacity} items: a batch costs one write per item, and this principal's write budget can take at most ${capacity} at once` }],
      'request body is not valid',
    );
  }
}

/** Exactly what the item's single endpoint would parse: the same schema, the same 400s. */
export function parseItem(raw: unknown): ParsedItem {
  try {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw validationFailed([{ path: '(item)', message: 'must be an object with a kind' }], 'item is not valid');
    }
    const { kind, ...body } = raw as Record<string, unknown>;
    const parsedKind = batchItemKind.safeParse(kind, { reportInput: true });
    if (!parsedKind.success) throw validationFailed(issuesOf(parsedKind.error, ['kind']), 'item is not valid');
    return { request: requestOf(parsedKind.data, body) };
  } catch (error) {
    if (error instanceof ApiError) return { error, raw };
    throw error;
  }
}

function requestOf(kind: BatchItemKind, body: Record<string, unknown>): MovementRequest {
  switch (kind) {
    case 'TRANSFER':
      return { kind, body: parseBody(transferBody, body) };
    case 'DEPOSIT':
    case 'WITHDRAWAL':
      return { kind, body: parseBody(movementBody, body) };
    case 'HOLD':
      return { kind, body: parseBody(holdBody, body) };
  }
}

/**
 * The whole body's hash, for the batch claim: each valid item by its movement hash (as its
 * single endpoint would claim it, so id case does not matter), each invalid one as sent.
 */
function batchHash(items: readonly ParsedItem[]): string {
  return requestHashOf(
    'BATCH',
    items.map((item) => ('request' in item ? movementRequestHash(item.request) : requestHashOf('BATCH_ITEM_INVALID', item.raw))),
  );
}

function errorResult(ctx: AppContext, index: number, error: unknown): BatchItemResult {
  const answer = toHttpError(error, ctx.config);
  if (answer.unexpected) ctx.log(`500 on batch item ${index}: ${(error as Error)?.stack ?? String(error)}`);
  return { index, status: answer.status, error: answer.body.error };
}
