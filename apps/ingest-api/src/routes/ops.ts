/** Operations: liveness, readiness, metrics, and the API's own description. */
import type { Express, Request, Response } from 'express';
import type { AppContext } from '../context';
import { DOCS_HTML, openApiDocument } from '../openapi';

type CheckName = 'kafka' | 'postgres' | 'redis';

export function registerOpsRoutes(app: Express, ctx: AppContext): void {
  app.get('/healthz', (_req: Request, res: Response) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req: Request, res: Response) => {
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
  });

  app.get('/metrics', async (_req: Request, res: Response) => {
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });

  const spec = JSON.stringify(openApiDocument());
  app.get('/openapi.json', (_req: Request, res: Response) => {
    res.type('application/json').send(spec);
  });

  app.get('/docs', (_req: Request, res: Response) => {
    res.type('html').send(DOCS_HTML);
  });
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
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`unreachable: no answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([check.then(() => 'ok'), timeout]);
  } catch (error) {
    return `unreachable: ${(error as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}
