// Proves /openapi.json and the validators agree: the document is generated from the route
// table the router mounts, every request bound the validators enforce is declared in it
// (a value just inside each bound passes both, a value just past it fails both, checked
// with a JSON Schema validator on the document's side), and its error codes are the enum.
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { idempotencyKeyHeader } from '@ledgerline/schemas';
import { loadApiConfig } from '../src/config';
import { API_ERROR_CODES } from '../src/errors';
import { createRequestLimiter } from '../src/rate-limits';
import { BATCH_ITEMS_BY_DEFAULT } from '../src/routes/batch';
import { parseBody, parseQuery } from '../src/http-input';
import { type Route, errorStatusesOf } from '../src/route-table';
import { ROUTES, apiDocument } from '../src/routes';

type Json = Record<string, unknown>;
type Operation = { parameters?: Json[]; requestBody?: { required?: boolean; content: Record<string, { schema: Json }> }; responses: Record<string, Json> };

const doc = apiDocument() as unknown as { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Json> }; security: unknown };
const SPEC_ID = 'ledgerline';

function ajvWith() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: SPEC_ID, components: doc.components });
  return ajv;
}
const ajv = ajvWith();

function routeOf(name: string): Route {
  const route = ROUTES.find((r) => `${r.method.toUpperCase()} ${r.path}` === name);
  if (!route) throw new Error(`no route ${name}`);
  return route;
}

function operationOf(route: Route): Operation {
  const op = doc.paths[route.path]?.[route.method];
  if (!op) throw new Error(`${route.method} ${route.path} is not in the document`);
  return op;
}

const rebase = (schema: Json): Json => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${SPEC_ID}#/components/`));

/** The document's verdict on one part of a request. */
function specValidator(route: Route, where: 'body' | 'query' | 'header' | 'path'): ValidateFunction {
  const op = operationOf(route);
  if (where === 'body') return ajv.compile(rebase(op.requestBody!.content['application/json']!.schema));
  const params = (op.parameters ?? []).filter((p) => p.in === where);
  const validate = ajv.compile(
    rebase({
      type: 'object',
      properties: Object.fromEntries(params.map((p) => [p.name, p.schema])),
      required: params.filter((p) => p.required).map((p) => p.name),
      // Unknown query parameters are refused by the validators (.strict()): declared so.
      additionalProperties: where === 'header',
    }),
  );
  // A client sends an integer parameter as its decimal digits; anything else stays text.
  const integers = new Set(params.filter((p) => (p.schema as Json).type === 'integer').map((p) => p.name));
  const asSent = (value: Json) =>
    Object.fromEntries(Object.entries(value).map(([k, v]) => [k, integers.has(k) && typeof v === 'string' && /^-?[0-9]+$/.test(v) ? Number(v) : v]));
  return ((value: Json) => validate(where === 'query' ? asSent(value) : value)) as ValidateFunction;
}

/** The API's verdict, through the same border functions the router uses. */
function apiAccepts(route: Route, where: 'body' | 'query' | 'header' | 'path', value: Json): boolean {
  try {
    if (where === 'body') parseBody(route.body!, value);
    else if (where === 'query') parseQuery(route.query!, value);
    else if (where === 'path') return route.params!.safeParse(value).success;
    else return idempotencyKeyHeader.safeParse(value['Idempotency-Key']).success;
    return true;
  } catch {
    return false;
  }
}

const ACCOUNT = '7f0c2a8e-3b1d-4c5e-9f6a-1b2c3d4e5f60';
const OTHER = '0e8d4f1a-6c2b-4a3d-8e5f-6a7b8c9d0e1f';
const transfer = { from_account_id: ACCOUNT, to_account_id: OTHER, amount: '100', currency: 'USD' };
const movement = { account_id: ACCOUNT, amount: '100', currency: 'USD' };

interface BoundCase {
  route: string;
  where: 'body' | 'query' | 'header' | 'path';
  base: Json;
  field: string;
  inside: unknown[];
  past: unknown[];
}

const x = (n: number) => 'x'.repeat(n);

