/**
 * /openapi.json, generated from the SAME zod schemas that validate requests
 * (packages/schemas/src/http.ts) with zod 4's z.toJSONSchema, so the document cannot drift
 * from what the API accepts. Request bodies and query parameters are described as input
 * (what a client sends, defaults optional); resources as output (what the API returns).
 */
import { z } from 'zod';
import {
  accountResource,
  balanceResource,
  createAccountBody,
  entriesPage,
  entriesQuery,
  errorBody,
  movementBody,
  transferBody,
  transferQuery,
  transferResource,
} from '@ledgerline/schemas';

type JsonSchema = Record<string, unknown>;

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ content: { 'application/json': { schema: ref(name) } } });

const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [String(status), { description: ERROR_DESCRIPTIONS[status] ?? 'error', ...json('Error') }]));

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Validation failed (details list field paths), malformed JSON, or a missing/invalid Idempotency-Key',
  401: 'Missing, invalid or expired token',
  403: 'The token lacks the scope, or the account is not yours',
  404: 'Not found (or not yours: existence does not leak)',
  413: 'Request body too large',
  415: 'Content-Type must be application/json',
  422: 'IDEMPOTENCY_KEY_REUSED: same key, different body',
  429: 'Backpressure or too many requests in flight (Retry-After)',
  503: 'A dependency is down (Retry-After)',
};

const idParam = (what: string) => ({ name: 'id', in: 'path', required: true, description: `${what} id`, schema: { type: 'string', format: 'uuid' } });
const idempotencyKey = {
  name: 'Idempotency-Key',
  in: 'header',
  required: true,
  description: '1-128 printable ASCII characters; the same key and body return the same resource',
  schema: { type: 'string', minLength: 1, maxLength: 128 },
};

function queryParams(schema: z.ZodObject): unknown[] {
  const described = schemaOf(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(described.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: described.required?.includes(name) ?? false,
    schema: property,
  }));
}

function moneyPost(summary: string, body: string) {
  return {
    summary,
    parameters: [idempotencyKey],
    requestBody: { required: true, ...json(body) },
    responses: {
      '202': { description: 'Durable in Kafka; poll Location for the outcome', headers: { Location: { schema: { type: 'string' } } }, ...json('Transfer') },
      '200': { description: 'Replay of an earlier request with the same key and body: its current resource', ...json('Transfer') },
      ...errors(400, 401, 403, 413, 415, 422, 429, 503),
    },
  };
}

