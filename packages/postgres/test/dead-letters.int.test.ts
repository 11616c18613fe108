// Proves a published dead letter leaves the outbox (migration 0025): the sweeper's read, the
// leftover check and the backlog count walk a partition's outbox rows in id order, so every
// dead letter kept there was read by every sweep and every /metrics scrape, forever. Once
// marked published, a letter is a dead_letters row under the same id, and ledgerctl's reads
// (listDeadLetters, findDeadLetter) show it as before, with its redrives, acknowledgement and
// "again of"; a letter still waiting for Kafka is listed from the outbox. And the migration
// moves the letters published before it.
import type { Pool } from 'pg';
import {
  acknowledgeDeadLetter,
  countUnpublishedOutbox,
  DEAD_LETTER_PAGE,
  type DeadLetterRow,
  findDeadLetter,
  inTransaction,
  listDeadLetters,
  listMigrations,
  loadUnpublishedOutbox,
  markOutboxPublished,
  migrate,
  partitionsWithLeftovers,
  readDeadLetters,
  recordRedrive,
} from '../src';
import { DEAD_LETTER_VALUE_BYTES_KEPT } from '@ledgerline/schemas';
import { useTestDatabase } from '../../../test/support/database';

/** A dead letter's message as the worker writes it (docs/events.md), with the bytes it names. */
function letterOf(offset: number, value: string): string {
  return JSON.stringify({
    v: 1,
    reason: 'UNPROCESSABLE: test',
    topic: 'ledger.commands',
    partition: 2,
    offset,
    key_base64: Buffer.from('00000000-0000-4000-8000-00000000000a').toString('base64'),
    value_base64: Buffer.from(value).toString('base64'),
    dead_lettered_at: new Date().toISOString(),
  });
}

/** The ids of a partition's outbox rows, in the order the scans walk them. */
async function outboxIdsOf(pool: Pool, partition: number): Promise<bigint[]> {
  return (await pool.query('SELECT id FROM outbox WHERE source_partition = $1 ORDER BY id', [partition])).rows.map((r) => BigInt(r.id));
}

