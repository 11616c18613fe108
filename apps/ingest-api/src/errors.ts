/**
 * The ONE place where failures become HTTP answers. Everything else throws:
 *
 *   - ApiError: an answer decided by the API itself (validation, 403, 404, 422...).
 *   - auth errors (packages/auth): 401, or 503 when the key set cannot be fetched.
 *   - produce errors (packages/kafka): BackpressureError 429, BrokerUnavailableError 503.
 *   - RateLimitedError (rate-limits.ts): 429 RATE_LIMITED with the limiter's Retry-After.
 *   - AdmissionRefusedError (batch-admission.ts): 429 TOO_MANY_REQUESTS with Retry-After.
 *   - DependencyUnavailableError and Postgres connection failures: 503.
 *   - body-parser errors (express.json): 400 / 413 / 415 by their `type`; a malformed
 *     percent-escape in the path (URIError): 400.
 *   - anything else is a bug: 500 with no detail leaked (the log has it).
 *
 * Body: {"error": {"code": "SCREAMING_SNAKE", "message": "...", "details": ...}}; 429 and 503
 * carry Retry-After. Bad input never becomes a 500. `code` is one of API_ERROR_CODES, the
 * one list every handler uses and /openapi.json publishes as an enum.
 */
import { type ZodError, z } from 'zod';
import { AuthError, type AuthErrorCode, AuthUnavailableError, MalformedClaimError, MissingTokenError } from '@ledgerline/auth';
import { BackpressureError, BrokerUnavailableError } from '@ledgerline/kafka';
import { EntriesUnsettledError, isRetryablePgError } from '@ledgerline/postgres';
import { shownKey } from '@ledgerline/schemas';
import { AdmissionRefusedError } from './batch-admission';
import { RateLimitedError } from './rate-limits';

/**
 * Every `error.code` the API answers with. A client may switch on it; adding one is a
 * change of the contract (regenerate the typed client), renaming one breaks clients.
 */
export const API_ERROR_CODES = [
  // 400
  'VALIDATION_FAILED',
  'MALFORMED_JSON',
  'MALFORMED_URL',
  'BAD_REQUEST',
  // 401 (packages/auth)
  'TOKEN_MISSING',
  'TOKEN_INVALID',
  'TOKEN_EXPIRED',
  // 403, 404, 405
  'FORBIDDEN',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  // 408, 431: refused by the HTTP parser (app.ts, answerClientError)
  'REQUEST_TIMEOUT',
  'HEADERS_TOO_LARGE',
  // 409 (quotas and the account lifecycle: docs/api.md)
  'ACCOUNT_QUOTA_EXCEEDED',
  'ACCOUNT_NOT_EMPTY',
  'OVERDRAFT_IN_USE',
  'ACCOUNT_CLOSED',
  // 409: a reversal of what cannot be reversed (not a COMPLETED TRANSFER, CAPTURE or DEPOSIT)
  'TRANSFER_NOT_REVERSIBLE',
  // 409: a capture of a hold already ended (VOIDED, CAPTURED or REJECTED; EXPIRED: the
  // worker's reason for a late capture, so a client tells an expiry apart whenever it is seen)
  'HOLD_NOT_ACTIVE',
  'HOLD_EXPIRED',
  // 412: a precondition (If-Match, If-Unmodified-Since) on a static file that does not hold
  'PRECONDITION_FAILED',
  // 413, 415, 417, 422
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'EXPECTATION_FAILED',
  'IDEMPOTENCY_KEY_REUSED',
  // 429
  'RATE_LIMITED',
  'TOO_MANY_REQUESTS',
  'BACKPRESSURE',
  // 503
  'DEPENDENCY_UNAVAILABLE',
  'BUCKET_MOVING',
  // 500: a bug; the answer says nothing more
  'INTERNAL',
] as const;

export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

// Compile-time proof that packages/auth's codes are in the list (AUTH_UNAVAILABLE never
// reaches a client: it answers 503 DEPENDENCY_UNAVAILABLE).
const _authCodesListed: Exclude<AuthErrorCode, 'AUTH_UNAVAILABLE'> extends ApiErrorCode ? true : never = true;
void _authCodesListed;

/** The body of every error answer. */
export const errorBody = z
  .object({
    error: z.object({
      code: z.enum(API_ERROR_CODES),
      message: z.string(),
      details: z.unknown().optional().meta({ description: 'VALIDATION_FAILED: a list of {path, message}, at most 50 (the last then says how many more); 429 RATE_LIMITED: {kind} (read or write); 409 ACCOUNT_QUOTA_EXCEEDED: {accounts_max}; 503: {dependency}, or on /readyz {failed, checks}' }),
    }),
  })
  .meta({ id: 'Error' });

export type ErrorBody = z.infer<typeof errorBody>;

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export type Dependency = 'kafka' | 'postgres' | 'redis' | 'auth';

