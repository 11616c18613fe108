// Proves invariant 3's first layer (docs/design.md): a fetch is applied from the partition's
// stored next offset, whatever it reaches back to. Kafka hands a worker messages below it: the
// whole fetch again after a batch of it failed its write, or from the group's offset (only a
// hint) before the seek to the stored offset lands. Those were applied, and the dedupe keys
// (the second layer) hide most of them, so these tests use what they cannot: a message with no
// dedupe key (a poison message, dead-lettered once), and a fetch of nothing but applied
// messages, whose write would move the stored offset back (the batch writer refuses it, and the
// partition would fail on that fetch every time it came again). Against real Postgres, the
// fetches by hand.
import type { RoutingTable } from '@ledgerline/domain';
import type { ConsumedMessage } from '@ledgerline/kafka';
import { listDeadLetters, loadRouting } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { balanceOf, deposit, openAccountOn } from '../../../test/support/ledger';
import { messagesOf, realApplier } from './support/real-applier';

describe('a fetch that reaches back before the stored offset', () => {
  let db: TestDatabase;
  let routing: RoutingTable;
  beforeAll(async () => {
    db = await createTestDatabase(1);
    routing = await loadRouting(db.pool);
  });
  afterAll(async () => {
    await db.drop();
  });

  const storedOffset = async (topic: string) =>
    BigInt((await db.pool.query('SELECT next_offset FROM partition_state WHERE topic = $1 AND partition = 0', [topic])).rows[0].next_offset);
  const lettersOf = async (sourcePartition: number) => (await listDeadLetters(db.pool, { limit: 10_000, partition: sourcePartition })).map((r) => r.letter);

  test('a poison message below the stored offset, fetched again, is not dead-lettered again', async () => {
    const topic = 'stored-offset-poison';
    const account = await openAccountOn(db.pool, routing, 0, 'stored-offset-poison');
    const poison: ConsumedMessage = { offset: '0', key: null, value: Buffer.from('not json at all') };
    const first = [poison, ...messagesOf([deposit(account, 5n)], 1)];
    const applier = realApplier(db.pool, { topic, routing });
    expect(await applier.apply(first)).toEqual({ kind: 'applied', nextOffset: 2n });

    // The same fetch again, one more message behind it (as kafkajs hands a fetch over again).
    const again = [...first, ...messagesOf([deposit(account, 7n)], 2)];
    expect(await applier.apply(again)).toEqual({ kind: 'applied', nextOffset: 3n });
    expect(await balanceOf(db.pool, account)).toBe(12n);
    const letters = await lettersOf(0);
    expect(letters.map((l) => [l.topic, String(l.offset)])).toEqual([[topic, '0']]);
  });

  test('a fetch of only messages below the stored offset is applied as nothing: no write, the stored offset stays', async () => {
    const topic = 'stored-offset-behind';
    const account = await openAccountOn(db.pool, routing, 0, 'stored-offset-behind');
    const messages = messagesOf([deposit(account, 1n), deposit(account, 2n), deposit(account, 3n)]);
    const applier = realApplier(db.pool, { topic, routing });
    expect(await applier.apply(messages)).toEqual({ kind: 'applied', nextOffset: 3n });

    expect(await applier.apply(messages.slice(0, 1))).toEqual({ kind: 'applied', nextOffset: 3n });
    expect(await storedOffset(topic)).toBe(3n);
    expect(await balanceOf(db.pool, account)).toBe(6n);
  });
});
