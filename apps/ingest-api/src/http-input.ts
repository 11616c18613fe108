/**
 * Checks and parsing at the HTTP border. Bodies, queries and the Idempotency-Key header are
 * parsed through zod, each failure a 400 with field paths; before zod, a body is walked once
 * for nesting depth and text Postgres cannot store (jsonProblem, envelopeProblem). Without
 * zod: the ambiguous framing app.ts refuses (framingProblem) and the number literals a
 * double would change (inexactNumberLiteral, run on the raw body). Who is calling, and
 * with which scopes, is request-principal.ts.
 */
import type { Request } from 'express';
import { z } from 'zod';
import { idempotencyKeyHeader, textProblem } from '@ledgerline/schemas';
import { ApiError, type FieldIssue, issuesOf, validationFailed } from './errors';

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  assertObjectBody(body);
  // Before zod: the shape check below walks the document without recursion, so no nesting
  // depth can exhaust the stack, and no text Postgres cannot store reaches a command.
  const problem = jsonProblem(body ?? {}, BODY_DEPTH_MAX);
  if (problem) throw validationFailed([problem], 'request body is not valid');
  const parsed = schema.safeParse(body ?? {}, { reportInput: true });
  if (!parsed.success) throw validationFailed(issuesOf(parsed.error), 'request body is not valid');
  return parsed.data;
}

/**
 * A body that is JSON but an array is refused whole, as a scalar is (errors.ts: body-parser's
 * strict mode lets arrays through, scalars not): docs/api.md promises the same answer, without
 * details, for every JSON text that is not an object. (Absent, it parses as {}.)
 */
export function assertObjectBody(body: unknown): void {
  if (Array.isArray(body)) throw new ApiError(400, 'VALIDATION_FAILED', 'request body must be a JSON object');
}

/**
 * Nesting levels a request body may have at most. The deepest legitimate body is an account's
 * metadata (itself capped lower by its schema) inside the body object; a body thousands of
 * levels deep is refused before anything recursive (zod, JSON.stringify) walks it.
 */
export const BODY_DEPTH_MAX = 16;

/**
 * JSON.parse reads a number literal beyond a double's range (`1e400`) as Infinity, which no
 * field accepts and no canonical form (the idempotency hash, a stored JSON document) can hold.
 */
const NUMBER_OUT_OF_RANGE = 'is a number beyond the range of a double';

/**
 * The first problem of a parsed JSON document, as a field issue: a string (value or key)
 * that is not storable text (`textProblem`: a lone surrogate, NUL) or a `__proto__` key, a
 * number literal beyond a double's range, or nesting deeper than `depthMax`. Iterative on
 * purpose: the input decides the depth (a million nested brackets must not overflow the
 * stack of whoever walks it next: hashing, zod, JSON.stringify). Null when it is fine.
 */
export function jsonProblem(root: unknown, depthMax: number): FieldIssue | null {
  return documentProblem(root, depthMax, true);
}

/**
 * What refuses a document whole when its parts are judged one by one later (a batch's
 * items, each with jsonProblem): nesting deeper than `depthMax`, or a number literal beyond
 * a double's range (an invalid item is hashed as sent, and Infinity has no canonical form).
 */
export function envelopeProblem(root: unknown, depthMax: number): FieldIssue | null {
  return documentProblem(root, depthMax, false);
}

function documentProblem(root: unknown, depthMax: number, checkText: boolean): FieldIssue | null {
  const issue = documentIssue(root, depthMax, checkText);
  // A path is built from the keys as sent: an envelope's keys are not checked for text, and
  // a lone surrogate in one must not be echoed back in the answer (an outside review).
  return issue && { ...issue, path: issue.path.toWellFormed() };
}

function documentIssue(root: unknown, depthMax: number, checkText: boolean): FieldIssue | null {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: root, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      const problem = checkText ? textProblem(value) : null;
      if (problem) return { path: path || '(body)', message: problem };
      continue;
    }
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return { path: path || '(body)', message: NUMBER_OUT_OF_RANGE };
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= depthMax) return { path: path || '(body)', message: `nests deeper than ${depthMax} levels` };
    for (const [key, child] of Object.entries(value)) {
      const childPath = path ? `${path}.${key}` : key;
      if (checkText) {
        const keyProblem = textProblem(key);
        if (keyProblem) return { path: childPath, message: `key ${keyProblem}` };
        // JSON.parse makes "__proto__" an own key, but copying the object (zod does) sets the
        // copy's prototype instead: the key would vanish, and what is stored and hashed would
        // differ from what was sent.
        if (key === '__proto__') return { path: childPath, message: 'key "__proto__" is not allowed' };
      }
      stack.push({ value: child, path: childPath, depth: depth + 1 });
    }
  }
  return null;
}

/**
 * What a literal that can lose digits as a double starts with: after a separator, 16 or more
 * digits (a '.' may sit among them) or a three-digit exponent. Up to 15 significant digits a
 * decimal survives the round trip (DBL_DIG), so a body without either is exact and is not
 * scanned further (this test costs about a quarter of JSON.parse; strings may match it, the
 * scan then skips them).
 */