/** A dependency the request cannot do without is down (Redis only where it has no fallback). */
export class DependencyUnavailableError extends Error {
  override readonly name = 'DependencyUnavailableError';
  constructor(
    readonly dependency: Dependency,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A command whose Idempotency-Key is claimed and which is not applied yet, with no ACCEPTED
 * record in Redis (restarted empty, flushed; or its publish was in doubt): a 503, never a
 * 404, which a client could take for "never happened" and send again under a new key. Sent
 * again under the same key it is published again if it has to be, and applied once.
 */
export function acceptedButUnrecorded(what: 'transfer' | 'hold', id: string): DependencyUnavailableError {
  return new DependencyUnavailableError(
    'redis',
    `${what} ${id} is not applied yet and its ACCEPTED record is not in the cache: poll again shortly, or send the same request again with the same Idempotency-Key (it is applied once); never under a new key`,
  );
}

/** The account's bucket is being moved to another partition: retry in a moment. */
export class BucketMovingError extends Error {
  override readonly name = 'BucketMovingError';
}

export interface FieldIssue {
  path: string;
  message: string;
}

export function validationFailed(issues: FieldIssue[], message = 'request is not valid'): ApiError {
  return new ApiError(400, 'VALIDATION_FAILED', message, issues);
}

/** Characters of a field path an answer echoes at most: paths are built from keys as sent. */
const PATH_SHOWN_MAX = 200;

/**
 * A field path as an answer may echo it: well-formed (a lone surrogate in a key is not echoed
 * back) and bounded (a key may be kilobytes long).
 */
export function shownPath(path: string): string {
  return (path.length > PATH_SHOWN_MAX ? `${path.slice(0, PATH_SHOWN_MAX)}...` : path).toWellFormed();
}

/**
 * At most this many field issues are listed in one answer (its last entry then says how many
 * more there were): a body of 1 MiB can name some 100,000 unknown keys, and an answer listing
 * each would be several times the request (an outside review measured 6.45 MB).
 */
export const FIELD_ISSUES_MAX = 50;

/**
 * zod issues as field paths; an unknown key is reported at its own path, and a missing one
 * as "is required" (when the parse reported its input: `{ reportInput: true }`), not as the
 * type or format it would have needed. At most FIELD_ISSUES_MAX of them.
 */
export function issuesOf(error: ZodError, prefix: readonly (string | number)[] = []): FieldIssue[] {
  const issues = allIssuesOf(error, prefix);
  if (issues.length <= FIELD_ISSUES_MAX) return issues;
  const more = issues.length - (FIELD_ISSUES_MAX - 1);
  return [...issues.slice(0, FIELD_ISSUES_MAX - 1), { path: '(body)', message: `and ${more} more issues, not listed` }];
}

function allIssuesOf(error: ZodError, prefix: readonly (string | number)[]): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const issue of error.issues) {
    const base = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) issues.push({ path: shownPath([...base, key].join('.')), message: 'is not a known field' });
    } else {
      // Any check of an absent value (a type, an enum's options, a union) says so; a custom
      // refinement's own message stands.
      const missing = issue.code !== 'custom' && 'input' in issue && issue.input === undefined;
      issues.push({ path: shownPath(base.join('.')) || '(body)', message: missing ? 'is required' : issue.message });
    }
  }
  return issues;
}

export const notFound = (what: string) => new ApiError(404, 'NOT_FOUND', `${what} not found`);
export const forbidden = (message: string) => new ApiError(403, 'FORBIDDEN', message);
export const idempotencyKeyReused = () =>
  new ApiError(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request body');

export interface RetryAfterPolicy {
  backpressureRetryAfterS: number;
  unavailableRetryAfterS: number;
}

export interface HttpErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: ErrorBody;
  /** True when the failure is a bug worth logging with its stack. */
  unexpected: boolean;
}

