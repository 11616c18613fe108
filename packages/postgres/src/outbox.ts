import type { Pool } from 'pg';
import type { OutboxDerivation, OutboxRow } from './batch-writer';
import { findTransfers } from './ledger-reads';
import type { TransferRow } from './rows';

/** Bound on rows one sweep picks up, so a large backlog drains in steps, not one huge query. */
export const OUTBOX_SWEEP_ROWS_MAX = 1000;

/** A row the relay has published: where it lives (the primary key) and what it is. */
export interface OutboxMark {
  sourcePartition: number;
  id: bigint;
  topic: OutboxRow['topic'];
}

/**
 * Done with published rows (call only once Kafka acknowledged them): commands and events are
 * deleted (Kafka has them now; a delete writes a few dozen WAL bytes where a "published"
 * UPDATE copied the whole row), dead letters are moved to dead_letters (migration 0025: the
 * only record in Postgres of an isolated command's bytes, kept out of the outbox so that its
 * scans read only rows still to send; rare). Idempotent: repeating it changes nothing.
 */
export async function markOutboxPublished(pool: Pool, marks: readonly OutboxMark[]): Promise<void> {
  const gone = marks.filter((m) => m.topic !== 'dead-letter');
  const moved = marks.filter((m) => m.topic === 'dead-letter');
  // One primary-key probe per row: the pairs are joined to (source_partition, id).
  if (gone.length > 0) {
    await pool.query(
      `DELETE FROM outbox o USING unnest($1::int[], $2::int8[]) AS d(source_partition, id)
        WHERE o.source_partition = d.source_partition AND o.id = d.id`,
      [gone.map((m) => m.sourcePartition), gone.map((m) => String(m.id))],
    );
  }
  if (moved.length > 0) {
    // One statement, so the letter is in exactly one of the two tables for every reader, and
    // a letter moved already (marked twice: a repeat, or by the relay and the sweeper both)
    // deletes nothing and so inserts nothing.
    await pool.query(
      `WITH published AS (
         DELETE FROM outbox o USING unnest($1::int[], $2::int8[]) AS d(source_partition, id)
          WHERE o.source_partition = d.source_partition AND o.id = d.id AND o.topic = 'dead-letter'
         RETURNING o.id, o.source_partition, o.payload, o.created_at)
       INSERT INTO dead_letters (id, source_partition, payload, created_at, published_at)
       SELECT id, source_partition, payload, created_at, now() FROM published`,
      [moved.map((m) => m.sourcePartition), moved.map((m) => String(m.id))],
    );
  }
}

/**
 * A row a crash left behind: its message as stored, or, for a derived row, the transfer row
 * its message is rebuilt from (the worker rebuilds it with the domain's creditLegOf or
 * terminalEventOf, the functions that built it in the first place).
 */
export type UnpublishedOutboxRow = Omit<OutboxRow, 'payload' | 'derived'> & { sourcePartition: number } & (
    | { payload: string; derivedFrom: null }
    | { payload: null; derivedFrom: { as: OutboxDerivation['as']; transferId: string; transfer: TransferRow | null } }
  );

/**
 * Rows a crash left behind: committed, never marked published, older than `ageMs`
 * (younger ones are likely still being published by the relay right now).
 *
 * Per partition it reads only the `limit` oldest unpublished rows (by id, from the primary key
 * (source_partition, id)) and keeps those older than `ageMs`, the only ones whose payload is
 * turned into text: ids grow with commit time within a partition (one writer at a time), so
 * crash leftovers are always at the front. Filtering the whole unpublished set by age
 * instead cost 422 ms per sweep during the bench's drains, where the relay legitimately
 * runs seconds behind the commits. Derived rows come with their transfer's row, read by
 * primary key in a second statement.
 */
