// Proves the client reads a success body by its Content-Type: JSON parsed, any other type
// (the Prometheus text of /metrics, the HTML of /docs) given back as text instead of thrown
// as a SyntaxError (an outside review), and a `parseAs` the caller gives obeyed. The answers
// come from a fetch given to the client: what is under test is the client's reading of
// them (contract.int.test.ts calls the real API's routes through it too).
import { ledgerlineClient } from '../src';

type Sent = { body: string; type: string; status?: number };

function clientAnswering(answers: Record<string, Sent>) {
  return ledgerlineClient({
    baseUrl: 'http://api.test',
    token: null,
    fetch: async (request: Request) => {
      const sent = answers[new URL(request.url).pathname];
      if (!sent) return new Response('{"error":{"code":"NOT_FOUND","message":"no"}}', { status: 404, headers: { 'Content-Type': 'application/json' } });
      return new Response(sent.body, { status: sent.status ?? 200, headers: { 'Content-Type': sent.type } });
    },
  });
}

const METRICS = '# HELP process_cpu_seconds_total Total CPU time\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.5\n';
const PAGE = '<!doctype html><html><body>docs</body></html>';
const READY = { status: 'ok', checks: { kafka: 'ok', postgres: 'ok', redis: 'ok' } };

const api = clientAnswering({
  '/metrics': { body: METRICS, type: 'text/plain; version=0.0.4; charset=utf-8' },
  '/docs': { body: PAGE, type: 'text/html; charset=utf-8' },
  '/docs/assets/swagger-ui.css': { body: '.swagger-ui{}', type: 'text/css; charset=utf-8' },
  '/readyz': { body: JSON.stringify(READY), type: 'application/json; charset=utf-8' },
  '/openapi.json': { body: '{"openapi":"3.1.0"}', type: 'application/problem+json' },
});

test('a non-JSON success body is its text, not a SyntaxError', async () => {
  const metrics = await api.GET('/metrics');
  expect([metrics.response.status, metrics.data]).toEqual([200, METRICS]);
  expect((await api.GET('/docs')).data).toBe(PAGE);
  const css = await api.GET('/docs/assets/{file}', { params: { path: { file: 'swagger-ui.css' } } });
  expect(css.data).toBe('.swagger-ui{}');
});

test('a JSON success body (application/json or a +json type) is parsed', async () => {
  expect((await api.GET('/readyz')).data).toEqual(READY);
  expect((await api.GET('/openapi.json')).data).toEqual({ openapi: '3.1.0' });
});

test('an error body is parsed as before', async () => {
  const missing = await api.GET('/healthz');
  expect([missing.response.status, missing.data, missing.error]).toEqual([404, undefined, { error: { code: 'NOT_FOUND', message: 'no' } }]);
});

test("the caller's parseAs is obeyed", async () => {
  const bytes = await api.GET('/docs/assets/{file}', { params: { path: { file: 'swagger-ui.css' } }, parseAs: 'arrayBuffer' });
  expect(new TextDecoder().decode(bytes.data)).toBe('.swagger-ui{}');
  // Told JSON, a text body is what the caller asked for: openapi-fetch's JSON.parse, which throws.
  await expect(api.GET('/metrics', { parseAs: 'json' })).rejects.toThrow(SyntaxError);
});
