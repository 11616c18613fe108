/**
 * Parsing at the HTTP border: bodies, queries, path ids and headers, each through zod, each
 * failure a 400 with field paths. Authentication too: the verified principal and scopes
 * are attached to the request once, by the /v1 middleware.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { type AuthContext, canRead, canWrite } from '@ledgerline/auth';
import { idempotencyKeyHeader } from '@ledgerline/schemas';
import { forbidden, issuesOf, notFound, validationFailed } from './errors';

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw validationFailed(issuesOf(parsed.error), 'request body is not valid');
  const nul = pathOfNul(parsed.data);
  if (nul !== null) throw validationFailed([{ path: nul || '(body)', message: 'must not contain the NUL character' }]);
  return parsed.data;
}

/**
 * Postgres text and jsonb cannot hold U+0000; a string carrying one would pass zod and then
 * fail at insert time (here as a 500, or in the worker as a poison message). Refused at
 * the border instead. Returns the dotted path of the first offender, or null.
 */
export function pathOfNul(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (typeof value !== 'object' || value === null) return null;
  for (const [key, child] of Object.entries(value)) {
    const childPath = path ? `${path}.${key}` : key;
    if (key.includes('\u0000')) return childPath;
    const found = pathOfNul(child, childPath);
    if (found !== null) return found;
  }
  return null;
}

export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  const parsed = schema.safeParse(query ?? {});
  if (!parsed.success) throw validationFailed(issuesOf(parsed.error), 'query is not valid');
  return parsed.data;
}

const uuidParam = z.uuid();

/** A path id that is not a UUID names nothing that could exist: 404, and Postgres never sees it. */
export function parseId(req: Request, what: string): string {
  const raw = req.params.id;
  if (typeof raw !== 'string' || !uuidParam.safeParse(raw).success) throw notFound(what);
  return raw.toLowerCase();
}

export function idempotencyKeyOf(req: Request): string {
  const parsed = idempotencyKeyHeader.safeParse(req.get('Idempotency-Key') ?? '');
  if (!parsed.success) {
    throw validationFailed(
      parsed.error.issues.map((issue) => ({ path: 'Idempotency-Key', message: issue.message })),
      'Idempotency-Key header is missing or invalid',
    );
  }
  return parsed.data;
}

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