export async function loadUnpublishedOutbox(
  pool: Pool,
  partitions: readonly number[],
  ageMs: number,
  limit = OUTBOX_SWEEP_ROWS_MAX,
  afterId: bigint | null = null,
): Promise<UnpublishedOutboxRow[]> {
  if (partitions.length === 0) return [];
  // afterId: the next page of a partition's rows (a new owner reading every leftover before
  // its first commit), past the last id of the page before.
  const result = await pool.query(
    `SELECT o.id, o.source_partition, o.topic, o.target_partition, o.message_key, o.payload::text AS payload, o.transfer_id, o.derived_as
       FROM unnest($1::int[]) AS p(partition)
       CROSS JOIN LATERAL (
         SELECT id, source_partition, topic, target_partition, message_key, payload, transfer_id, derived_as, created_at FROM outbox
          WHERE published_at IS NULL AND source_partition = p.partition AND ($4::bigint IS NULL OR id > $4::bigint)
          ORDER BY id LIMIT $3) AS o
      WHERE o.created_at < now() - make_interval(secs => $2::float8 / 1000)
      ORDER BY o.id LIMIT $3`,
    [partitions, ageMs, Math.min(limit, OUTBOX_SWEEP_ROWS_MAX), afterId === null ? null : afterId.toString()],
  );
  const derivedIds = [...new Set(result.rows.filter((r) => r.derived_as !== null).map((r) => String(r.transfer_id)))];
  const transfers = new Map<string, TransferRow>();
  if (derivedIds.length > 0) {
    for (const row of await findTransfers(pool, derivedIds)) transfers.set(row.id, row);
  }
  return result.rows.map((r): UnpublishedOutboxRow => {
    const common = {
      id: BigInt(r.id),
      sourcePartition: Number(r.source_partition),
      topic: r.topic,
      targetPartition: r.target_partition === null ? null : Number(r.target_partition),
    };
    if (r.derived_as === null) return { ...common, key: r.message_key, payload: r.payload, derivedFrom: null };
    // Inserted by the same commit and never deleted: null here is a broken ledger, which the
    // caller reports for this row alone (the other rows still go out).
    const transfer = transfers.get(String(r.transfer_id)) ?? null;
    return { ...common, key: null, payload: null, derivedFrom: { as: r.derived_as, transferId: String(r.transfer_id), transfer } };
  });
}

/**
 * Which of `partitions` have a row unpublished for longer than `ageMs` (the oldest row of
 * each, the first of the partition in the primary key: the outbox holds only rows still to
 * send): what a sweeper would find left behind.
 */
export async function partitionsWithLeftovers(pool: Pool, partitions: readonly number[], ageMs: number): Promise<number[]> {
  if (partitions.length === 0) return [];
  const result = await pool.query(
    `SELECT p.partition
       FROM unnest($1::int[]) AS p(partition)
       CROSS JOIN LATERAL (SELECT created_at FROM outbox
                            WHERE published_at IS NULL AND source_partition = p.partition
                            ORDER BY id LIMIT 1) AS oldest
      WHERE oldest.created_at < now() - make_interval(secs => $2::float8 / 1000)`,
    [partitions, ageMs],
  );
  return result.rows.map((r) => Number(r.partition));
}

/**
 * Unpublished outbox rows per source partition (the relay's backlog), each count capped at
 * `capRows` so a scrape during a long outage reads a bounded part of the primary key.
 */
export async function countUnpublishedOutbox(pool: Pool, partitions: readonly number[], capRows: number): Promise<Map<number, number>> {
  if (partitions.length === 0) return new Map();
  const result = await pool.query(
    `SELECT p.partition,
            (SELECT count(*) FROM (SELECT 1 FROM outbox
                                    WHERE published_at IS NULL AND source_partition = p.partition
                                    LIMIT $2) AS capped) AS n
       FROM unnest($1::int[]) AS p(partition)`,
    [partitions, capRows],
  );
  return new Map(result.rows.map((r) => [Number(r.partition), Number(r.n)]));
}

/**
 * The newest unpublished outbox row of each of `partitions` that has one (its id): what a
 * bucket move waits to see published before it switches (outboxLeftAtOrBelow).
 */
export async function newestUnpublishedOutbox(pool: Pool, partitions: readonly number[]): Promise<Map<number, bigint>> {
  if (partitions.length === 0) return new Map();
  const result = await pool.query(
    `SELECT p.partition, newest.id
       FROM unnest($1::int[]) AS p(partition)
       CROSS JOIN LATERAL (SELECT id FROM outbox
                            WHERE published_at IS NULL AND source_partition = p.partition
                            ORDER BY id DESC LIMIT 1) AS newest`,
    [partitions],
  );
  return new Map(result.rows.map((r) => [Number(r.partition), BigInt(r.id)]));
}

/**
 * The partitions of `marks` that still hold an unpublished row at or below their mark (an
 * id), each with its oldest such row's id (the relay publishes a partition's rows in id
 * order: a row that stays oldest is one the relay is not getting past).
 */
export async function outboxLeftAtOrBelow(pool: Pool, marks: ReadonlyMap<number, bigint>): Promise<Map<number, bigint>> {
  if (marks.size === 0) return new Map();
  const result = await pool.query(
    `SELECT m.partition, oldest.id
       FROM unnest($1::int[], $2::int8[]) AS m(partition, mark)
       CROSS JOIN LATERAL (SELECT id FROM outbox
                            WHERE published_at IS NULL AND source_partition = m.partition AND id <= m.mark
                            ORDER BY id LIMIT 1) AS oldest`,
    [[...marks.keys()], [...marks.values()].map(String)],
  );
  return new Map(result.rows.map((r) => [Number(r.partition), BigInt(r.id)]));
}
