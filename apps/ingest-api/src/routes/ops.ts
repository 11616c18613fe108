/**
 * Operations: liveness, readiness and metrics.
 *
 * /readyz and /metrics say how the deployment is doing, which is nobody else's business:
 * they answer without a token only to the operator network (API_OPERATOR_NETWORKS,
 * loopback by default), and to anyone else only with a ledger:admin token (probes and
 * scrapers run on the operator network and have none). They are declared `operator`: the
 * route table enforces it (requireOperator) and /openapi.json states it. /readyz says which
 * dependency fails, never why (the reason goes to the log). /healthz says nothing and stays
 * open.
 */
import { z } from 'zod';
import { within } from '@ledgerline/config';
import { describePgFailure } from '@ledgerline/postgres';
import type { AppContext } from '../context';
import { errorBody } from '../errors';
import { defineRoute } from '../route-table';

type CheckName = 'kafka' | 'postgres' | 'redis';
type CheckState = 'ok' | 'failing';

const readiness = z.object({ status: z.enum(['ok', 'degraded']), checks: z.record(z.string(), z.enum(['ok', 'failing'])) }).meta({ id: 'Readiness' });

/**
 * Redis is a cache (balances, ACCEPTED records, the rate limit's counters, long-poll wake-ups):
 * without it the API still accepts and answers (Postgres fallbacks, in-memory limits), so a
 * Redis outage leaves the API ready, `degraded`. Taking every instance out of a load balancer
 * for it would turn a cache outage into an API outage (found by an outside fault review).
 */
const READY_WITHOUT: ReadonlySet<CheckName> = new Set(['redis']);

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
    summary: 'Kafka and Postgres answer; Redis reported but not required (operator network, or a ledger:admin token)',
    public: true,
    operator: true,
    responses: {
      200: { description: 'Ready: `ok`, or `degraded` when only Redis is failing', schema: readiness },
      503: { description: 'A dependency is failing (details name it, ok/failing only; Retry-After)', schema: errorBody },
    },
    errors: [401, 403],
    handle: async (ctx, { res }) => {
      const results = await runChecks(ctx);
      const names = Object.keys(results) as CheckName[];
      const checks = Object.fromEntries(names.map((name) => [name, results[name] === 'ok' ? 'ok' : 'failing'])) as Record<CheckName, CheckState>;
      const failing = names.filter((name) => results[name] !== 'ok');
      for (const name of failing) ctx.warn(`readyz:${name}`, `readiness: ${name} ${results[name]}`);
      const failed = failing.filter((name) => !READY_WITHOUT.has(name));
      if (failed.length === 0) {
        res.json({ status: failing.length === 0 ? 'ok' : 'degraded', checks });
        return;
      }
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
    operator: true,
    responses: { 200: { description: 'Prometheus text format', contentTypes: ['text/plain'] } },
    errors: [401, 403],
    handle: async (ctx, { res }) => {
      res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
    },
  }),
];

/** All three at once, each bounded: a hung dependency costs readyCheckTimeoutMs, not forever. */
async function runChecks(ctx: AppContext): Promise<Record<CheckName, string>> {
  const timeoutMs = ctx.config.readyCheckTimeoutMs;
  const [kafka, postgres, redis] = await Promise.all([
    bounded(ctx.checkKafka(), timeoutMs),
    bounded(ctx.pool.query('SELECT 1').then(() => undefined), timeoutMs, describePgFailure),
    bounded(ctx.redis.ping(), timeoutMs),
  ]);
  return { kafka, postgres, redis };
}

async function bounded(check: Promise<void>, timeoutMs: number, describe = (error: unknown) => (error as Error).message): Promise<string> {
  try {
    await within(check, timeoutMs, 'no answer');
    return 'ok';
  } catch (error) {
    return `failing: ${describe(error)}`;
  }
}
