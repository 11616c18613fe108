/** Operations: liveness, readiness and metrics. No token: probes and scrapers have none. */
import { z } from 'zod';
import { within } from '@ledgerline/config';
import type { AppContext } from '../context';
import { errorBody } from '../errors';
import { defineRoute } from '../route-table';

type CheckName = 'kafka' | 'postgres' | 'redis';

const readiness = z.object({ status: z.literal('ok'), checks: z.record(z.string(), z.string()) }).meta({ id: 'Readiness' });

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
    summary: 'Kafka, Postgres and Redis reachable',
    public: true,
    responses: {
      200: { description: 'Ready', schema: readiness },
      503: { description: 'A dependency is unreachable (details name it; Retry-After)', schema: errorBody },
    },
    handle: async (ctx, { res }) => {
      const checks = await runChecks(ctx);
      const failed = (Object.keys(checks) as CheckName[]).filter((name) => checks[name] !== 'ok');
      if (failed.length === 0) {
        res.json({ status: 'ok', checks });
        return;
      }
      res
        .status(503)
        .set('Retry-After', String(ctx.config.unavailableRetryAfterS))
        .json({
          error: {
            code: 'DEPENDENCY_UNAVAILABLE',
            message: `${failed.join(', ')} unreachable`,
            details: { failed, checks },
          },
        });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    public: true,
    responses: { 200: { description: 'Prometheus text format', contentTypes: ['text/plain'] } },
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
