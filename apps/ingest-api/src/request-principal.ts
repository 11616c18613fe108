/**
 * The principal a request carries: what app.ts's /v1 middleware attached after verifying the
 * token (authOf), and the scope checks a route makes before it acts (requireRead,
 * requireWrite). What the principal may do to a given account or transfer is decided where
 * that resource is read (transfer-status.ts, holds.ts, reversals.ts, routes/accounts.ts).
 * requireOperator guards the operator routes (/readyz, /metrics), which have no /v1
 * middleware in front of them.
 */
import type { Request, Response } from 'express';
import { type AuthContext, canRead, canWrite, isAdmin } from '@ledgerline/auth';
import type { AppContext } from './context';
import { forbidden } from './errors';

export function authOf(res: Response): AuthContext {
  const auth = res.locals.auth as AuthContext | undefined;
  if (!auth) throw new Error('route reached without authentication: the /v1 middleware is missing');
  return auth;
}

export function requireRead(auth: AuthContext): void {
  if (!canRead(auth)) throw forbidden('this token lacks the ledger:read scope');
}

export function requireWrite(auth: AuthContext): void {
  if (!canWrite(auth)) throw forbidden('this token lacks the ledger:write scope');
}

/**
 * The TCP peer is on the operator network, or the request carries a valid ledger:admin
 * token (401 without one, 403 with a lesser one). The route table runs it for every route
 * declared `operator`, the declaration /openapi.json reads (its token is optional).
 */
export async function requireOperator(ctx: AppContext, req: Request, res: Response): Promise<void> {
  if (ctx.config.operatorNetworks.has(req.socket.remoteAddress)) return;
  const auth = await ctx.verifier.verifyToken(req.get('Authorization'));
  res.locals.principal = auth.principal; // for the request's log line, the 403 below included
  if (!isAdmin(auth)) throw forbidden('readiness and metrics need the operator network or a ledger:admin token');
}
