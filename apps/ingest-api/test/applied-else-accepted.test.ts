// Proves the read order that lets a worker remove an ACCEPTED record once its row is
// committed: a read that missed the row just before the commit and the record just after
// its removal still finds the resource (the row, read again). Plain functions stand in for
// Postgres and Redis here only to place the commit between the two reads deterministically;
// accepted-records.int.test.ts proves the removal itself against the real services.
import { appliedElseAccepted, appliedElseAcceptedMany } from '../src/applied-else-accepted';

/** A store whose row is committed (and whose record removed) between its first and second read. */
function committedBetweenReads() {
  let committed = false;
  const reads: string[] = [];
  return {
    reads,
    applied: async () => {
      reads.push('applied');
      return committed ? 'row' : null;
    },
    accepted: async () => {
      reads.push('accepted');
      committed = true; // the worker committed, then removed the record, before Redis answered
      return null;
    },
  };
}

describe('appliedElseAccepted', () => {
  test('finds the row committed between its first look at Postgres and its look at Redis', async () => {
    const store = committedBetweenReads();
    expect(await appliedElseAccepted(store.applied, store.accepted)).toBe('row');
    expect(store.reads).toEqual(['applied', 'accepted', 'applied']);
  });

  test('the row first, the record second; Redis is not read when the row is there', async () => {
    const reads: string[] = [];
    const answer = (what: string, value: string | null) => async () => (reads.push(what), value);
    expect(await appliedElseAccepted(answer('applied', 'row'), answer('accepted', 'record'))).toBe('row');
    expect(reads).toEqual(['applied']);
    reads.length = 0;
    expect(await appliedElseAccepted(answer('applied', null), answer('accepted', 'record'))).toBe('record');
    expect(reads).toEqual(['applied', 'accepted']);
    reads.length = 0;
    expect(await appliedElseAccepted(answer('applied', null), answer('accepted', null))).toBeNull();
    expect(reads).toEqual(['applied', 'accepted', 'applied']);
  });
});

describe('appliedElseAcceptedMany', () => {
  test('each id: its row, else its record, else its row read again; each source asked only for the ids still missing', async () => {
    const rows = new Map([['a', 'row a']]);
    const records = new Map([['b', 'record b']]);
    const asked: string[][] = [];
    const found = await appliedElseAcceptedMany(
      ['a', 'b', 'c', 'd'],
      async (ids) => {
        asked.push([...ids]);
        const answer = new Map([...rows].filter(([id]) => ids.includes(id)));
        rows.set('c', 'row c'); // c is committed (and its record removed) after this first look
        return answer;
      },
      async (ids) => {
        asked.push([...ids]);
        return new Map([...records].filter(([id]) => ids.includes(id)));
      },
    );
    expect([...found].sort()).toEqual([
      ['a', 'row a'],
      ['b', 'record b'],
      ['c', 'row c'],
    ]);
    expect(asked).toEqual([['a', 'b', 'c', 'd'], ['b', 'c', 'd'], ['c', 'd']]);
  });

  test('stops reading once every id is found', async () => {
    let reads = 0;
    const found = await appliedElseAcceptedMany(
      ['a'],
      async () => (reads++, new Map([['a', 'row']])),
      async () => (reads++, new Map()),
    );
    expect([found.get('a'), reads]).toEqual(['row', 1]);
  });
});
