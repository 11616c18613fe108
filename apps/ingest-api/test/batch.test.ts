// Proves the pure pieces of the batch and history routes: produce groups keep order and
// their byte bound, hostile nesting and out-of-range numbers are detected without recursion, history cursors
// round-trip and anything else is refused.
import { ApiError } from '../src/errors';
import { parseBody, parseQuery } from '../src/http-input';
import { parseItem } from '../src/routes/batch';
import { historyQuery, transferBody } from '@ledgerline/schemas';
import { envelopeProblem, jsonProblem } from '../src/http-input';
import { groupsOf } from '../src/movements';
import { decodeHistoryCursor, encodeHistoryCursor } from '../src/history-cursor';

describe('groupsOf', () => {
  const message = (value: string) => ({ value });

  test('keeps the order, never splits below the bound, sends an oversized message alone', () => {
    const messages = ['aaaa', 'bb', 'cccc', 'dddddddddd', 'e'].map(message);
    const groups = groupsOf(messages, 6);
    expect(groups.map((g) => g.map((m) => m.value))).toEqual([['aaaa', 'bb'], ['cccc'], ['dddddddddd'], ['e']]);
    expect(groups.flat()).toEqual(messages);
  });

  test('one group when everything fits; bytes, not characters', () => {
    expect(groupsOf(['a', 'b', 'c'].map(message), 100)).toHaveLength(1);
    expect(groupsOf(['é', 'é'].map(message), 3)).toHaveLength(2);
    expect(groupsOf([], 10)).toEqual([]);
  });
});

describe('a missing field', () => {
  // The parsers must report their input (zod's reportInput) for issuesOf to tell "missing"
  // from "wrong": a body, a query and a batch item each say "is required".
  const detailsOf = (parse: () => unknown) => {
    try {
      parse();
    } catch (error) {
      return (error as ApiError).details;
    }
    throw new Error('parsed');
  };

  test('in a body, a query and a batch item (its kind an enum) is "is required"', () => {
    expect(detailsOf(() => parseBody(transferBody, { amount: '1', currency: 'USD', from_account_id: '00000000-0000-4000-8000-000000000000' }))).toEqual([
      { path: 'to_account_id', message: 'is required' },
    ]);
    expect(detailsOf(() => parseQuery(historyQuery, {}))).toEqual([{ path: 'account_id', message: 'is required' }]);
    // A repeated parameter is named as such (an outside review: "must be a UUID" for two good ids).
    const id = '00000000-0000-4000-8000-000000000000';
    expect(detailsOf(() => parseQuery(historyQuery, { account_id: [id, id], limit: ['1', '2'] }))).toEqual([
      { path: 'account_id', message: 'is given more than once' },
      { path: 'limit', message: 'is given more than once' },
    ]);
    const item = parseItem({ account_id: '00000000-0000-4000-8000-000000000000', amount: '1', currency: 'USD' });
    expect('error' in item && item.error.details).toEqual([{ path: 'kind', message: 'is required' }]);
    // Present but wrong keeps its own message.
    const wrong = parseItem({ kind: 'REFUND' });
    expect('error' in wrong && (wrong.error.details as { message: string }[])[0]!.message).toMatch(/^Invalid option/);
  });
});

describe('envelopeProblem', () => {
  test('counts nesting of arrays and objects, not strings', () => {
    expect(envelopeProblem({ items: [{ kind: 'TRANSFER', amount: '1' }] }, 3)).toBeNull();
    expect(envelopeProblem({ items: [{ kind: { deeper: 1 } }] }, 3)).toEqual({ path: 'items.0.kind', message: 'nests deeper than 3 levels' });
    expect(envelopeProblem('x'.repeat(100), 0)).toBeNull();
  });

  test('a key with a lone surrogate is not echoed back as such in the path', () => {
    const body = JSON.parse('{"items":[{"\\ud800":{"a":{"b":1}}}]}') as unknown;
    const issue = envelopeProblem(body, 3);
    expect(issue).toEqual({ path: 'items.0.\ufffd', message: 'nests deeper than 3 levels' });
    expect(issue!.path.isWellFormed()).toBe(true);
  });

  test('a million levels do not overflow the stack', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    expect(envelopeProblem(deep, 8)?.message).toBe('nests deeper than 8 levels');
  });

  test('a number beyond the range of a double (JSON.parse reads 1e400 as Infinity) refuses the envelope, with its path', () => {
    const body = JSON.parse('{"items":[{"kind":"TRANSFER","amount":"1"},{"kind":"FOO","note":-1e999}]}') as unknown;
    expect(envelopeProblem(body, 8)).toEqual({ path: 'items.1.note', message: 'is a number beyond the range of a double' });
    expect(envelopeProblem(JSON.parse('{"items":[{"n":1.7976931348623157e308}]}'), 8)).toBeNull();
  });
});

describe('jsonProblem', () => {
  test('a number beyond the range of a double is a field issue', () => {
    expect(jsonProblem(JSON.parse('{"metadata":{"n":1e400}}'), 16)).toEqual({ path: 'metadata.n', message: 'is a number beyond the range of a double' });
    expect(jsonProblem(JSON.parse('{"metadata":{"n":1e300}}'), 16)).toBeNull();
  });
});

describe('history cursor', () => {
  test('round-trips', () => {
    const cursor = { createdAt: '2026-01-31T12:00:00.123456Z', id: '7f0c2a8e-3b1d-4c5e-9f6a-1b2c3d4e5f60' };
    expect(decodeHistoryCursor(encodeHistoryCursor(cursor))).toEqual(cursor);
  });

  test.each([
    ['not base64 of a cursor', 'bm90LWEtY3Vyc29y'],
    ['an id in upper case', Buffer.from('2026-01-31T12:00:00.123456Z|7F0C2A8E-3B1D-4C5E-9F6A-1B2C3D4E5F60').toString('base64url')],
    ['an impossible time', Buffer.from('2026-19-31T12:00:00.123456Z|7f0c2a8e-3b1d-4c5e-9f6a-1b2c3d4e5f60').toString('base64url')],
    ['SQL in the id', Buffer.from("2026-01-31T12:00:00.123456Z|x' OR 1=1 --").toString('base64url')],
    // Date.parse takes these; Postgres refuses them (an outside review: a 400 without a field).
    ['February 30th', Buffer.from('2026-02-30T12:00:00.123456Z|7f0c2a8e-3b1d-4c5e-9f6a-1b2c3d4e5f60').toString('base64url')],
    ['year 0', Buffer.from('0000-01-31T12:00:00.123456Z|7f0c2a8e-3b1d-4c5e-9f6a-1b2c3d4e5f60').toString('base64url')],
    ['a cursor in standard base64', Buffer.from('2026-01-31T12:00:00.123456Z|7f0c2a8e-3b1d-4c5e-9f6a-1b2c3d4e5f60').toString('base64')],
    ['empty', ''],
  ])('refuses %s with a 400', (_what, text) => {
    expect(() => decodeHistoryCursor(text)).toThrow(ApiError);
  });
});
