// Proves that wire amounts parse only from canonical decimal digits (no sign, no leading zero,
// no fraction, no whitespace, at most 18 digits) into exact bigints, and format back unchanged.
import fc from 'fast-check';
import { AMOUNT_MAX, CURRENCY_PATTERN, OVERDRAFT_LIMIT_MAX, formatMinorUnits, parseMinorUnits } from '../src/money';

describe('parseMinorUnits', () => {
  test.each([
    ['0', 0n],
    ['1', 1n],
    ['10', 10n],
    ['999999999999999', 999_999_999_999_999n],
    ['123456789012345678', 123_456_789_012_345_678n],
    ['999999999999999999', 999_999_999_999_999_999n],
  ])('accepts canonical %j', (text, value) => {
    expect(parseMinorUnits(text)).toBe(value);
  });

  test('keeps amounts above 2^53 exact (no float on the way)', () => {
    expect(parseMinorUnits('9007199254740993')).toBe(9_007_199_254_740_993n);
  });

  test.each([
    '',
    '01',
    '00',
    '-1',
    '-0',
    '+1',
    '1.5',
    '1.0',
    '1,000',
    ' 1',
    '1 ',
    '1\n',
    '\t1',
    '1e3',
    '0x10',
    'Infinity',
    'NaN',
    '１', // full-width digit
    '1000000000000000000', // 19 digits
    '9999999999999999999',
    '12345678901234567890123',
  ])('refuses %j', (text) => {
    expect(parseMinorUnits(text)).toBeNull();
  });

  test('round-trips every value of up to 18 digits, and whatever it accepts is canonical', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 18n - 1n }), (value) => {
        expect(parseMinorUnits(formatMinorUnits(value))).toBe(value);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('0', '1', '9', '-', '.', ' ', 'e', '+'), maxLength: 22 }), (text) => {
        const value = parseMinorUnits(text);
        if (value !== null) expect(formatMinorUnits(value)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  test('the parser admits every amount a command may carry', () => {
    expect(parseMinorUnits(formatMinorUnits(AMOUNT_MAX))).toBe(AMOUNT_MAX);
    expect(parseMinorUnits(formatMinorUnits(OVERDRAFT_LIMIT_MAX))).toBe(OVERDRAFT_LIMIT_MAX);
    // 15 digits, so thousands of maximal amounts summed on one account stay inside a PG bigint.
    expect(AMOUNT_MAX).toBe(10n ** 15n - 1n);
    expect(AMOUNT_MAX * 9_000n < 2n ** 63n - 1n).toBe(true);
  });
});

describe('formatMinorUnits', () => {
  test('is plain base-10 digits', () => {
    expect(formatMinorUnits(0n)).toBe('0');
    expect(formatMinorUnits(999_999_999_999_999_999n)).toBe('999999999999999999');
    expect(formatMinorUnits(-5n)).toBe('-5'); // signed values (entry amounts) keep their sign
  });
});

describe('CURRENCY_PATTERN', () => {
  test.each([
    ['USD', true],
    ['EUR', true],
    ['usd', false],
    ['US', false],
    ['USDD', false],
    ['U1D', false],
    ['', false],
  ])('%j -> %p', (code, ok) => {
    expect(CURRENCY_PATTERN.test(code)).toBe(ok);
  });
});
