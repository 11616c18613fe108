/**
 * The worker's ops server, always on: GET /healthz (the process answers), /readyz (see
 * health.ts; 503 when not ready), /metrics (Prometheus text) and / (the partitions this
 * process owns, for people). No token: only peers on the operator network
 * (WORKER_OPS_NETWORKS) get anything but /healthz; bind it where they can reach it
 * (WORKER_OPS_HOST).
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NetworkList } from '@ledgerline/config';
import type { Readiness } from './health';

export interface OpsHandlers {
  readiness(): Promise<Readiness>;
  metrics(): Promise<{ contentType: string; body: string }>;
  status(): unknown;
}

export async function startOpsServer(
  host: string,
  port: number,
  handlers: OpsHandlers,
  operators: NetworkList,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    route(req, res, handlers, operators).catch((error: unknown) => json(res, 500, { error: { code: 'INTERNAL', message: (error as Error).message } }));
  });
  // Probes come every few seconds; a keep-alive connection must not hold the process open.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

async function route(req: IncomingMessage, res: ServerResponse, handlers: OpsHandlers, operators: NetworkList): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const known = ['/', '/healthz', '/readyz', '/metrics'];
  if (!known.includes(path ?? '')) return json(res, 404, { error: { code: 'NOT_FOUND', message: `no route for ${req.method} ${path}` } });
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return json(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: `${req.method} is not allowed here` } });
  }
  if (path !== '/healthz' && !operators.has(req.socket.remoteAddress)) {
    return json(res, 403, { error: { code: 'FORBIDDEN', message: 'the ops endpoints answer the operator network only (WORKER_OPS_NETWORKS)' } });
  }
  switch (path) {
    case '/healthz':
      return json(res, 200, { status: 'ok' });
    case '/readyz': {
      const readiness = await handlers.readiness();
      const status = !readiness.ready ? 'failing' : readiness.degraded ? 'degraded' : 'ok';
      return json(res, readiness.ready ? 200 : 503, { status, checks: readiness.checks });
    }
    case '/metrics': {
      const { contentType, body } = await handlers.metrics();
      res.writeHead(200, { 'content-type': contentType });
      res.end(body);
      return;
    }
    default:
      return json(res, 200, handlers.status());
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
