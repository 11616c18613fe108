/** /v1/holds: place, read (long poll), capture and void holds (docs/api.md, Holds; states in packages/domain/src/model.ts). */
import { HOLD_STATUSES } from '@ledgerline/domain';
import { listAccountHolds } from '@ledgerline/postgres';
import { captureBody, holdBody, holdHistoryQuery, holdQuery, holdResource, holdsPage, idPath, transferResource, voidBody } from '@ledgerline/schemas';
import { visibleAccount } from '../account-directory';
import { decodeHistoryCursor, encodeHistoryCursor } from '../history-cursor';
import { readHold, submitCapture, submitHold, submitVoid } from '../holds';
import { holdWire } from '../resources';
import { authOf, requireRead } from '../request-principal';
import { defineRoute } from '../route-table';

export const holdRoutes = [
  defineRoute({
    method: 'post',
    path: '/v1/holds',
    summary: 'Reserve money on an account (owner or admin) until captured, voided or expired',
    description:
      'available drops by amount while the hold is HELD; balance does not move. expires_in_s: 1..2592000, default 604800. ' +
      'Poll (or long-poll) the hold: ACCEPTED -> HELD | REJECTED (INSUFFICIENT_FUNDS, ACCOUNT_NOT_FOUND, CURRENCY_MISMATCH, ACCOUNT_FROZEN, ACCOUNT_CLOSED, FORBIDDEN, BALANCE_LIMIT_EXCEEDED, UNPROCESSABLE).',
    idempotent: true,
    body: holdBody,
    responses: {
      202: { description: 'Durable in Kafka; poll Location for HELD or REJECTED', schema: holdResource, location: true },
      200: { description: 'Replay of an earlier request with the same key and body: its current resource', schema: holdResource, location: true },
    },
    errors: [403],
    handle: async (ctx, { res, key, body }) => {
      const answer = await submitHold(ctx, authOf(res), key, body);
      res.status(answer.status).location(`/v1/holds/${answer.resource.id}`).json(answer.resource);
    },
  }),

  defineRoute({
    method: 'get',
    path: '/v1/holds',
    summary: "An account's holds, newest first; pass next_cursor as cursor for the next page",
    description:
      'Owner of the account or admin; 404 otherwise. Holds a worker has applied (HELD, CAPTURED, VOIDED, EXPIRED, REJECTED), ordered by (created_at, id); status filters them (status=HELD: the active ones).',
    query: holdHistoryQuery,
    responses: { 200: { description: 'A page of holds', schema: holdsPage } },
    errors: [403, 404],
    handle: async (ctx, { res, query }) => {
      const auth = authOf(res);
      requireRead(auth);
      const account = await visibleAccount(ctx.directory, auth, query.account_id.toLowerCase());
      const page = await listAccountHolds(ctx.pool, {
        accountId: account.id,
        statuses: query.status === undefined ? HOLD_STATUSES : [query.status],
        after: query.cursor === undefined ? null : decodeHistoryCursor(query.cursor),
        limit: query.limit,
      });
      res.json({ holds: page.holds.map(holdWire), next_cursor: page.next ? encodeHistoryCursor(page.next) : null });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/v1/holds/{id}',
    summary: 'A hold; wait_ms holds the request while it is ACCEPTED (not applied yet), with until=ended also while it is HELD, or until the time is up',
    params: idPath,
    query: holdQuery,
    responses: { 200: { description: 'The hold', schema: holdResource } },
    errors: [403],
    handle: async (ctx, { res, params, query }) => {
      const auth = authOf(res);
      requireRead(auth);
      res.json(await readHold(ctx, auth, params.id, Math.min(query.wait_ms ?? 0, ctx.config.longPollMsMax), query.until));
    },
  }),

  defineRoute({
    method: 'post',
    path: '/v1/holds/{id}/capture',
    summary: 'Move (part of) a HELD hold to another account: a transfer of kind CAPTURE (owner of the held account or admin)',
    description:
      'amount <= the hold (default: all of it); the rest is released and the hold ends CAPTURED. A hold already ended is a 409 at ' +
      'once, before to_account_id is looked at: HOLD_EXPIRED for an EXPIRED hold, HOLD_NOT_ACTIVE for a VOIDED, CAPTURED or REJECTED ' +
      'one; unless a capture was sent, or may have been (an ambiguous 503), under the same key: then the same body replays it or ' +
      'sends it again, and another body is 422 (after the 400s for an amount over the hold or to_account_id equal to the held account, ' +
      'checked before the key). A to_account_id that does not exist, is in another currency or is closed is a 400 while the ' +
      'hold may be HELD. A capture is in time when accepted before expires_at, however late it is applied; one sent at or after ' +
      'expires_at is a 409 HOLD_EXPIRED whether the expiry scan released the hold yet or not (one stamped at expires_at while ' +
      'checked a moment before ends REJECTED HOLD_EXPIRED); one that reaches the worker after a void ' +
      'or another capture ends REJECTED HOLD_NOT_ACTIVE.',
    idempotent: true,
    params: idPath,
    body: captureBody,
    responses: {
      202: { description: 'Durable in Kafka; poll Location (the transfer) for the outcome', schema: transferResource, location: true },
      200: { description: 'Replay of an earlier request with the same key and body: its current resource', schema: transferResource, location: true },
    },
    errors: [403, 409],
    handle: async (ctx, { res, key, params, body }) => {
      const answer = await submitCapture(ctx, authOf(res), key, params.id, body);
      res.status(answer.status).location(`/v1/transfers/${answer.resource.id}`).json(answer.resource);
    },
  }),

  defineRoute({
    method: 'post',
    path: '/v1/holds/{id}/void',
    summary: 'Release a HELD hold (owner of the held account or admin); it ends VOIDED and available is restored',
    description: 'Idempotent by the hold\'s state (no Idempotency-Key needed): the answer is the hold as it is now; poll it for VOIDED, or for what won a race.',
    params: idPath,
    body: voidBody,
    responses: { 202: { description: 'Durable in Kafka; poll Location (the hold)', schema: holdResource, location: true } },
    errors: [403],
    handle: async (ctx, { res, params }) => {
      const resource = await submitVoid(ctx, authOf(res), params.id);
      res.status(202).location(`/v1/holds/${params.id}`).json(resource);
    },
  }),
];
