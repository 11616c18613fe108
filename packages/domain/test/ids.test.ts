// Proves that ids are RFC 4122 version-5 UUIDs, deterministic, equal to an independent
// implementation's, and distinct wherever the roles (principal, key, partition, currency) differ.
import fc from 'fast-check';
import { accountIdFor, externalAccountId, transferIdFor, transitAccountId, uuidV5 } from '../src/ids';

const V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidV5', () => {
  test('is a lower-case version-5, RFC 4122 variant UUID for any name', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (name) => {
        expect(uuidV5(name)).toMatch(V5);
      }),
      { numRuns: 300 },
    );
  });

  test('is deterministic', () => {
    fc.assert(
      fc.property(fc.string(), (name) => {
        expect(uuidV5(name)).toBe(uuidV5(name));
      }),
      { numRuns: 200 },
    );
  });

  // Computed with Python's uuid.uuid5(UUID('6f1b0c52-d7e8-4b1c-9a3f-0e2d4c5b6a79'), name):
  // the ids every process (and the database) derive must never change.
  test.each([
    ['hello', '59177420-d3b3-5087-9e6c-2375f474de02'],
    ['transfer\nalice\nk1', 'd055f450-16d5-565e-8250-7579ace5cf29'],
    ['transit\n0\nUSD', '87c59812-9dfb-5b1c-be1e-d0b61b306d00'],
  ])('matches an independent v5 implementation for %j', (name, expected) => {
    expect(uuidV5(name)).toBe(expected);
  });

  test('distinct names give distinct ids', () => {
    const names = Array.from({ length: 5_000 }, (_, i) => `name-${i}`);
    expect(new Set(names.map(uuidV5)).size).toBe(names.length);
    expect(uuidV5('a')).not.toBe(uuidV5('A'));
  });
});

describe('transferIdFor', () => {
  test('is the same for the same principal and key (every replay names one transfer)', () => {
    expect(transferIdFor('alice', 'key-1')).toBe(transferIdFor('alice', 'key-1'));
    expect(transferIdFor('alice', 'key-1')).toBe('d9a4cdec-c580-5000-b376-1f68aa1c984b');
    expect(transferIdFor('alice', 'k1')).toBe('d055f450-16d5-565e-8250-7579ace5cf29');
  });

  test('differs by principal and by key', () => {
    expect(transferIdFor('alice', 'key-1')).not.toBe(transferIdFor('bob', 'key-1'));
    expect(transferIdFor('alice', 'key-1')).not.toBe(transferIdFor('alice', 'key-2'));
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (p, k, other) => {
        fc.pre(p !== other && k !== other);
        expect(transferIdFor(p, k)).toMatch(V5);
        expect(transferIdFor(p, k)).not.toBe(transferIdFor(other, k));
        expect(transferIdFor(p, k)).not.toBe(transferIdFor(p, other));
      }),
      { numRuns: 300 },
    );
  });

  test('a principal and a key cannot trade characters to collide when neither holds a newline', () => {
    expect(transferIdFor('ab', 'c')).not.toBe(transferIdFor('a', 'bc'));
  });

  test('is never the id of an account created with the same principal and key', () => {
    expect(accountIdFor('alice', 'key-1')).toMatch(V5);
    expect(accountIdFor('alice', 'key-1')).not.toBe(transferIdFor('alice', 'key-1'));
    expect(accountIdFor('alice', 'key-1')).toBe('00a61523-0965-5a69-81f5-6df6ac688857');
  });
});

describe('system account ids', () => {
  test('one transit and one external account per (partition, currency), all distinct', () => {
    const ids = new Set<string>();
    let count = 0;
    for (let partition = 0; partition < 64; partition++) {
      for (const currency of ['USD', 'EUR', 'GBP', 'JPY']) {
        for (const id of [transitAccountId(partition, currency), externalAccountId(partition, currency)]) {
          expect(id).toMatch(V5);
          ids.add(id);
          count++;
        }
      }
    }
    expect(ids.size).toBe(count);
    expect(transitAccountId(1, 'USD')).not.toBe(transitAccountId(11, 'USD'));
  });

  test('are stable: every process derives the same id without a lookup', () => {
    expect(transitAccountId(0, 'USD')).toBe('87c59812-9dfb-5b1c-be1e-d0b61b306d00');
    expect(externalAccountId(3, 'EUR')).toBe('43a298b0-4531-5431-ab4b-77c331a08d98');
  });

  test('computed once per name, and the same after the memo is full and starts over', () => {
    expect(transitAccountId(0, 'USD')).toBe(transitAccountId(0, 'USD'));
    for (let partition = 0; partition < 10_000; partition++) expect(transitAccountId(partition, 'CHF')).toBe(uuidV5(`transit\n${partition}\nCHF`));
    expect(transitAccountId(0, 'USD')).toBe('87c59812-9dfb-5b1c-be1e-d0b61b306d00');
    expect(externalAccountId(3, 'EUR')).toBe('43a298b0-4531-5431-ab4b-77c331a08d98');
  });
});