export function openApiDocument() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'ledgerline ingest API',
      version: '1',
      description:
        'Amounts are strings of decimal digits in minor units. Every POST needs an Idempotency-Key. Money movements answer 202 once durable in Kafka; poll (or long-poll with wait_ms) the transfer for COMPLETED or REJECTED.',
    },
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        CreateAccount: schemaOf(createAccountBody, 'input'),
        TransferRequest: schemaOf(transferBody, 'input'),
        MovementRequest: schemaOf(movementBody, 'input'),
        Account: schemaOf(accountResource, 'output'),
        Balance: schemaOf(balanceResource, 'output'),
        EntriesPage: schemaOf(entriesPage, 'output'),
        Transfer: schemaOf(transferResource, 'output'),
        Error: schemaOf(errorBody, 'output'),
      },
    },
    paths: {
      '/v1/accounts': {
        post: {
          summary: 'Open an account owned by the token subject',
          parameters: [idempotencyKey],
          requestBody: { required: true, ...json('CreateAccount') },
          responses: {
            '201': { description: 'Opened', ...json('Account') },
            '200': { description: 'Replay of an earlier request with the same key and body', ...json('Account') },
            ...errors(400, 401, 403, 413, 415, 422, 503),
          },
        },
      },
      '/v1/accounts/{id}': {
        get: { summary: 'An account', parameters: [idParam('account')], responses: { '200': { description: 'The account', ...json('Account') }, ...errors(401, 403, 404, 503) } },
      },
      '/v1/accounts/{id}/balance': {
        get: {
          summary: "An account's balance; version is the entry sequence number it reflects",
          parameters: [idParam('account')],
          responses: { '200': { description: 'The balance', ...json('Balance') }, ...errors(401, 403, 404, 503) },
        },
      },
      '/v1/accounts/{id}/entries': {
        get: {
          summary: "An account's entries, newest first; pass next_cursor as cursor for the next page",
          parameters: [idParam('account'), ...queryParams(entriesQuery)],
          responses: { '200': { description: 'A page of entries', ...json('EntriesPage') }, ...errors(400, 401, 403, 404, 503) },
        },
      },
      '/v1/transfers': { post: moneyPost('Move money between two accounts (you must own the source)', 'TransferRequest') },
      '/v1/deposits': { post: moneyPost('Money arriving from outside (ledger:admin)', 'MovementRequest') },
      '/v1/withdrawals': { post: moneyPost('Money leaving to outside (owner or admin)', 'MovementRequest') },
      '/v1/transfers/{id}': {
        get: {
          summary: 'A transfer; wait_ms holds the request until it is COMPLETED or REJECTED or the time is up',
          parameters: [idParam('transfer'), ...queryParams(transferQuery)],
          responses: { '200': { description: 'The transfer', ...json('Transfer') }, ...errors(400, 401, 403, 404, 503) },
        },
      },
      '/healthz': { get: { summary: 'Process alive', security: [], responses: { '200': { description: 'Alive' } } } },
      '/readyz': {
        get: {
          summary: 'Kafka, Postgres and Redis reachable',
          security: [],
          responses: { '200': { description: 'Ready' }, ...errors(503) },
        },
      },
      '/metrics': { get: { summary: 'Prometheus metrics', security: [], responses: { '200': { description: 'Prometheus text format' } } } },
      '/openapi.json': { get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1' } } } },
      '/docs': { get: { summary: 'This document, rendered as HTML', security: [], responses: { '200': { description: 'HTML' } } } },
    },
  };
}

/**
 * A self-contained page that renders /openapi.json: no CDN, no framework, so it works on
 * an air-gapped box and cannot be broken by a third party.
 */
export const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ledgerline API</title>
<style>
body{font:14px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{margin-bottom:0}.op{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}
.m{display:inline-block;min-width:4rem;font-weight:bold;text-transform:uppercase}
.get{color:#0a6}.post{color:#06c}code,pre{background:#f6f6f6;border-radius:4px;padding:.1rem .3rem}
pre{padding:.5rem;overflow:auto;font-size:12px}details{margin:.3rem 0}
</style></head><body>
<h1>ledgerline API</h1><p id="desc"></p><p><a href="/openapi.json">openapi.json</a></p><div id="ops">loading...</div>
<script>
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
const block = (title, value) => '<details><summary>' + esc(title) + '</summary><pre>' + esc(JSON.stringify(value, null, 2)) + '</pre></details>';
fetch('/openapi.json').then((r) => r.json()).then((spec) => {
  document.getElementById('desc').textContent = spec.info.description;
  const html = [];
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      html.push('<div class="op"><span class="m ' + method + '">' + method + '</span><code>' + esc(path) + '</code> ' + esc(op.summary || ''));
      if (op.parameters) html.push(block('parameters', op.parameters));
      if (op.requestBody) html.push(block('request body', op.requestBody.content['application/json'].schema));
      html.push(block('responses', op.responses));
      html.push('</div>');
    }
  }
  html.push('<h2>Schemas</h2>');
  for (const [name, schema] of Object.entries(spec.components.schemas)) html.push(block(name, schema));
  document.getElementById('ops').innerHTML = html.join('');
}).catch((e) => { document.getElementById('ops').textContent = 'could not load /openapi.json: ' + e; });
</script></body></html>
`;