const BOUNDS: BoundCase[] = [
  { route: 'POST /v1/transfers', where: 'body', base: transfer, field: 'amount', inside: ['1', '999999999999999'], past: ['0', '1000000000000000', '01', '-1', '1.5', 100] },
  { route: 'POST /v1/deposits', where: 'body', base: movement, field: 'amount', inside: ['1', '999999999999999'], past: ['0', '1000000000000000'] },
  { route: 'POST /v1/withdrawals', where: 'body', base: movement, field: 'amount', inside: ['999999999999999'], past: ['1000000000000000'] },
  { route: 'POST /v1/transfers', where: 'body', base: transfer, field: 'description', inside: ['', x(512), 'é'.repeat(512)], past: [x(513), 'a\u0000b'] },
  { route: 'POST /v1/transfers', where: 'body', base: transfer, field: 'currency', inside: ['EUR'], past: ['usd', 'USDX', 'US'] },
  { route: 'POST /v1/transfers', where: 'body', base: transfer, field: 'to_account_id', inside: [OTHER.toUpperCase()], past: ['not-a-uuid', ''] },
  { route: 'POST /v1/transfers', where: 'body', base: transfer, field: 'unknown_field', inside: [], past: [1] },
  { route: 'POST /v1/accounts', where: 'body', base: { currency: 'USD' }, field: 'overdraft_limit', inside: ['0', '999999999999999'], past: ['1000000000000000', '-1', '00'] },
  {
    route: 'POST /v1/accounts',
    where: 'body',
    base: { currency: 'USD' },
    field: 'metadata',
    inside: [{}, { [x(64)]: 1 }, { a: { b: { c: [1, 'x', null, true] } } }, { a: { b: { c: { d: 1 } } } }, { '': x(4089) }, { '': { '': { '': { '': x(4074) } } } }, { n: -1.5e300 }, Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, i]))],
    past: [{ [x(65)]: 1 }, 'text', [], { a: { b: { c: { d: { e: 1 } } } } }, { a: [[[[1]]]] }, { k: 'v\u0000' }, { 'k\u0000': 1 }, { a: { b: ['\u0000'] } }, { '': x(4090) }, { '': { '': { '': { '': x(4075) } } } }, Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i]))],
  },
  { route: 'GET /v1/transfers/{id}', where: 'query', base: {}, field: 'wait_ms', inside: ['0', '30000'], past: ['-1', '30001', '1.5', 'soon'] },
  { route: 'GET /v1/accounts/{id}/entries', where: 'query', base: {}, field: 'limit', inside: ['1', '500'], past: ['0', '501', 'many'] },
  { route: 'GET /v1/accounts/{id}/entries', where: 'query', base: {}, field: 'cursor', inside: ['1', '9'.repeat(18)], past: ['9'.repeat(19), '-1', 'abc'] },
  { route: 'GET /v1/accounts/{id}/entries', where: 'query', base: {}, field: 'unknown', inside: [], past: ['1'] },
  { route: 'GET /v1/accounts/{id}/entries', where: 'query', base: {}, field: 'from', inside: ['2026-01-31T12:00:00Z', '2026-01-31T12:00:00.123456+02:00'], past: ['2026-01-31T12:00:00', '2026-01-31T12:00:00.1234567Z', 'yesterday', '2026-13-01T00:00:00Z', `2026-01-31T12:00:00.${'1'.repeat(40)}Z`] },
  { route: 'GET /v1/accounts/{id}/balance', where: 'query', base: {}, field: 'at', inside: ['2026-01-31T12:00:00Z', '1999-12-31T23:59:59.5-05:30'], past: ['2026-01-31', '2026-01-31T24:00:00Z', 'now'] },
  { route: 'GET /v1/transfers', where: 'query', base: { account_id: ACCOUNT }, field: 'limit', inside: ['1', '200'], past: ['0', '201', 'all'] },
  { route: 'GET /v1/transfers', where: 'query', base: { account_id: ACCOUNT }, field: 'status', inside: ['PROCESSING', 'REJECTED'], past: ['ACCEPTED', 'rejected'] },
  { route: 'GET /v1/transfers', where: 'query', base: { account_id: ACCOUNT }, field: 'kind', inside: ['DEPOSIT'], past: ['deposit', 'HOLD'] },
  { route: 'GET /v1/transfers', where: 'query', base: { account_id: ACCOUNT }, field: 'cursor', inside: ['abc_-1', x(128)], past: [x(129), 'a b', 'a+b/='] },
  { route: 'GET /v1/transfers', where: 'query', base: {}, field: 'account_id', inside: [ACCOUNT], past: ['abc', ''] },
  { route: 'GET /v1/accounts', where: 'query', base: {}, field: 'owner', inside: ['a', x(256), 'é'.repeat(256), '\u{1F600}'], past: ['', x(257), 'a\u0000b', '\uD800', 'a\uDC00'] },
  { route: 'POST /v1/batch', where: 'body', base: {}, field: 'items', inside: [[{ kind: 'DEPOSIT', ...movement }], [{ kind: 'TRANSFER', ...transfer }]], past: [[], [{ kind: 'REFUND', ...movement }], [{ ...movement }], 'x'] },
  { route: 'POST /v1/transfers', where: 'header', base: {}, field: 'Idempotency-Key', inside: ['k', x(128), '!~'], past: ['', x(129), 'has space', 'é'] },
  { route: 'GET /v1/accounts/{id}', where: 'path', base: {}, field: 'id', inside: [ACCOUNT, ACCOUNT.toUpperCase()], past: ['abc', `${ACCOUNT}0`] },
];

