// Proves duplicateKey finds a key repeated within one object of a JSON text, whatever its
// spelling, depth or place, and never flags the same key in two different objects.
import { duplicateKey, shownKey } from '../src';

describe('duplicateKey', () => {
  it('finds a key an object repeats, at any depth, in objects inside arrays too', () => {
    expect(duplicateKey('{"amount":"1","amount":"1000"}')).toBe('amount');
    expect(duplicateKey('{"a":{"b":1,"c":{"d":[1,{"e":2,"e":3}]}}}')).toBe('e');
    expect(duplicateKey('{"items":[{"kind":"DEPOSIT"},{"kind":"A","note":"x","kind":"B"}]}')).toBe('kind');
    expect(duplicateKey('[{"x":1},{"y":1,"y":2}]')).toBe('y');
  });

  it('compares keys decoded: an escape is the same key as its character', () => {
    expect(duplicateKey('{"sub":"alice","\\u0073ub":"admin"}')).toBe('sub');
    expect(duplicateKey('{"a\\"b":1,"a\\u0022b":2}')).toBe('a"b');
    expect(duplicateKey('{"\\ud83d\\ude00":1,"😀":2}')).toBe('😀');
  });

  it('does not confuse values, nested objects or sibling objects with keys', () => {
    expect(duplicateKey('{"a":"a","b":"a"}')).toBeNull();
    expect(duplicateKey('{"a":{"a":{"a":1}},"b":{"a":2}}')).toBeNull();
    expect(duplicateKey('[{"a":1},{"a":2}]')).toBeNull();
    expect(duplicateKey('{"a":[],"b":{},"c":[{}],"d":"{\\"e\\":1,\\"e\\":2}"}')).toBeNull();
    expect(duplicateKey('{"k":"x,\\"k\\":1"}')).toBeNull();
    expect(duplicateKey('{"a":1,"A":2,"a ":3}')).toBeNull();
    expect(duplicateKey('[1,"a","a",{"a":1}]')).toBeNull();
  });

  it('walks deep nesting without recursion and ends on text that is not JSON', () => {
    const deep = `${'['.repeat(200_000)}{"a":1,"a":2}${']'.repeat(200_000)}`;
    expect(duplicateKey(deep)).toBe('a');
    for (const broken of ['{"a', '}}]]{"a":1,,"a', '"\\', '{"a":1}"a","a"', ',,,"x"', '{"\\u12"}']) expect(() => duplicateKey(broken)).not.toThrow();
  });

  it('looks no deeper than depthMax, and a first key alone builds no set', () => {
    const nested = '{"a":{"b":{"c":1,"c":2}}}';
    expect(duplicateKey(nested, 2)).toBeNull();
    expect(duplicateKey(nested, 3)).toBe('c');
    expect(duplicateKey('{"x":1,"x":2,"y":{"c":1,"c":2}}', 1)).toBe('x');
    // Many one-key objects, and a key repeated only across siblings: nothing repeated.
    expect(duplicateKey(`[${Array.from({ length: 10_000 }, () => '{"k":{"k":1}}').join(',')}]`)).toBeNull();
  });

  it('shows a key well-formed and short', () => {
    expect(shownKey('sub')).toBe('"sub"');
    expect(shownKey('\ud800x')).toBe('"\ufffdx"');
    expect(shownKey('k'.repeat(100))).toBe(`"${'k'.repeat(40)}..."`);
  });
});
