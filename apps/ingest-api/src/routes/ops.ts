/**
 * Operations: liveness, readiness and metrics.
 *
 * /readyz and /metrics say how the deployment is doing, which is nobody else's business:
 * they answer without a token only to the operator network (API_OPERATOR_NETWORKS,
 * loopback by default), and to anyone else only with a ledger:admin token (probes and
 * scrapers run on the operator network and have none). /readyz says which dependency
 * fails, never why (the reason goes to the log). /healthz says nothing and stays open.
 */
import type { Request } from 'express';
import { z } from 'zod';
import { isAdmin } from '@ledgerline/auth';
import { within } from '@ledgerline/config';
import type { AppContext } from '../context';
import { errorBody, forbidden } from '../errors';
import { defineRoute } from '../route-table';

type CheckName = 'kafka' | 'postgres' | 'redis';
type CheckState = 'ok' | 'failing';

const readiness = z.object({ status: z.literal('ok'), checks: z.record(z.string(), z.enum(['ok', 'failing'])) }).meta({ id: 'Readiness' });

export const opsRoutes = [
  defineRoute({
    method: 'get',
    path: '/healthz',
    summary: 'Process alive',
    public: true,
    responses: { 200: { description: 'Alive', schema: z.object({ status: z.literal('ok') }) } },
    handle: (_ctx, { res }) => {
      res.json({ status: 'ok' });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/readyz',
    summary: 'Kafka, Postgres and Redis reachable (operator network, or a ledger:admin token)',
    public: true,
    responses: {
      200: { description: 'Ready', schema: readiness },
      503: { description: 'A dependency is failing (details name it, ok/failing only; Retry-After)', schema: errorBody },
    },
    errors: [401, 403],
    handle: async (ctx, { req, res }) => {
      await requireOperator(ctx, req);
      const results = await runChecks(ctx);
      const names = Object.keys(results) as CheckName[];
      const checks = Object.fromEntries(names.map((name) => [name, results[name] === 'ok' ? 'ok' : 'failing'])) as Record<CheckName, CheckState>;
      const failed = names.filter((name) => results[name] !== 'ok');
      if (failed.length === 0) {
        res.json({ status: 'ok', checks });
        return;
      }
      for (const name of failed) ctx.warn(`readyz:${name}`, `readiness: ${name} ${results[name]}`);
      res
        .status(503)
        .set('Retry-After', String(ctx.config.unavailableRetryAfterS))
        .json({
          error: {
            code: 'DEPENDENCY_UNAVAILABLE',
            message: `${failed.join(', ')} failing`,
            details: { failed, checks },
          },
        });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics (operator network, or a ledger:admin token)',
    public: true,
    responses: { 200: { description: 'Prometheus text format', contentTypes: ['text/plain'] } },
    errors: [401, 403],
    handle: async (ctx, { req, res }) => {
      await requireOperator(ctx, req);
      res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
    },
  }),
];

/**
 * The TCP peer is on the operator network, or the request carries a valid ledger:admin
 * token (401 without one, 403 with a lesser one).
 */
async function requireOperator(ctx: AppContext, req: Request): Promise<void> {
  if (ctx.config.operatorNetworks.has(req.socket.remoteAddress)) return;
  const auth = await ctx.verifier.verifyToken(req.get('Authorization'));
  if (!isAdmin(auth)) throw forbidden('readiness and metrics need the operator network or a ledger:admin token');
}

/** All three at once, each bounded: a hung dependency costs readyCheckTimeoutMs, not forever. */
async function runChecks(ctx: AppContext): Promise<Record<CheckName, string>> {
  const timeoutMs = ctx.config.readyCheckTimeoutMs;
  const [kafka, postgres, redis] = await Promise.all([
    bounded(ctx.checkKafka(), timeoutMs),
    bounded(ctx.pool.query('SELECT 1').then(() => undefined), timeoutMs),
    bounded(ctx.redis.ping(), timeoutMs),
  ]);
  return { kafka, postgres, redis };
}

async function bounded(check: Promise<void>, timeoutMs: number): Promise<string> {
  try {
    await within(check, timeoutMs, 'no answer');
    return 'ok';
  } catch (error) {
    return `unreachable: ${(error as Error).message}`;
  }
}
