// Proves the request hash is canonical: key order and spacing never change it, while the endpoint kind and every value do.
import { canonicalJson, requestHashOf } from '../src/request-hash';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: null }], c: 'x' }, u: undefined })).toBe('{"a":{"c":"x","d":[2,{"y":null,"z":1}]},"b":1}');
  });

  it('refuses what JSON cannot carry', () => {
    expect(() => canonicalJson({ a: 10n })).toThrow(TypeError);
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(TypeError);
  });
});

describe('requestHashOf', () => {
  const body = { from_account_id: 'a', to_account_id: 'b', amount: '100', currency: 'USD' };

  it('is a sha256 hex digest, the same for the same meaning', () => {
    const hash = requestHashOf('TRANSFER', body);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(requestHashOf('TRANSFER', { currency: 'USD', amount: '100', to_account_id: 'b', from_account_id: 'a' })).toBe(hash);
  });

  it('differs by endpoint kind and by any value', () => {
    const hash = requestHashOf('TRANSFER', body);
    expect(requestHashOf('WITHDRAWAL', body)).not.toBe(hash);
    expect(requestHashOf('TRANSFER', { ...body, amount: '101' })).not.toBe(hash);
    expect(requestHashOf('TRANSFER', { ...body, description: 'rent' })).not.toBe(hash);
  });
});
