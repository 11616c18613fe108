// Proves that every way a status read ends in a 404 takes the same looks, in the same order,
// as an id nobody sent (status-read.ts findAsShown): another owner's row or ACCEPTED record,
// an id whose ACCEPTED record is the other family's, and both at once. Plain functions stand
// in for Postgres and Redis to place each case deterministically (a hidden ACCEPTED record
// and another family's record need a worker that has not applied yet); read-rights.int
// counts the same looks as statements against the real services.
import { HIDDEN, type IdLookups, findAsShown } from '../src/status-read';

type Found = { owner: string; from: 'row' | 'record' };

/** Lookups that answer as given and record each look. */
function store(row: Found | null, record: Found | null, otherFamily = false, claimant: string | null = null) {
  const looks: string[] = [];
  const lookups: IdLookups<Found> = {
    applied: async () => (looks.push('row'), row),
    accepted: async () => (looks.push('record'), { found: record, otherFamily }),
    claimant: async () => (looks.push('claim'), claimant),
  };
  return { looks, lookups };
}

const asBob = async (found: Found) => found.owner === 'bob';
const EVERY_LOOK = ['row', 'record', 'row', 'claim'];

describe('findAsShown: a 404 takes the looks of an unknown id, whatever it hides', () => {
  test.each([
    ['an id nobody sent', store(null, null), null],
    ["another owner's row", store({ owner: 'alice', from: 'row' }, null, false, 'alice'), HIDDEN],
    ["another owner's ACCEPTED record", store(null, { owner: 'alice', from: 'record' }, false, 'alice'), HIDDEN],
    ["the other family's ACCEPTED record (a hold's id read as a transfer)", store(null, null, true, 'alice'), null],
    ['the other family and hidden at once', store({ owner: 'alice', from: 'row' }, null, true, 'alice'), HIDDEN],
  ])('%s', async (_, { looks, lookups }, answer) => {
    expect(await findAsShown(lookups, asBob)).toBe(answer);
    expect(looks).toEqual(EVERY_LOOK);
  });

  test('a readable ACCEPTED record does not stand in for a row the caller may not read', async () => {
    // The row is read first; the record the caller could read is still looked at, not shown.
    const { looks, lookups } = store({ owner: 'alice', from: 'row' }, { owner: 'bob', from: 'record' });
    expect(await findAsShown(lookups, asBob)).toBe(HIDDEN);
    expect(looks).toEqual(EVERY_LOOK);
  });

  test('what the caller may read is answered as soon as it is found; only a claim shows its claimant', async () => {
    const row = store({ owner: 'bob', from: 'row' }, null);
    expect(await findAsShown(row.lookups, asBob)).toEqual({ owner: 'bob', from: 'row' });
    expect(row.looks).toEqual(['row']);
    const record = store(null, { owner: 'bob', from: 'record' });
    expect(await findAsShown(record.lookups, asBob)).toEqual({ owner: 'bob', from: 'record' });
    expect(record.looks).toEqual(['row', 'record']);
    const claimed = store(null, null, false, 'bob');
    expect(await findAsShown(claimed.lookups, asBob)).toEqual({ claimant: 'bob' });
    expect(claimed.looks).toEqual(EVERY_LOOK);
  });
});