describe('published dead letters', () => {
  const own = useTestDatabase(4);

  /** An outbox row as the writer leaves it, `ageS` seconds old (the sweeper takes old rows only). */
  async function insertOutbox(partition: number, topic: 'events' | 'dead-letter', payload: string, ageS = 60): Promise<bigint> {
    const { rows } = await own.db.pool.query(
      `INSERT INTO outbox (source_partition, topic, target_partition, message_key, payload, created_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, now() - make_interval(secs => $6)) RETURNING id`,
      [partition, topic, topic === 'dead-letter' ? 0 : null, topic === 'dead-letter' ? null : 'k', payload, ageS],
    );
    return BigInt(rows[0].id);
  }

  test('once marked published, a dead letter is no outbox row: the scans see only rows still to send, the reads still show it whole', async () => {
    const { db } = own;
    const P = 2;
    const first = await insertOutbox(P, 'dead-letter', letterOf(7, '{"v":1,"type":"CREDIT_LEG"}'));
    const again = await insertOutbox(P, 'dead-letter', letterOf(9, '{"v":1,"type":"CREDIT_LEG"}')); // the same bytes, redriven and refused again
    const event = await insertOutbox(P, 'events', '{"n":1}');
    const waiting = await insertOutbox(P, 'dead-letter', letterOf(11, '{"v":1,"type":"VOID_HOLD"}')); // Kafka has not acknowledged it yet
    await inTransaction(db.pool, (client) => recordRedrive(client, first, P, 'tester@host'));
    expect(await acknowledgeDeadLetter(db.pool, again, 'tester@host', 'the cause is known')).toBe(true);

    const marks = [first, again].map((id) => ({ sourcePartition: P, id, topic: 'dead-letter' as const }));
    await markOutboxPublished(db.pool, marks);
    await markOutboxPublished(db.pool, marks); // a repeat (the sweeper's copy marked too) changes nothing

    // The outbox holds what is still to be sent, and the scans of the partition see that alone.
    expect(await outboxIdsOf(db.pool, P)).toEqual([event, waiting]);
    expect((await loadUnpublishedOutbox(db.pool, [P], 10_000)).map((r) => r.id)).toEqual([event, waiting]);
    expect((await countUnpublishedOutbox(db.pool, [P], 1_000)).get(P)).toBe(2);
    expect(await partitionsWithLeftovers(db.pool, [P], 10_000)).toEqual([P]);
    // Under the same ids: the records of redrives and acknowledgements still name them.
    const stored = await db.pool.query('SELECT id, source_partition, published_at IS NOT NULL AS published FROM dead_letters ORDER BY id');
    expect(stored.rows).toEqual([
      { id: String(first), source_partition: P, published: true },
      { id: String(again), source_partition: P, published: true },
    ]);

    // What ledgerctl reads: the published ones with their records, the waiting one unpublished.
    const listed = await listDeadLetters(db.pool, { limit: 10, partition: P });
    expect(listed.map((r) => [r.id, r.publishedAt !== null, r.redrives, r.acknowledgement?.note ?? null, r.againOf])).toEqual([
      [first, true, 1, null, null],
      [again, true, 0, 'the cause is known', first],
      [waiting, false, 0, null, null],
    ]);
    expect(listed[0]!.letter).toMatchObject({ reason: 'UNPROCESSABLE: test', offset: 7 });
    expect(listed[0]!.lastRedrivenAt).toBeInstanceOf(Date);
    // --open: neither redriven nor acknowledged.
    expect((await listDeadLetters(db.pool, { limit: 10, open: true })).map((r) => r.id)).toEqual([waiting]);
    expect((await listDeadLetters(db.pool, { limit: 1 })).map((r) => r.id)).toEqual([waiting]);
    const shown = await findDeadLetter(db.pool, again);
    expect(shown).toMatchObject({ id: again, sourcePartition: P, againOf: first, acknowledgement: { acknowledgedBy: 'tester@host' } });
    expect(shown!.publishedAt).toBeInstanceOf(Date);
    expect(await findDeadLetter(db.pool, waiting)).toMatchObject({ id: waiting, publishedAt: null });
    expect(await findDeadLetter(db.pool, event)).toBeNull(); // another topic's row
  });

  test('a long listing holds at most a page of messages per read, and lists every letter whole, in order', async () => {
    const { db } = own;
    const P = 5;
    // More letters than a page, each keeping as much of its command as a letter can
    // (DEAD_LETTER_VALUE_BYTES_KEPT), each different, and one the same bytes as the first.
    const count = DEAD_LETTER_PAGE + 12;
    const valueOf = (i: number) => `{"v":1,"type":"CREDIT_LEG","pad":"${String(i).padStart(6, '0')}${'x'.repeat(DEAD_LETTER_VALUE_BYTES_KEPT - 40)}"}`;
    const ids: bigint[] = [];
    for (let i = 0; i < count; i += 1) ids.push(await insertOutbox(P, 'dead-letter', letterOf(i, valueOf(i))));
    const copy = await insertOutbox(P, 'dead-letter', letterOf(count, valueOf(0)));
    await markOutboxPublished(db.pool, ids.slice(0, 20).map((id) => ({ sourcePartition: P, id, topic: 'dead-letter' as const })));

    // The pool as the listing uses it, recording how many bytes of rows each read returned.
    const readBytes: number[] = [];
    const recording = {
      query: async (...args: Parameters<Pool['query']>) => {
        const result = await (db.pool.query as (...a: unknown[]) => Promise<{ rows: unknown[] }>)(...args);
        readBytes.push(Buffer.byteLength(JSON.stringify(result.rows)));
        return result;
      },
    } as unknown as Pool;
    const listed: DeadLetterRow[] = [];
    for await (const letter of readDeadLetters(recording, { limit: 10_000, partition: P })) listed.push(letter);

    expect(listed.map((r) => r.id)).toEqual([...ids, copy]);
    expect(listed.map((r) => Buffer.from(String(r.letter.value_base64), 'base64').toString())).toEqual([...ids.map((_, i) => valueOf(i)), valueOf(0)]);
    expect(listed.map((r) => r.publishedAt !== null)).toEqual([...ids.map((_, i) => i < 20), false]);
    expect(listed.at(-1)!.againOf).toBe(ids[0]);
    // One letter's row is about 90 kB (its value in base64); no read returned more than a
    // page of them, and the whole listing (about 5.7 MB) took several reads.
    const letterBytes = Buffer.byteLength(JSON.stringify(listed[1]!.letter));
    expect(letterBytes).toBeGreaterThan(DEAD_LETTER_VALUE_BYTES_KEPT);
    expect(Math.max(...readBytes)).toBeLessThan((DEAD_LETTER_PAGE + 1) * letterBytes);
    expect(readBytes.filter((bytes) => bytes > letterBytes).length).toBeGreaterThanOrEqual(2);
    expect(readBytes.reduce((a, b) => a + b, 0)).toBeGreaterThan(count * letterBytes);
  });

  test('a mark that names a dead letter moves nothing but that letter', async () => {
    const { db } = own;
    const letter = await insertOutbox(3, 'dead-letter', letterOf(1, 'x'));
    const event = await insertOutbox(3, 'events', '{"n":2}');
    await markOutboxPublished(db.pool, [
      { sourcePartition: 1, id: letter, topic: 'dead-letter' }, // another partition's key: names no row
      { sourcePartition: 3, id: event, topic: 'dead-letter' }, // not a dead letter: never moved
    ]);
    expect(await outboxIdsOf(db.pool, 3)).toEqual([letter, event]);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM dead_letters WHERE id = ANY($1::int8[])', [[String(letter), String(event)]])).rows[0].n).toBe(0);
  });
});

