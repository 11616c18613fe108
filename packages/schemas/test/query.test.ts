// Proves an integer query parameter is refused with one issue naming its bound, however many
// digits it has, and that only plain decimal digits are read as a number.
import { transferQuery } from '../src';

const issues = (wait_ms: string) => transferQuery.safeParse({ wait_ms }).error?.issues.map((i) => i.message) ?? [];

describe('integer query parameters', () => {
  test.each(['30001', '9999999999999999', '9'.repeat(400)])('%s: one issue, the upper bound', (value) => {
    expect(issues(value)).toEqual([expect.stringMatching(/<=30000/)]);
  });

  test.each(['-1', '-9999999999999999'])('%s: one issue, the lower bound', (value) => {
    expect(issues(value)).toEqual([expect.stringMatching(/>=0/)]);
  });

  test.each(['1e3', '0x10', ' 5', '', '1.5'])('%j: not read as a number', (value) => {
    expect(issues(value)).toHaveLength(1);
  });

  test('within bounds: the number, leading zeros and all', () => {
    expect(transferQuery.parse({ wait_ms: '30000' })).toEqual({ wait_ms: 30_000 });
    expect(transferQuery.parse({ wait_ms: '0000000000000005' })).toEqual({ wait_ms: 5 });
  });
});
