// Proves that a write which would move a partition's next_offset back is refused before it is
// sent: ledger_apply_batch takes any to_offset once from_offset is the stored one.
import { noEffects } from '@ledgerline/domain';
import { type BatchWrite, type Queryable, writeBatch, writeBatches } from '../src';

/** A connection that records what it is sent and answers each write with its outbox ids. */
function recordingDb() {
  const sent: unknown[][] = [];
  const db = {
    query: async (config: { values: unknown[] }) => {
      sent.push(config.values);
      return { rows: [{ b0: [], b1: [] }] };
    },
  } as unknown as Queryable;
  return { db, sent };
}

const claim = { topic: 'test.commands', partition: 3, epoch: 2n, nextOffset: 8n, cacheBehindSince: '2026-12-05 00:00:00+00' };
const write = (fromOffset: bigint, toOffset: bigint): BatchWrite => ({ claim, fromOffset, toOffset, effects: noEffects(), before: new Map(), outbox: [] });

describe('writeBatches', () => {
  // Found by an outside review: a bisection after a failed heartbeat wrote 8-6, moving the
  // partition back to offset 6 and applying its commands again.
  test('a write ending before it starts is refused before anything is sent', async () => {
    const { db, sent } = recordingDb();
    await expect(writeBatch(db, write(8n, 6n))).rejects.toThrow('partition test.commands/3: refusing a write from offset 8 to 6, which would move next_offset back');
    // In a group, the whole statement is refused (group commit then writes each batch alone).
    const other = { ...write(4n, 5n), claim: { ...claim, partition: 4 } };
    await expect(writeBatches(db, [other, write(8n, 6n)])).rejects.toThrow(/from offset 8 to 6/);
    expect(sent).toEqual([]);
  });

  test('a write of no commands (from = to) and a forward one are sent', async () => {
    const { db, sent } = recordingDb();
    await writeBatch(db, write(8n, 8n));
    await writeBatch(db, write(8n, 12n));
    expect(sent.map((values) => [values[3], values[4]])).toEqual([
      ['8', '8'],
      ['8', '12'],
    ]);
  });
});
