/** /v1/transfers, /v1/deposits, /v1/withdrawals: money movements and their status. */
import type { Response } from 'express';
import { STORED_TRANSFER_STATUSES, TRANSFER_KINDS } from '@ledgerline/domain';
import { listAccountTransfers } from '@ledgerline/postgres';
import { historyQuery, idPath, movementBody, reversalBody, transferBody, transferQuery, transferResource, transfersPage } from '@ledgerline/schemas';
import { visibleAccount } from '../account-directory';
import { decodeHistoryCursor, encodeHistoryCursor } from '../history-cursor';
import { validationFailed } from '../errors';
import { authOf, requireRead } from '../request-principal';
import { type MovementAnswer, submitMovement } from '../movements';
import { type ResponseSpec, defineRoute } from '../route-table';
import { transferWireFromRow } from '../resources';
import { submitReversal } from '../reversals';
import { asSeenByAll, readTransfer, withReversedAmounts } from '../transfer-status';

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
    method: 'post',
    path: '/v1/transfers/{id}/reversals',
    summary: "Pay back (part of) a COMPLETED TRANSFER, CAPTURE or DEPOSIT: a transfer of kind REVERSAL (owner of the original's destination, or admin)",
    description:
      'amount defaults to what is left to reverse; the reversals of a transfer never add up to more than its amount ' +
      '(REJECTED REVERSAL_EXCEEDS_ORIGINAL), and one can be REJECTED INSUFFICIENT_FUNDS if the money was spent. ' +
      '409 TRANSFER_NOT_REVERSIBLE: the original is not a COMPLETED TRANSFER, CAPTURE or DEPOSIT.',
    idempotent: true,
    params: idPath,
    body: reversalBody,
    responses: movementResponses,
    errors: [403, 409],
    handle: async (ctx, { res, key, params, body }) => {
      const result = await submitReversal(ctx, authOf(res), key, params.id, body);
      res.status(result.status).location(`/v1/transfers/${result.resource.id}`).json(result.resource);
    },
  }),

  defineRoute({
    method: 'get',
    path: '/v1/transfers',
    summary: 'The movements that touch an account (as source or destination), newest first; pass next_cursor as cursor for the next page',
    description:
      'Owner of the account or admin; 404 otherwise. Movements a worker has applied (PROCESSING, COMPLETED, REJECTED), ordered by (created_at, id). A system account (admin only) is 400: no movement names it; its entries list its side of each.',
    query: historyQuery,
    responses: { 200: { description: 'A page of movements', schema: transfersPage } },
    errors: [403, 404],
    handle: async (ctx, { res, query }) => {
      const auth = authOf(res);
      requireRead(auth);
      const account = await visibleAccount(ctx.directory, auth, query.account_id.toLowerCase());
      // No movement names a system account as its source or destination (a deposit has no
      // source, a cross-partition movement names its two user accounts): its history would
      // read as empty, which is false. Its side of each movement is in its entries.
      if (account.kind !== 'USER') {
        throw validationFailed([{ path: 'account_id', message: 'names a system account, which no movement names as source or destination: read its entries (GET /v1/accounts/{id}/entries)' }]);
      }
      const page = await listAccountTransfers(ctx.pool, {
        accountId: account.id,
        statuses: query.status === undefined ? STORED_TRANSFER_STATUSES : [query.status],
        kinds: query.kind === undefined ? TRANSFER_KINDS : [query.kind],
        after: query.cursor === undefined ? null : decodeHistoryCursor(query.cursor),
        limit: query.limit,
      });
      // Each as a read of it shows it: a COMPLETED one with its reversed_amount (one read for the page).
      const resources = await withReversedAmounts(ctx, page.transfers.map(transferWireFromRow));
      const transfers = await asSeenByAll(ctx, auth, resources);
      res.json({ transfers, next_cursor: page.next ? encodeHistoryCursor(page.next) : null });
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
