/**
 * /openapi.json, generated from the route table (route-table.ts): each route's path, query,
 * header and body schemas are the zod schemas that validate its requests, rendered by
 * zod-openapi (zod 4's JSON Schema, input side for requests, output side for answers), so
 * the document cannot drift from what the API accepts. Error answers share one Error
 * schema whose `code` is the enum of API_ERROR_CODES (errors.ts).
 */
import { z } from 'zod';
import { type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponsesObject, createDocument } from 'zod-openapi';
import { idempotencyKeyHeader } from '@ledgerline/schemas';
import { errorBody } from './errors';
import { IDEMPOTENCY_KEY_HEADER, type ResponseSpec, type Route, errorStatusesOf } from './route-table';

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'VALIDATION_FAILED (details list field paths), MALFORMED_JSON, or a missing/invalid Idempotency-Key',
  401: 'TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED',
  403: 'FORBIDDEN: the token lacks the scope, or the account is not yours',
  404: 'NOT_FOUND (or not yours: existence does not leak)',
  409: 'The request conflicts with the resource state',
  412: 'PRECONDITION_FAILED: If-Match or If-Unmodified-Since does not hold for the file',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE: a body must be UTF-8 application/json',
  422: 'IDEMPOTENCY_KEY_REUSED: same key, different body, while the key is bound (docs/api.md, "Idempotency")',
  429: 'RATE_LIMITED: the principal is over its read or write budget (details.kind); TOO_MANY_REQUESTS: the in-flight cap or batch admission is full; BACKPRESSURE: the produce buffer is full. Each with Retry-After',
  503: 'DEPENDENCY_UNAVAILABLE or BUCKET_MOVING (Retry-After)',
};

const retryAfter = { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' as const, minimum: 1 } } };

/** On every answer (packages/logging, the request-id middleware): the log's lines for it carry the same id. */
const requestId = {
  'X-Request-Id': { description: "The caller's X-Request-Id when it sent a short printable one, else a fresh UUID", schema: { type: 'string' as const } },
};

/** RFC 6750: `Bearer` for a missing token, `Bearer error="invalid_token"` for an invalid or expired one (errors.ts). */
const wwwAuthenticate = {
  'WWW-Authenticate': { description: 'Bearer, or Bearer error="invalid_token" for an invalid or expired token', schema: { type: 'string' as const } },
};

/** The only 429 of a public route: no principal, no budget, nothing produced. */
const PUBLIC_429 = 'TOO_MANY_REQUESTS: the in-flight cap is full (Retry-After)';

/** Every 429 and 503 carries Retry-After, those a route declares itself (GET /readyz's 503) too. */
const carriesRetryAfter = (status: number) => status === 429 || status === 503;

function declaredResponse(status: number, spec: ResponseSpec) {
  const headers = {
    ...requestId,
    ...(spec.location ? { Location: { description: "The resource's URL", schema: { type: 'string' as const } } } : {}),
    ...(carriesRetryAfter(status) ? retryAfter : {}),
  };
  const content = spec.contentTypes
    ? Object.fromEntries(spec.contentTypes.map((type) => [type, contentOf(type)]))
    : spec.schema
      ? { 'application/json': { schema: spec.schema } }
      : undefined;
  return { description: spec.description, headers, ...(content ? { content } : {}) };
}

/** A text body (Prometheus text, HTML, CSS, a script) is a string: typed clients read it as one. */
function contentOf(type: string) {
  return type.startsWith('text/') ? { schema: { type: 'string' as const } } : {};
}

/**
 * Who may call the route. Operator routes answer the operator network without a token and
 * anyone else only with a ledger:admin token: the token is optional, and a client outside
 * that network must send one (`security: []` said none was ever needed; an outside review).
 */
function securityOf(route: Route): { security?: Record<string, string[]>[] } {
  if (route.operator) return { security: [{}, { bearer: [] }] };
  return route.public ? { security: [] } : {};
}

function operationOf(route: Route): ZodOpenApiOperationObject {
  const responses: ZodOpenApiResponsesObject = {};
  for (const [status, spec] of Object.entries(route.responses)) responses[status as `${1 | 2 | 3 | 4 | 5}${string}`] = declaredResponse(Number(status), spec);
  for (const status of errorStatusesOf(route)) {
    if (responses[String(status) as `${1 | 2 | 3 | 4 | 5}${string}`]) continue;
    responses[String(status) as `${1 | 2 | 3 | 4 | 5}${string}`] = {
      description: (status === 429 && route.public ? PUBLIC_429 : ERROR_DESCRIPTIONS[status]) ?? 'error',
      headers: {
        ...requestId,
        ...(carriesRetryAfter(status) ? retryAfter : {}),
        ...(status === 401 ? wwwAuthenticate : {}),
        ...(status === 405 ? { Allow: { description: 'The methods the path serves', schema: { type: 'string' as const } } } : {}),
      },
      content: { 'application/json': { schema: errorBody } },
    };
  }
  return {
    operationId: operationIdOf(route),
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...securityOf(route),
    requestParams: {
      ...(route.params ? { path: route.params as z.ZodObject } : {}),
      ...(route.query ? { query: route.query as z.ZodObject } : {}),
      ...(route.idempotent ? { header: z.object({ [IDEMPOTENCY_KEY_HEADER]: idempotencyKeyHeader.meta({ description: 'The same key and body return the same resource' }) }) } : {}),
    },
    // A request without a body is read as {} (app.ts, jsonOnly): where {} is valid, the body is optional.
    ...(route.body ? { requestBody: { required: !route.body.safeParse({}).success, content: { 'application/json': { schema: route.body } } } } : {}),
    responses,
  };
}

/** post /v1/accounts/{id}/entries -> postAccountsIdEntries: stable names for generated clients. */
function operationIdOf(route: Route): string {
  const words = route.path
    .split('/')
    .filter((segment) => segment && segment !== 'v1')
    .map((segment) => segment.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase()))
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1));
  return route.method + words.join('');
}

export function openApiDocument(routes: readonly Route[]) {
  const paths: ZodOpenApiPathsObject = {};
  for (const route of routes) {
    paths[route.path] = { ...paths[route.path], [route.method]: operationOf(route) };
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'ledgerline ingest API',
      version: '1',
      description:
        'Amounts are strings of decimal digits in minor units. Every POST and PATCH needs an Idempotency-Key, except POST /v1/holds/{id}/void (idempotent by the hold\'s state). Money movements answer 202 once durable in Kafka; poll (or long-poll with wait_ms) the transfer for COMPLETED or REJECTED. A method a path does not declare answers 405 with Allow.',
    },
    security: [{ bearer: [] }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    paths,
  });
}
