// Proves the request hash is canonical: key order and spacing never change it, while the endpoint kind and every value do.
import { canonicalJson, requestHashOf } from '../src/request-hash';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: null }], c: 'x' }, u: undefined })).toBe('{"a":{"c":"x","d":[2,{"y":null,"z":1}]},"b":1}');
  });

  it('keeps arrays in order, undefined items as null, and sorts keys by UTF-16 code units', () => {
    expect(canonicalJson([3, undefined, 'a', [], {}])).toBe('[3,null,"a",[],{}]');
    expect(canonicalJson({ b: 1, B: 2, é: 3, a: 4, '': 5 })).toBe('{"":5,"B":2,"a":4,"b":1,"é":3}');
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

  it('never changes for a stored request: claims and transfers keep the hash they were written with', () => {
    const stored = { from_account_id: '0b6f8a2e-5d0c-4c1e-9d6a-1f2e3d4c5b6a', to_account_id: '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', amount: '1234', currency: 'USD', description: 'bench-run-tag' };
    expect(requestHashOf('TRANSFER', stored)).toBe('1b456761eb8f0e31c0bdc43944495e7a9730418f99cfa91cc20f94a93deb7454');
  });

  it('differs by endpoint kind and by any value', () => {
    const hash = requestHashOf('TRANSFER', body);
    expect(requestHashOf('WITHDRAWAL', body)).not.toBe(hash);
    expect(requestHashOf('TRANSFER', { ...body, amount: '101' })).not.toBe(hash);
    expect(requestHashOf('TRANSFER', { ...body, description: 'rent' })).not.toBe(hash);
  });
});