describe('migration 0025 on a database that kept its published dead letters in the outbox', () => {
  const own = useTestDatabase(2);

  test('moves each published dead letter, with its id, times and payload; leaves the rows still to send', async () => {
    const { db } = own;
    // The schema as of 0024: 0025 only adds dead_letters and moves rows into it, so dropping
    // the table and its record is that schema exactly; migrate() then runs 0025 as an upgrade does.
    const name = listMigrations().find((m) => m.version === 25)?.name;
    await db.pool.query('DROP TABLE dead_letters');
    await db.pool.query('DELETE FROM schema_migrations WHERE version = 25');
    const insert = async (topic: 'events' | 'dead-letter', payload: string, publishedAt: string | null) =>
      BigInt(
        (
          await db.pool.query(
            `INSERT INTO outbox (source_partition, topic, target_partition, message_key, payload, created_at, published_at)
             VALUES (1, $1, $2, NULL, $3::jsonb, '2024-01-02T03:04:05Z', $4) RETURNING id`,
            [topic, topic === 'dead-letter' ? 0 : null, payload, publishedAt],
          )
        ).rows[0].id,
      );
    // What a worker before 0025 left: published letters marked, a letter and an event still to send.
    const published = [await insert('dead-letter', letterOf(1, 'a'), '2024-01-02T03:04:06Z'), await insert('dead-letter', letterOf(2, 'a'), '2024-01-02T03:04:07Z')];
    const waiting = await insert('dead-letter', letterOf(3, 'b'), null);
    const event = await insert('events', '{"n":1}', null);
    await inTransaction(db.pool, (client) => recordRedrive(client, published[0]!, 1, 'tester@host'));
    await acknowledgeDeadLetter(db.pool, published[1]!, 'tester@host', 'handled');

    expect(await migrate(db.pool)).toEqual([name]);

    expect(await outboxIdsOf(db.pool, 1)).toEqual([waiting, event]);
    const moved = await db.pool.query(`SELECT id, source_partition, payload->>'offset' AS "offset", created_at, published_at FROM dead_letters ORDER BY id`);
    expect(moved.rows).toEqual([
      { id: String(published[0]), source_partition: 1, offset: '1', created_at: new Date('2024-01-02T03:04:05Z'), published_at: new Date('2024-01-02T03:04:06Z') },
      { id: String(published[1]), source_partition: 1, offset: '2', created_at: new Date('2024-01-02T03:04:05Z'), published_at: new Date('2024-01-02T03:04:07Z') },
    ]);
    const listed = await listDeadLetters(db.pool, { limit: 10 });
    expect(listed.map((r) => [r.id, r.publishedAt?.toISOString() ?? null, r.redrives, r.acknowledgement?.note ?? null, r.againOf])).toEqual([
      [published[0], '2024-01-02T03:04:06.000Z', 1, null, null],
      [published[1], '2024-01-02T03:04:07.000Z', 0, 'handled', published[0]],
      [waiting, null, 0, null, null],
    ]);
  });
});
