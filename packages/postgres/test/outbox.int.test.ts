// The outbox sweeper's read: crash leftovers (old, unpublished) come back oldest first, per
// partition; young rows (the relay is still on them) and published rows never do. And what
// "published" does to a row: commands and events are deleted, dead letters moved to
// dead_letters (dead-letters.int.test.ts shows what that leaves the scans and the reads).
import { loadUnpublishedOutbox, markOutboxPublished } from '../src';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';

describe('loadUnpublishedOutbox', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(4);
  });
  afterAll(async () => {
    await db.drop();
  });

  async function insertRow(partition: number, ageS: number, n: number): Promise<bigint> {
    const result = await db.pool.query(
      `INSERT INTO outbox (source_partition, topic, target_partition, message_key, payload, created_at)
       VALUES ($1, 'events', NULL, $2, $3::jsonb, now() - make_interval(secs => $4)) RETURNING id`,
      [partition, `k${n}`, JSON.stringify({ n }), ageS],
    );
    return BigInt(result.rows[0].id);
  }

  test('returns old unpublished rows of the asked partitions, oldest first, and nothing else', async () => {
    const oldP0 = [await insertRow(0, 60, 1), await insertRow(0, 50, 2)];
    const oldP1 = [await insertRow(1, 40, 3)];
    const publishedP1 = await insertRow(1, 30, 4);
    await markOutboxPublished(db.pool, [{ sourcePartition: 1, id: publishedP1, topic: 'events' }]);
    await insertRow(2, 60, 5); // another worker's partition
    const young = [await insertRow(0, 0, 6), await insertRow(1, 0, 7)];
    expect(young).toHaveLength(2);

    const rows = await loadUnpublishedOutbox(db.pool, [0, 1], 10_000);
    expect(rows.map((r) => r.id)).toEqual([...oldP0, ...oldP1].sort((a, b) => (a < b ? -1 : 1)));
    expect(rows.map((r) => JSON.parse(r.payload ?? 'null').n)).toEqual([1, 2, 3]);
    expect(rows.every((r) => r.topic === 'events' && r.targetPartition === null)).toBe(true);

    // Everything is young for a long enough age bound.
    expect(await loadUnpublishedOutbox(db.pool, [0, 1], 3_600_000)).toEqual([]);
  });

  test('reads at most `limit` rows per sweep, the oldest', async () => {
    const ids: bigint[] = [];
    for (let i = 0; i < 5; i++) ids.push(await insertRow(3, 100 - i, 100 + i));
    const rows = await loadUnpublishedOutbox(db.pool, [3], 10_000, 3);
    expect(rows.map((r) => r.id)).toEqual(ids.slice(0, 3));
  });

  test('published rows are deleted, dead letters moved to dead_letters; only the rows named, and again is a no-op', async () => {
    const event = await insertRow(5, 0, 200);
    const untouched = await insertRow(5, 0, 201);
    const letter = (
      await db.pool.query(
        `INSERT INTO outbox (source_partition, topic, target_partition, message_key, payload) VALUES (5, 'dead-letter', NULL, 'l', '{"reason":"x"}') RETURNING id`,
      )
    ).rows[0].id;
    const marks = [
      { sourcePartition: 5, id: event, topic: 'events' as const },
      { sourcePartition: 5, id: BigInt(letter), topic: 'dead-letter' as const },
      { sourcePartition: 6, id: untouched, topic: 'events' as const }, // another partition's key: names no row
    ];
    await markOutboxPublished(db.pool, marks);
    await markOutboxPublished(db.pool, marks);
    const left = await db.pool.query('SELECT id, topic, published_at IS NOT NULL AS published FROM outbox WHERE source_partition = 5 ORDER BY id');
    expect(left.rows).toEqual([{ id: String(untouched), topic: 'events', published: false }]);
    const moved = await db.pool.query('SELECT id, source_partition, payload, published_at IS NOT NULL AS published FROM dead_letters');
    expect(moved.rows).toEqual([{ id: String(letter), source_partition: 5, payload: { reason: 'x' }, published: true }]);
  });
});
