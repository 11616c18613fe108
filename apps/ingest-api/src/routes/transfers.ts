/** /v1/transfers, /v1/deposits, /v1/withdrawals: money movements and their status. */
import type { Express, Request, Response } from 'express';
import { movementBody, transferBody, transferQuery } from '@ledgerline/schemas';
import type { AppContext } from '../context';
import { authOf, idempotencyKeyOf, parseBody, parseId, parseQuery, requireRead } from '../http-input';
import { type MovementAnswer, submitMovement } from '../movements';
import { readTransfer } from '../transfer-status';

export function registerTransferRoutes(app: Express, ctx: AppContext): void {
  app.post('/v1/transfers', async (req: Request, res: Response) => {
    const key = idempotencyKeyOf(req);
    const body = parseBody(transferBody, req.body);
    answer(res, await submitMovement(ctx, authOf(res), key, { kind: 'TRANSFER', body }));
  });

  app.post('/v1/deposits', async (req: Request, res: Response) => {
    const key = idempotencyKeyOf(req);
    const body = parseBody(movementBody, req.body);
    answer(res, await submitMovement(ctx, authOf(res), key, { kind: 'DEPOSIT', body }));
  });

  app.post('/v1/withdrawals', async (req: Request, res: Response) => {
    const key = idempotencyKeyOf(req);
    const body = parseBody(movementBody, req.body);
    answer(res, await submitMovement(ctx, authOf(res), key, { kind: 'WITHDRAWAL', body }));
  });

  app.get('/v1/transfers/:id', async (req: Request, res: Response) => {
    const auth = authOf(res);
    requireRead(auth);
    const id = parseId(req, 'transfer');
    const query = parseQuery(transferQuery, req.query);
    const waitMs = Math.min(query.wait_ms ?? 0, ctx.config.longPollMsMax);
    res.json(await readTransfer(ctx, auth, id, waitMs));
  });
}

function answer(res: Response, result: MovementAnswer): void {
  res.status(result.status).location(`/v1/transfers/${result.resource.id}`).json(result.resource);
}