describe('the document and the validators agree on every declared bound', () => {
  test.each(BOUNDS)('$route $where.$field', ({ route: name, where, base, field, inside, past }) => {
    const route = routeOf(name);
    const spec = specValidator(route, where);
    for (const value of inside) {
      const request = { ...base, [field]: value };
      expect({ value, api: apiAccepts(route, where, request), spec: spec(request) }).toEqual({ value, api: true, spec: true });
    }
    for (const value of past) {
      const request = { ...base, [field]: value };
      expect({ value, api: apiAccepts(route, where, request), spec: spec(request) }).toEqual({ value, api: false, spec: false });
    }
  });

  const arbitrary = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.stringMatching(/^[0-9]{0,20}$/),
    fc.integer().map(String),
    fc.double().map(String),
  );
  test.each(BOUNDS)('and on arbitrary values of $route $where.$field (property)', ({ route: name, where, base, field }) => {
    const route = routeOf(name);
    const spec = specValidator(route, where);
    fc.assert(
      fc.property(arbitrary, (value) => {
        const request = { ...base, [field]: value };
        return apiAccepts(route, where, request) === spec(request);
      }),
      { numRuns: 300 },
    );
  });
});

/** Every string, number, array and object a client sends has a bound the document states. */
function unboundedIn(schema: unknown, path: string, found: string[], seen = new Set<string>()): string[] {
  if (typeof schema !== 'object' || schema === null) return found;
  const s = schema as Json;
  if (typeof s.$ref === 'string') {
    const name = s.$ref.split('/').pop()!;
    if (!seen.has(name)) unboundedIn(doc.components.schemas[name], path, found, new Set([...seen, name]));
    return found;
  }
  if ('enum' in s || 'const' in s) return found;
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) (s[key] as unknown[] | undefined)?.forEach((sub, i) => unboundedIn(sub, `${path}.${key}[${i}]`, found, seen));
  const types = ([] as unknown[]).concat(s.type ?? []);
  const pattern = typeof s.pattern === 'string' ? s.pattern : null;
  // A pattern bounds the length when it is anchored and has no open-ended repetition.
  const boundedPattern = pattern !== null && pattern.startsWith('^') && pattern.endsWith('$') && !/[*+]|\{\d+,\}/.test(pattern);
  if (types.includes('string') && s.maxLength === undefined && !boundedPattern && s.format !== 'uuid') found.push(`${path}: string without maxLength`);
  if ((types.includes('integer') || types.includes('number')) && (s.minimum === undefined || s.maximum === undefined)) found.push(`${path}: number without minimum and maximum`);
  if (types.includes('array') && s.maxItems === undefined) found.push(`${path}: array without maxItems`);
  if (types.includes('array')) unboundedIn(s.items, `${path}[]`, found, seen);
  if (types.includes('object')) {
    for (const [name, sub] of Object.entries((s.properties as Json | undefined) ?? {})) unboundedIn(sub, `${path}.${name}`, found, seen);
    if (s.additionalProperties !== false && s.additionalProperties !== undefined) {
      if (s.maxProperties === undefined) found.push(`${path}: open object without maxProperties`);
      unboundedIn(s.propertyNames, `${path}{key}`, found, seen);
    }
  }
  if (types.length === 0 && !s.anyOf && !s.oneOf && !s.allOf) found.push(`${path}: any value`);
  return found;
}

