// Proves every kind of failure maps to its documented status and error body in one place, with Retry-After where the contract asks for it.
import { ExpiredTokenError, InvalidTokenError, MissingTokenError, AuthUnavailableError } from '@ledgerline/auth';
import { BackpressureError, BrokerUnavailableError } from '@ledgerline/kafka';
import { z } from 'zod';
import { ApiError, DependencyUnavailableError, FIELD_ISSUES_MAX, issuesOf, toHttpError } from '../src/errors';

const retry = { backpressureRetryAfterS: 1, unavailableRetryAfterS: 2 };
const map = (error: unknown) => toHttpError(error, retry);

describe('toHttpError', () => {
  it('passes ApiError through', () => {
    const answer = map(new ApiError(422, 'IDEMPOTENCY_KEY_REUSED', 'reused', { a: 1 }));
    expect(answer).toMatchObject({ status: 422, body: { error: { code: 'IDEMPOTENCY_KEY_REUSED', message: 'reused', details: { a: 1 } } } });
  });

  it('maps auth errors to 401 with their code, and an unreachable key set to 503', () => {
    expect(map(new MissingTokenError('x'))).toMatchObject({ status: 401, body: { error: { code: 'TOKEN_MISSING' } }, headers: { 'WWW-Authenticate': 'Bearer' } });
    expect(map(new InvalidTokenError('x'))).toMatchObject({ status: 401, body: { error: { code: 'TOKEN_INVALID' } } });
    const expired = map(new ExpiredTokenError('x'));
    expect(expired).toMatchObject({ status: 401, body: { error: { code: 'TOKEN_EXPIRED' } } });
    expect(expired.headers['WWW-Authenticate']).toBe('Bearer error="invalid_token"');
    expect(map(new AuthUnavailableError('x'))).toMatchObject({ status: 503, headers: { 'Retry-After': '2' } });
  });

  it('maps produce failures to 429 and 503 with Retry-After', () => {
    expect(map(new BackpressureError('full'))).toMatchObject({ status: 429, headers: { 'Retry-After': '1' }, body: { error: { code: 'BACKPRESSURE' } } });
    expect(map(new BrokerUnavailableError('down'))).toMatchObject({
      status: 503,
      headers: { 'Retry-After': '2' },
      body: { error: { code: 'DEPENDENCY_UNAVAILABLE', details: { dependency: 'kafka' } } },
    });
  });

  it('tells an attempt Kafka never got from one Kafka may still append', () => {
    expect(map(new BrokerUnavailableError('down', false)).body).toMatchObject({
      error: { code: 'DEPENDENCY_UNAVAILABLE', message: 'kafka unreachable; this attempt was not sent; retry with the same Idempotency-Key and body' },
    });
    expect(map(new BrokerUnavailableError('timed out', true)).body).toMatchObject({
      error: {
        code: 'DEPENDENCY_UNAVAILABLE',
        message: 'kafka did not confirm this attempt, which it may still append; retry with the same Idempotency-Key and body',
      },
    });
  });

  it('maps dependency and Postgres connection failures to 503', () => {
    expect(map(new DependencyUnavailableError('redis', 'redis unreachable'))).toMatchObject({
      status: 503,
      body: { error: { message: 'redis unreachable', details: { dependency: 'redis' } } },
    });
    expect(map(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6432'), { code: 'ECONNREFUSED' }))).toMatchObject({
      status: 503,
      body: { error: { details: { dependency: 'postgres' } } },
    });
    // Found by an outside review: these answered 500.
    for (const error of [
      new Error('Client has encountered a connection error and is not queryable'),
      new Error('Client was closed and is not queryable'),
      Object.assign(new Error('write EPIPE'), { errno: -32, code: 'EPIPE', syscall: 'write' }),
    ]) {
      expect([error.message, map(error)]).toMatchObject([error.message, { status: 503, headers: { 'Retry-After': '2' }, body: { error: { details: { dependency: 'postgres' } } } }]);
    }
  });

  it('maps body-parser errors by type, never to 500', () => {
    expect(map({ type: 'entity.too.large', status: 413, limit: 16384 })).toMatchObject({ status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE' } } });
    expect(map({ type: 'entity.parse.failed', status: 400 })).toMatchObject({ status: 400, body: { error: { code: 'MALFORMED_JSON' } } });
    expect(map({ type: 'charset.unsupported', status: 415 })).toMatchObject({ status: 415 });
    expect(map({ type: 'something.else', status: 400 })).toMatchObject({ status: 400 });
  });

  it('hides unexpected errors behind a 500 and flags them for the log', () => {
    const answer = map(new TypeError('undefined is not a function'));
    expect(answer).toMatchObject({ status: 500, unexpected: true, body: { error: { code: 'INTERNAL', message: 'internal error' } } });
  });
});

describe('issuesOf', () => {
  it('lists field paths, one per unknown key', () => {
    const schema = z.object({ amount: z.string(), nested: z.object({ x: z.number() }) }).strict();
    const parsed = schema.safeParse({ amount: 5, nested: { x: 'no' }, extra: 1 });
    expect(parsed.success).toBe(false);
    const paths = issuesOf(parsed.error!).map((i) => i.path).sort();
    expect(paths).toEqual(['amount', 'extra', 'nested.x']);
  });

  it('says a missing field is required, and a present one what it must be', () => {
    const schema = z.object({ id: z.uuid({ message: 'must be a UUID' }), amount: z.string(), note: z.string().nullable() });
    const parsed = schema.safeParse({ id: 5, note: undefined }, { reportInput: true });
    expect(issuesOf(parsed.error!)).toEqual([
      { path: 'id', message: 'must be a UUID' },
      { path: 'amount', message: 'is required' },
      { path: 'note', message: 'is required' },
    ]);
    // A null is a value of the wrong type, not a missing field.
    const nulled = schema.safeParse({ id: null, amount: null, note: null }, { reportInput: true });
    expect(issuesOf(nulled.error!).map((i) => i.message)).toEqual(['must be a UUID', 'Invalid input: expected string, received null']);
  });
});

describe('Postgres data exceptions', () => {
  it('are the client input, so 400, never 500', () => {
    expect(map(Object.assign(new Error('value out of range for type bigint'), { code: '22003' }))).toMatchObject({ status: 400 });
    expect(map(Object.assign(new Error('unsupported Unicode escape sequence'), { code: '22P05' }))).toMatchObject({ status: 400 });
  });
});

describe('issuesOf: a bounded list', () => {
  const strict = z.strictObject({ amount: z.string() });

  it('lists every issue up to the bound', () => {
    const keys = Object.fromEntries(Array.from({ length: FIELD_ISSUES_MAX - 1 }, (_, i) => [`k${i}`, 1]));
    const issues = issuesOf(strict.safeParse({ amount: '1', ...keys }).error!);
    expect(issues).toHaveLength(FIELD_ISSUES_MAX - 1);
    expect(issues.at(-1)).toEqual({ path: `k${FIELD_ISSUES_MAX - 2}`, message: 'is not a known field' });
  });

  it('at the bound, lists them all; one past it, the last entry says how many more', () => {
    const keysOf = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 1]));
    const at = issuesOf(strict.safeParse({ amount: '1', ...keysOf(FIELD_ISSUES_MAX) }).error!);
    expect([at.length, at.at(-1)]).toEqual([FIELD_ISSUES_MAX, { path: `k${FIELD_ISSUES_MAX - 1}`, message: 'is not a known field' }]);
    const past = issuesOf(strict.safeParse({ amount: '1', ...keysOf(FIELD_ISSUES_MAX + 1) }).error!);
    expect([past.length, past.at(-1)]).toEqual([FIELD_ISSUES_MAX, { path: '(body)', message: 'and 2 more issues, not listed' }]);
  });

  it('past the bound, lists the first ones and says how many more there were', () => {
    // A 1 MiB body can name ~100,000 unknown keys: the answer must not list each (an outside review).
    const keys = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, 1]));
    const issues = issuesOf(strict.safeParse({ amount: '1', ...keys }).error!);
    expect(issues).toHaveLength(FIELD_ISSUES_MAX);
    expect(issues[0]).toEqual({ path: 'k0', message: 'is not a known field' });
    expect(issues.at(-1)).toEqual({ path: '(body)', message: `and ${100_000 - (FIELD_ISSUES_MAX - 1)} more issues, not listed` });
  });
});

