// Which number literals of a JSON text JSON.parse cannot keep (inexactNumberLiteral): the
// decimal sent must be the double read, whatever its spelling.
import { inexactNumberLiteral } from '../src/http-input';

test('literals whose double is another decimal are found, the first one named', () => {
  expect(inexactNumberLiteral('{"a":9007199254740993}')).toBe('9007199254740993');
  expect(inexactNumberLiteral('{"a": -12345678901234567890123}')).toBe('-12345678901234567890123');
  expect(inexactNumberLiteral('[1, 1e-400]')).toBe('1e-400');
  expect(inexactNumberLiteral('[0.10000000000000001, 9007199254740993]')).toBe('0.10000000000000001');
  expect(inexactNumberLiteral('{"a":{"b":[1234567890.123456789]}}')).toBe('1234567890.123456789');
  expect(inexactNumberLiteral('{"a":1e-0000000400}')).toBe('1e-0000000400');
});

test('an exponent of a million digits: a non-zero mantissa underflows, a zero one is exact', () => {
  const underflow = `{"a":1e-${'9'.repeat(1_000_000)}}`;
  expect(inexactNumberLiteral(underflow)).toBe(underflow.slice(5, -1));
  expect(inexactNumberLiteral(`{"a":0.0e-${'9'.repeat(1_000_000)}}`)).toBeNull();
  expect(inexactNumberLiteral(`{"a":-0e+${'9'.repeat(1_000_000)}}`)).toBeNull();
});

test('exact literals pass, however spelled; digits inside strings are text', () => {
  for (const text of [
    '{"a":9007199254740991,"b":-9007199254740991}',
    '{"a":1.0,"b":1.50e1,"c":-0.0,"d":0e-999}',
    '{"a":1E+021,"b":1e308,"c":5e-324,"d":0.30000000000000004}',
    '{"a":123456789012345.6,"b":19.99}',
    '{"a":"9007199254740993","b":"x\\"12345678901234567890","c":":12345678901234567890"}',
  ]) {
    expect([text, inexactNumberLiteral(text)]).toEqual([text, null]);
  }
});

test('a run of a million zeros is read once, not once per zero (the check was quadratic: 120 KB took 13 s)', () => {
  // Quadratic, this test would not end within the suite's timeout.
  expect(inexactNumberLiteral(`{"a":1.${'0'.repeat(1_000_000)}1}`)).toHaveLength(1_000_003);
  expect(inexactNumberLiteral(`{"a":1.${'0'.repeat(1_000_000)}}`)).toBeNull();
});