describe('openApiDocument', () => {
  test('describes exactly the routes of the table', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`).sort());
  });

  test('declares a bound for every value a client sends', () => {
    const found: string[] = [];
    for (const route of ROUTES) {
      const op = operationOf(route);
      for (const p of op.parameters ?? []) unboundedIn(p.schema, `${route.method} ${route.path} ${p.in}.${p.name as string}`, found);
      const body = op.requestBody?.content['application/json']?.schema;
      if (body) unboundedIn(body, `${route.method} ${route.path} body`, found);
    }
    expect(found).toEqual([]);
  });

  test('documents every status the declaration implies, with the Error body', () => {
    for (const route of ROUTES) {
      const responses = operationOf(route).responses;
      for (const status of errorStatusesOf(route)) expect({ route: route.path, status, documented: String(status) in responses }).toEqual({ route: route.path, status, documented: true });
      if (!route.public) expect(Object.keys(responses)).toEqual(expect.arrayContaining(['400', '401', '429', '503'].filter((s) => s !== '400' || route.query || route.body || route.idempotent)));
      // The in-flight cap answers 429 on public paths too (/metrics, /openapi.json, /docs), all but /healthz.
      expect({ route: route.path, declares429: '429' in responses }).toEqual({ route: route.path, declares429: route.path !== '/healthz' });
    }
  });

  test('every 429 and 503 declares Retry-After, a route\'s own (GET /readyz\'s 503) included', () => {
    for (const route of ROUTES) {
      for (const [status, response] of Object.entries(operationOf(route).responses)) {
        if (status !== '429' && status !== '503') continue;
        const retryAfter = (response as { headers?: Record<string, unknown> }).headers?.['Retry-After'];
        expect({ route: `${route.method} ${route.path}`, status, retryAfter: retryAfter !== undefined }).toEqual({ route: `${route.method} ${route.path}`, status, retryAfter: true });
      }
    }
  });

  // An outside docs audit: the live answers carried these, the document declared none.
  test('every answer declares X-Request-Id, every 401 WWW-Authenticate, and the assets route its 304', () => {
    for (const route of ROUTES) {
      for (const [status, response] of Object.entries(operationOf(route).responses)) {
        const headers = Object.keys((response as { headers?: Record<string, unknown> }).headers ?? {});
        const name = `${route.method} ${route.path} ${status}`;
        expect({ name, requestId: headers.includes('X-Request-Id') }).toEqual({ name, requestId: true });
        if (status === '401') expect({ name, wwwAuthenticate: headers.includes('WWW-Authenticate') }).toEqual({ name, wwwAuthenticate: true });
      }
    }
    expect(Object.keys(operationOf(routeOf('GET /docs/assets/{file}')).responses)).toContain('304');
  });

  test("a /v1 route's 429 names every code a 429 carries; a public route's only the in-flight cap's", () => {
    const codes429 = ['RATE_LIMITED', 'TOO_MANY_REQUESTS', 'BACKPRESSURE'];
    for (const route of ROUTES) {
      const description = operationOf(route).responses['429']?.description as string | undefined;
      if (description === undefined) continue;
      const named = codes429.filter((code) => description.includes(code));
      expect({ route: route.path, named }).toEqual({ route: route.path, named: route.public ? ['TOO_MANY_REQUESTS'] : codes429 });
    }
  });

  test('who may call: /v1 the bearer token, the operator routes the operator network or the token, the rest anyone', () => {
    const security = Object.fromEntries(ROUTES.map((route) => [`${route.method} ${route.path}`, (operationOf(route) as { security?: unknown }).security]));
    expect(security['get /readyz']).toEqual([{}, { bearer: [] }]);
    expect(security['get /metrics']).toEqual([{}, { bearer: [] }]);
    for (const path of ['/healthz', '/openapi.json', '/docs', '/docs/assets/{file}']) expect([path, security[`get ${path}`]]).toEqual([path, []]);
    // The document's default (bearer) for every /v1 route.
    for (const route of ROUTES.filter((r) => !r.public)) expect([route.path, security[`${route.method} ${route.path}`]]).toEqual([route.path, undefined]);
    expect(doc.security).toEqual([{ bearer: [] }]);
    // A route that asks for the operator's token answers 401 and 403 in the document too.
    for (const route of ROUTES.filter((r) => r.operator)) expect(Object.keys(operationOf(route).responses)).toEqual(expect.arrayContaining(['401', '403']));
  });

  test("the batch route states the item bound the caller's write budget sets, at the default settings", () => {
    const config = loadApiConfig({});
    const limiter = createRequestLimiter(config.rateLimits, null, 'openapi-test');
    const bound = (scopes: string[]) => Math.min(config.batchItemsMax, limiter.capacity('write', { principal: 'p', scopes: new Set(scopes) }));
    expect(BATCH_ITEMS_BY_DEFAULT).toEqual({ user: bound(['ledger:read', 'ledger:write']), admin: bound(['ledger:admin']) });
    const batch = operationOf(routeOf('POST /v1/batch')) as unknown as { summary: string; description: string };
    expect(batch.summary).toContain(`(${BATCH_ITEMS_BY_DEFAULT.user} for a non-admin at the defaults)`);
    expect(batch.description).toContain(`At the defaults that is ${BATCH_ITEMS_BY_DEFAULT.user} items for a non-admin and 1,000 for an admin`);
    expect(batch.description).toMatch(/API_RATE_WRITES_PER_S and API_RATE_WRITES_BURST - API_RATE_WRITES_PER_S \+ 1, both times API_RATE_ADMIN_FACTOR/);
  });

  test('a text answer (Prometheus text, HTML, CSS, a script) is declared a string, so typed clients read it as one', () => {
    const content = (path: string) => (operationOf(routeOf(`GET ${path}`)).responses['200'] as { content: Record<string, unknown> }).content;
    expect(content('/metrics')).toEqual({ 'text/plain': { schema: { type: 'string' } } });
    expect(content('/docs')).toEqual({ 'text/html': { schema: { type: 'string' } } });
    expect(content('/docs/assets/{file}')).toEqual({ 'text/css': { schema: { type: 'string' } }, 'text/javascript': { schema: { type: 'string' } }, 'application/javascript': {}, 'image/png': {} });
  });

  test('lists the API error codes as an enum', () => {
    const error = doc.components.schemas.Error as { properties: { error: { properties: { code: { enum: string[] } } } } };
    expect(error.properties.error.properties.code.enum).toEqual([...API_ERROR_CODES]);
  });

  test('describes request bodies with the validation rules, closed to unknown fields', () => {
    const transferRequest = doc.components.schemas.TransferRequest as { required: string[]; additionalProperties: boolean };
    expect(transferRequest.required.sort()).toEqual(['amount', 'currency', 'from_account_id', 'to_account_id']);
    expect(transferRequest.additionalProperties).toBe(false);
    const entries = (operationOf(routeOf('GET /v1/accounts/{id}/entries')).parameters ?? []).map((p) => p.name);
    expect(entries).toEqual(['id', 'limit', 'cursor', 'from', 'to']);
    const batchItems = (doc.components.schemas.BatchRequest as { properties: { items: { maxItems: number; items: Json } } }).properties.items;
    expect(batchItems.maxItems).toBe(1000);
    expect(batchItems.items).toEqual({ $ref: '#/components/schemas/BatchItem' });
  });

  test('a body is required exactly where an absent one (read as {}) would be refused', () => {
    for (const route of ROUTES) {
      if (!route.body) continue;
      expect({ route: `${route.method} ${route.path}`, required: operationOf(route).requestBody?.required }).toEqual({ route: `${route.method} ${route.path}`, required: !route.body.safeParse({}).success });
    }
    expect(operationOf(routeOf('POST /v1/holds/{id}/void')).requestBody?.required).toBe(false);
    expect(operationOf(routeOf('POST /v1/transfers')).requestBody?.required).toBe(true);
  });

  test('is plain JSON (serialisable, no $schema per component)', () => {
    const text = JSON.stringify(doc);
    expect(JSON.parse(text).openapi).toBe('3.1.0');
    expect(text).not.toContain('"$schema"');
  });
});
