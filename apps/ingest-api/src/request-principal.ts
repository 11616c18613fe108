/**
 * The principal a request carries: what app.ts's /v1 middleware attached after verifying the
 * token (authOf), and the scope checks a route makes before it acts (requireRead,
 * requireWrite). What the principal may do to a given account or transfer is decided where
 * that resource is read (transfer-status.ts, holds.ts, reversals.ts, routes/accounts.ts).
 */
import type { Response } from 'express';
import { type AuthContext, canRead, canWrite } from '@ledgerline/auth';
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
