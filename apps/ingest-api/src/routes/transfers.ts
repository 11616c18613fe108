/** /v1/transfers, /v1/deposits, /v1/withdrawals: money movements and their status. */
import type { Response } from 'express';
import { idPath, movementBody, transferBody, transferQuery, transferResource } from '@ledgerline/schemas';
import { authOf, requireRead } from '../http-input';
import { type MovementAnswer, submitMovement } from '../movements';
import { type ResponseSpec, defineRoute } from '../route-table';
import { readTransfer } from '../transfer-status';

const movementResponses: Record<number, ResponseSpec> = {
  202: { description: 'Durable in Kafka; poll Location for the outcome', schema: transferResource, location: true },
  200: { description: 'Replay of an earlier request with the same key and body: its current resource', schema: transferResource, location: true },
};

export const transferRoutes = [
  defineRoute({
    method: 'post',
    path: '/v1/transfers',
    summary: 'Move money between two accounts (you must own the source)',
    description: 'from_account_id and to_account_id must differ (400): JSON Schema cannot say so.',
    idempotent: true,
    body: transferBody,
    responses: movementResponses,
    errors: [403],
    handle: async (ctx, { res, key, body }) => {
      answer(res, await submitMovement(ctx, authOf(res), key, { kind: 'TRANSFER', body }));
    },
  }),

  defineRoute({
    method: 'post',
    path: '/v1/deposits',
    summary: 'Money arriving from outside (ledger:admin)',
    idempotent: true,
    body: movementBody,
    responses: movementResponses,
    errors: [403],
    handle: async (ctx, { res, key, body }) => {
      answer(res, await submitMovement(ctx, authOf(res), key, { kind: 'DEPOSIT', body }));
    },
  }),

  defineRoute({
    method: 'post',
    path: '/v1/withdrawals',
    summary: 'Money leaving to outside (owner or admin)',
    idempotent: true,
    body: movementBody,
    responses: movementResponses,
    errors: [403],
    handle: async (ctx, { res, key, body }) => {
      answer(res, await submitMovement(ctx, authOf(res), key, { kind: 'WITHDRAWAL', body }));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/v1/transfers/{id}',
    summary: 'A transfer; wait_ms holds the request until it is COMPLETED or REJECTED or the time is up',
    params: idPath,
    query: transferQuery,
    responses: { 200: { description: 'The transfer', schema: transferResource } },
    errors: [403],
    handle: async (ctx, { res, params, query }) => {
      const auth = authOf(res);
      requireRead(auth);
      const waitMs = Math.min(query.wait_ms ?? 0, ctx.config.longPollMsMax);
      res.json(await readTransfer(ctx, auth, params.id, waitMs));
    },
  }),
];

function answer(res: Response, result: MovementAnswer): void {
  res.status(result.status).location(`/v1/transfers/${result.resource.id}`).json(result.resource);
}