const MAYBE_INEXACT = /[:,[]\s*-?[0-9](?:[0-9.]{15}|[0-9.]*[eE][-+]?0*[0-9]{3})/;
const NUMBER_LITERAL = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?/y;

/**
 * The first number literal of a JSON text that JSON.parse cannot keep: one whose double is
 * not the decimal sent (9007199254740993 becomes ...992, 1e-400 becomes 0,
 * 0.10000000000000001 becomes 0.1). Stored, it would read back as another number, and two
 * bodies that differ only there would hash as one request. Null when every literal is kept
 * (1.0 and 1 are the same decimal). Literals beyond the double's range are left to
 * documentProblem (they parse to Infinity).
 */
export function inexactNumberLiteral(text: string): string | null {
  if (!MAYBE_INEXACT.test(text)) return null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c /* \ */) i++;
      continue;
    }
    if (c !== 0x2d /* - */ && (c < 0x30 || c > 0x39)) continue;
    NUMBER_LITERAL.lastIndex = i;
    const literal = NUMBER_LITERAL.exec(text)?.[0];
    if (!literal) continue;
    i += literal.length - 1;
    const value = Number(literal);
    if (!Number.isFinite(value)) continue;
    // An exponent of 7 digits or more is far outside the double's range (10^+-324..308):
    // finite means it read as 0, which is exact only for a zero mantissa. (Spelling such an
    // exponent out as a BigInt would cost a 1 MiB body a third of a second.)
    const exponent = /[eE][-+]?0*([0-9]*)$/.exec(literal)?.[1] ?? '';
    if (exponent.length > 6) {
      if (/[1-9]/.test(literal.slice(0, literal.search(/[eE]/)))) return literal;
      continue;
    }
    if (decimalOf(literal) !== decimalOf(String(value))) return literal;
  }
  return null;
}

/**
 * A decimal's canonical spelling: sign, significant digits, exponent ("1.50e1" -> "15e0").
 * Linear in the literal's length (a regex stripping trailing zeros was quadratic in a run of
 * zeros: 120 KB of them took 13 s, found by an outside review). The caller keeps exponents
 * to 6 digits.
 */
function decimalOf(text: string): string {
  const e = text.search(/[eE]/);
  const mantissa = e < 0 ? text : text.slice(0, e);
  const exponent = e < 0 ? 0 : Number(text.slice(e + 1));
  const negative = mantissa.charCodeAt(0) === 0x2d; /* - */
  const dot = mantissa.indexOf('.');
  const fraction = dot < 0 ? '' : mantissa.slice(dot + 1);
  const digits = mantissa.slice(negative ? 1 : 0, dot < 0 ? undefined : dot) + fraction;
  let first = 0;
  while (first < digits.length && digits.charCodeAt(first) === 0x30) first++;
  if (first === digits.length) return '0';
  let last = digits.length;
  while (digits.charCodeAt(last - 1) === 0x30) last--;
  return `${negative ? '-' : ''}${digits.slice(first, last)}e${exponent - fraction.length + (digits.length - last)}`;
}

export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  // No parameter takes a list: a repeated one is named as such, not judged by its first form
  // (an outside review: `?account_id=X&account_id=X` answered "must be a UUID").
  const repeated = Object.entries((query ?? {}) as Record<string, unknown>).filter(([, value]) => Array.isArray(value));
  if (repeated.length > 0) throw validationFailed(repeated.map(([name]) => ({ path: name, message: 'is given more than once' })), 'query is not valid');
  const parsed = schema.safeParse(query ?? {}, { reportInput: true });
  if (!parsed.success) throw validationFailed(issuesOf(parsed.error), 'query is not valid');
  return parsed.data;
}

export function idempotencyKeyOf(req: Request): string {
  const parsed = idempotencyKeyHeader.safeParse(req.get('Idempotency-Key') ?? '');
  if (!parsed.success) {
    throw validationFailed(
      parsed.error.issues.map((issue) => ({ path: 'Idempotency-Key', message: issue.message })),
      'Idempotency-Key header is missing or invalid',
    );
  }
  return parsed.data;
}

/** Headers Node keeps one of (it drops the rest): a second copy is refused, not dropped. */
const SINGLE_HEADERS = new Map([
  ['host', 'Host'],
  ['content-type', 'Content-Type'],
  ['authorization', 'Authorization'],
  ['idempotency-key', 'Idempotency-Key'],
]);

/**
 * Why the request's framing is ambiguous, or null: what Node reads one way and a proxy in
 * front may read another. A second Host, Content-Type, Authorization or Idempotency-Key
 * (Node keeps the first or joins them, a proxy may keep the last: another virtual host,
 * another media type, another principal, another command), an HTTP/1.1 request without a
 * Host, and a transfer coding other than chunked (Node decodes only the chunking and would
 * hand the rest, gzip for instance, to the JSON reader as if it were plain).
 */
export function framingProblem(req: Request): string | null {
  const seen = new Map<string, number>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    if (SINGLE_HEADERS.has(name)) seen.set(name, (seen.get(name) ?? 0) + 1);
  }
  for (const [name, count] of seen) if (count > 1) return `the ${SINGLE_HEADERS.get(name)} header appears more than once`;
  if (req.httpVersion === '1.1' && !seen.has('host')) return 'an HTTP/1.1 request needs a Host header';
  const coding = req.headers['transfer-encoding'];
  if (coding !== undefined && coding.trim().toLowerCase() !== 'chunked') return `Transfer-Encoding "${coding.slice(0, 64)}" is not supported: only chunked (send the body uncompressed)`;
  return null;
}