export function toHttpError(error: unknown, retry: RetryAfterPolicy): HttpErrorAnswer {
  const answer = (status: number, code: ApiErrorCode, message: string, details?: unknown, headers: Record<string, string> = {}): HttpErrorAnswer => ({
    status,
    headers,
    body: { error: details === undefined ? { code, message } : { code, message, details } },
    unexpected: false,
  });
  const unavailable = (dependency: Dependency, message: string) =>
    answer(503, 'DEPENDENCY_UNAVAILABLE', message, { dependency }, { 'Retry-After': String(retry.unavailableRetryAfterS) });

  if (error instanceof ApiError) return answer(error.status, error.code, error.message, error.details);
  if (error instanceof AuthUnavailableError) return unavailable('auth', 'token keys are unavailable');
  if (error instanceof MalformedClaimError) {
    return answer(400, 'VALIDATION_FAILED', error.message, [{ path: `Authorization.${error.claim}`, message: error.rule }]);
  }
  if (error instanceof AuthError) {
    // RFC 6750 section 3.1: a request without credentials gets the challenge alone, no error code.
    const challenge = error instanceof MissingTokenError ? 'Bearer' : 'Bearer error="invalid_token"';
    return answer(401, error.code as Exclude<AuthErrorCode, 'AUTH_UNAVAILABLE'>, error.message, undefined, { 'WWW-Authenticate': challenge });
  }
  if (error instanceof RateLimitedError) {
    return answer(429, 'RATE_LIMITED', error.message, { kind: error.kind }, { 'Retry-After': String(error.retryAfterS) });
  }
  if (error instanceof BackpressureError) {
    return answer(429, 'BACKPRESSURE', 'too many commands in flight; retry shortly with the same Idempotency-Key', undefined, {
      'Retry-After': String(retry.backpressureRetryAfterS),
    });
  }
  if (error instanceof AdmissionRefusedError) {
    return answer(429, 'TOO_MANY_REQUESTS', error.message, undefined, { 'Retry-After': String(retry.backpressureRetryAfterS) });
  }
  if (error instanceof BucketMovingError) {
    return answer(503, 'BUCKET_MOVING', error.message, undefined, { 'Retry-After': String(retry.backpressureRetryAfterS) });
  }
  // What became of this attempt's command (an outside review: both failures said the same).
  // Only this attempt: an earlier one under the same key, answered by an ambiguous 503, may
  // still be appended, which is why the answer never tells the client its key is free.
  if (error instanceof BrokerUnavailableError) {
    return unavailable(
      'kafka',
      error.maybeSent
        ? 'kafka did not confirm this attempt, which it may still append; retry with the same Idempotency-Key and body'
        : 'kafka unreachable; this attempt was not sent; retry with the same Idempotency-Key and body',
    );
  }
  if (error instanceof DependencyUnavailableError) return unavailable(error.dependency, error.message);
  if (error instanceof EntriesUnsettledError) return unavailable('postgres', error.message);

  // express decodes path parameters with decodeURIComponent: "%ZZ" throws a URIError.
  if (error instanceof URIError) return answer(400, 'MALFORMED_URL', 'the URL holds a malformed percent-escape');
  const bodyParser = bodyParserAnswer(error, answer);
  if (bodyParser) return bodyParser;
  if (isRetryablePgError(error)) return unavailable('postgres', 'postgres unavailable (unreachable or out of resources)');
  // SQLSTATE class 22 (data exception: out of range, bad encoding...) comes from a value the
  // client sent that slipped past validation: still the client's input, so never a 500.
  if (/^22[0-9A-Z]{3}$/.test(String((error as { code?: unknown }).code ?? ''))) {
    return answer(400, 'VALIDATION_FAILED', 'a value in the request cannot be stored (out of range or invalid characters)');
  }
  return { ...answer(500, 'INTERNAL', 'internal error'), unexpected: true };
}

function isJsonScalar(body: unknown): boolean {
  if (typeof body !== 'string') return false;
  try {
    const value: unknown = JSON.parse(body);
    return value === null || typeof value !== 'object';
  } catch {
    return false;
  }
}

/** express.json() (body-parser) marks its errors with `type` and a 4xx `status`. */
function bodyParserAnswer(
  error: unknown,
  answer: (status: number, code: ApiErrorCode, message: string) => HttpErrorAnswer,
): HttpErrorAnswer | null {
  if (typeof error !== 'object' || error === null || !('type' in error)) return null;
  const { type, status, limit, literal, key } = error as { type?: unknown; status?: unknown; limit?: unknown; literal?: unknown; key?: unknown };
  switch (type) {
    case 'entity.too.large':
      return answer(413, 'PAYLOAD_TOO_LARGE', `request body exceeds ${String(limit)} bytes`);
    case 'entity.parse.failed':
      // strict parsing refuses a JSON text that is not an object or array ("hello", 5, null):
      // valid JSON, so not MALFORMED_JSON, but never a body any route takes.
      if (isJsonScalar((error as { body?: unknown }).body)) return answer(400, 'VALIDATION_FAILED', 'request body must be a JSON object');
      return answer(400, 'MALFORMED_JSON', 'request body is not valid JSON');
    case 'entity.encoding.invalid':
      return answer(400, 'MALFORMED_JSON', 'request body is not valid UTF-8');
    case 'entity.number.inexact': {
      const shown = String(literal).length > 40 ? `${String(literal).slice(0, 40)}...` : String(literal);
      return answer(400, 'VALIDATION_FAILED', `number ${shown} cannot be kept exactly (a JSON number is read as a double): send it as text`);
    }
    case 'entity.key.duplicate':
      return answer(400, 'VALIDATION_FAILED', `key ${shownKey(String(key))} appears twice in one object: send each key once (readers disagree on which one counts)`);
    case 'encoding.unsupported':
      return answer(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Encoding is not supported: send the body uncompressed');
    case 'charset.unsupported':
      return answer(415, 'UNSUPPORTED_MEDIA_TYPE', 'request body must be UTF-8 application/json');
    case 'entity.unexpected':
      return answer(400, 'BAD_REQUEST', `a ${String((error as { method?: unknown }).method)} request carries no body`);
    case 'request.aborted':
    case 'request.size.invalid':
      return answer(400, 'BAD_REQUEST', 'request body was incomplete');
    default:
      if (typeof status === 'number' && status >= 400 && status < 500) return answer(status, 'BAD_REQUEST', 'request could not be read');
      return null;
  }
}
