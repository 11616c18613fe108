// Proves that the migrations' CHECK constraints and column types agree with the shared limits
// of packages/domain/src/limits.ts: a bucket bound, a currency pattern or a money column that
// drifted from the constants the API and the worker validate against fails here, before a
// value one side accepts is refused by the other (a 500 at the API, a wedged partition).
import {
  AMOUNT_MAX,
  BALANCE_MAX,
  BALANCE_MIN,
  BUCKET_COUNT,
  CURRENCY_PATTERN,
  DEAD_LETTER_NOTE_CHARS_MAX,
  DESCRIPTION_CHARS_MAX,
  OPERATOR_CHARS_MAX,
  OVERDRAFT_LIMIT_MAX,
} from '@ledgerline/domain';
import { listMigrations } from '../src/migrate';

/** Every migration, comments stripped: a limit quoted in a comment is not a constraint. */
const sql = listMigrations()
  .map((m) => m.sql.replace(/--[^\n]*/g, ''))
  .join('\n');

/** Columns of money: each must be a bigint, whose range is BALANCE_MIN..BALANCE_MAX. */
const MONEY_COLUMNS = ['balance', 'balance_after', 'amount', 'overdraft_limit', 'captured_amount', 'reversed_amount'];

/** Text columns bounded by a shared limit, when a migration bounds them at all. */
const TEXT_LIMITS: Record<string, number> = {
  description: DESCRIPTION_CHARS_MAX,
  redriven_by: OPERATOR_CHARS_MAX,
  acknowledged_by: OPERATOR_CHARS_MAX,
  note: DEAD_LETTER_NOTE_CHARS_MAX,
};

describe('the migrations agree with packages/domain/src/limits.ts', () => {
  test('every bucket CHECK is 0 <= bucket < BUCKET_COUNT', () => {
    const bounds = [...sql.matchAll(/bucket\s*>=\s*0\s+AND\s+bucket\s*<\s*(\d+)/gi)].map((m) => Number(m[1]));
    expect(bounds.length).toBeGreaterThanOrEqual(2);
    for (const bound of bounds) expect(bound).toBe(BUCKET_COUNT);
    // And no other shape of bucket bound slipped in (<= 1023, BETWEEN ...).
    const allBucketChecks = [...sql.matchAll(/CHECK\s*\(\s*bucket[^)]*\)/gi)].map((m) => m[0]);
    expect(allBucketChecks).toHaveLength(bounds.length);
  });

  test('every currency CHECK uses the domain pattern', () => {
    const patterns = [...sql.matchAll(/currency\s*~\s*'([^']+)'/gi)].map((m) => m[1]);
    expect(patterns.length).toBeGreaterThanOrEqual(1);
    for (const pattern of patterns) expect(pattern).toBe(CURRENCY_PATTERN.source);
  });

  test('money columns are bigint, and the balance range is bigint', () => {
    expect(BALANCE_MAX).toBe(2n ** 63n - 1n);
    expect(BALANCE_MIN).toBe(-(2n ** 63n));
    // Any sum of two in-range amounts or limits stays inside a balance.
    expect(AMOUNT_MAX + OVERDRAFT_LIMIT_MAX).toBeLessThan(BALANCE_MAX);
    for (const column of MONEY_COLUMNS) {
      const declarations = [...sql.matchAll(new RegExp(`^\\s*${column}\\s+(\\w+)`, 'gim'))].map((m) => m[1]!.toLowerCase());
      expect({ column, found: declarations.length > 0 }).toEqual({ column, found: true });
      for (const type of declarations) expect({ column, type }).toEqual({ column, type: 'bigint' });
    }
    // The money an account's holds reserve was added later (routing_buckets.held is a flag).
    expect(sql).toMatch(/ALTER TABLE accounts ADD COLUMN held bigint\b/i);
  });

  test('a numeric bound on a money column is its sign (0) or a shared limit', () => {
    // Bounds above and below: one tighter than the API's (amount > 1, amount <= 10^12) refuses
    // a value the API accepted.
    const bounds = [...sql.matchAll(new RegExp(`\\b(${MONEY_COLUMNS.join('|')})\\s*([<>]=?)\\s*(-?\\d+)`, 'gi'))].map(([, column, op, bound]) => ({
      column: column!.toLowerCase(),
      op: op!,
      bound: bound!,
    }));
    // The sign checks the migrations have (0001, 0007); none bounds a money column above, so
    // the API's AMOUNT_MAX and OVERDRAFT_LIMIT_MAX and bigint itself are the upper bounds.
    expect(bounds.map(({ column, op, bound }) => `${column} ${op} ${bound}`)).toEqual(
      expect.arrayContaining(['amount > 0', 'overdraft_limit >= 0', 'captured_amount >= 0', 'reversed_amount >= 0']),
    );
    const allowed = new Set(['0', ...[AMOUNT_MAX, OVERDRAFT_LIMIT_MAX, BALANCE_MAX, BALANCE_MIN].map(String)]);
    for (const { column, bound } of bounds) expect({ column, bound, shared: allowed.has(bound) }).toEqual({ column, bound, shared: true });
  });

  test('a length bound on a text column is its shared limit', () => {
    const checks = [
      // CHECK (char_length(note) <= 500), or BETWEEN 1 AND 500: the upper bound.
      ...sql.matchAll(/\b(?:char_length|character_length|length)\(\s*(\w+)\s*\)\s*(?:<=|BETWEEN\s+\d+\s+AND)\s*(\d+)/gi),
      ...sql.matchAll(/^\s*(\w+)\s+(?:varchar|character varying)\((\d+)\)/gim),
    ];
    // The dead-letter records' operators and note (0022, 0023). description is plain text,
    // bounded by the API alone.
    expect(checks.map(([, column]) => column)).toEqual(expect.arrayContaining(['redriven_by', 'acknowledged_by', 'note']));
    for (const [, column, bound] of checks) {
      expect({ column, known: column! in TEXT_LIMITS }).toEqual({ column, known: true });
      expect({ column, bound: Number(bound) }).toEqual({ column, bound: TEXT_LIMITS[column!] });
    }
  });
});
