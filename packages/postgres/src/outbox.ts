import type { Pool, PoolClient } from 'pg';
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
 * UPDATE copied the whole row), dead letters are kept and marked published (the only record in
 * Postgres of an isolated command's bytes; rare). Idempotent: repeating it changes nothing.
 */
export async function markOutboxPublished(pool: Pool, marks: readonly OutboxMark[]): Promise<void> {
  const gone = marks.filter((m) => m.topic !== 'dead-letter');
  const kept = marks.filter((m) => m.topic === 'dead-letter');
  // One primary-key probe per row: the pairs are joined to (source_partition, id).
  if (gone.length > 0) {
    await pool.query(
      `DELETE FROM outbox o USING unnest($1::int[], $2::int8[]) AS d(source_partition, id)
        WHERE o.source_partition = d.source_partition AND o.id = d.id`,
      [gone.map((m) => m.sourcePartition), gone.map((m) => String(m.id))],
    );
  }
  if (kept.length > 0) {
    await pool.query(
      `UPDATE outbox o SET published_at = now() FROM unnest($1::int[], $2::int8[]) AS d(source_partition, id)
        WHERE o.source_partition = d.source_partition AND o.id = d.id AND o.published_at IS NULL`,
      [kept.map((m) => m.sourcePartition), kept.map((m) => String(m.id))],
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
): Promise<UnpublishedOutboxRow[]> {
  if (partitions.length === 0) return [];
  const result = await pool.query(
    `SELECT o.id, o.source_partition, o.topic, o.target_partition, o.message_key, o.payload::text AS payload, o.transfer_id, o.derived_as
       FROM unnest($1::int[]) AS p(partition)
       CROSS JOIN LATERAL (
         SELECT id, source_partition, topic, target_partition, message_key, payload, transfer_id, derived_as, created_at FROM outbox
          WHERE published_at IS NULL AND source_partition = p.partition
          ORDER BY id LIMIT $3) AS o
      WHERE o.created_at < now() - make_interval(secs => $2::float8 / 1000)
      ORDER BY o.id LIMIT $3`,
    [partitions, ageMs, Math.min(limit, OUTBOX_SWEEP_ROWS_MAX)],
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
 * each, by the partial index on unpublished rows): what a sweeper would find left behind.
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

/** A dead letter as Postgres keeps it: the outbox row (kept after publishing) and its message. */
export interface DeadLetterRow {
  id: bigint;
  sourcePartition: number;
  /** The dead-letter message as published (docs/events.md): reason, offset, the bytes in base64. */
  letter: Record<string, unknown>;
  createdAt: Date;
  publishedAt: Date | null;
  /** How often an operator sent its command again, and the last time (dead_letter_redrives). */
  redrives: number;
  lastRedrivenAt: Date | null;
  /** An operator's word that it is handled (dead_letter_acknowledgements), or null. */
  acknowledgement: Acknowledgement | null;
  /**
   * The first dead letter with the same key and value bytes, when it came before this one (a
   * redrive dead-lettered again), among every dead letter, not only those listed; else null.
   */
  againOf: bigint | null;
}

/** One dead letter's acknowledgement (migration 0023). */
export interface Acknowledgement {
  acknowledgedAt: Date;
  acknowledgedBy: string;
  note: string;
}

/** One redrive of a dead letter (migration 0022). */
export interface Redrive {
  redrivenAt: Date;
  toPartition: number;
  redrivenBy: string;
}

const DEAD_LETTER_COLUMNS = `o.id, o.source_partition, o.payload, o.created_at, o.published_at,
            (SELECT count(*)::int FROM dead_letter_redrives r WHERE r.letter_id = o.id) AS redrives,
            (SELECT max(r.redriven_at) FROM dead_letter_redrives r WHERE r.letter_id = o.id) AS last_redriven_at,
            a.acknowledged_at, a.acknowledged_by, a.note, f.first_id::text AS again_of`;
/** A letter's bytes as one value: its key, its value (or, cut, its size's hash), compared whole. */
const LETTER_BYTES = (alias: string) =>
  `md5(concat_ws('|', coalesce(${alias}.payload->>'key_base64', ''), coalesce(${alias}.payload->>'value_base64', ''), coalesce(${alias}.payload->>'value_sha256', '')))`;
// Each group of letters with the same bytes hashed once; a later letter names its first.
const DEAD_LETTERS = `outbox o LEFT JOIN dead_letter_acknowledgements a ON a.letter_id = o.id
  LEFT JOIN (SELECT ${LETTER_BYTES('e')} AS bytes, min(e.id) AS first_id FROM outbox e WHERE e.topic = 'dead-letter' GROUP BY 1) f
    ON f.bytes = ${LETTER_BYTES('o')} AND f.first_id < o.id`;

type DeadLetterDbRow = {
  id: string;
  source_partition: number;
  payload: Record<string, unknown>;
  created_at: Date;
  published_at: Date | null;
  redrives: number;
  last_redriven_at: Date | null;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  note: string | null;
  again_of: string | null;
};

function deadLetterOf(r: DeadLetterDbRow): DeadLetterRow {
  return {
    id: BigInt(r.id),
    sourcePartition: r.source_partition,
    letter: r.payload,
    createdAt: r.created_at,
    publishedAt: r.published_at,
    redrives: r.redrives,
    lastRedrivenAt: r.last_redriven_at,
    acknowledgement: r.acknowledged_at === null ? null : { acknowledgedAt: r.acknowledged_at, acknowledgedBy: r.acknowledged_by ?? '', note: r.note ?? '' },
    againOf: r.again_of === null ? null : BigInt(r.again_of),
  };
}

/**
 * The newest `limit` dead letters (of one source partition, or all), oldest first. Dead
 * letters are rare and the outbox holds only unpublished rows besides them, so this scans it.
 */
export async function listDeadLetters(pool: Pool, options: { limit: number; partition?: number; open?: boolean }): Promise<DeadLetterRow[]> {
  // `open`: only letters nobody has handled yet, neither acknowledged nor redriven.
  const { rows } = await pool.query<DeadLetterDbRow>(
    `SELECT ${DEAD_LETTER_COLUMNS} FROM ${DEAD_LETTERS}
      WHERE o.topic = 'dead-letter' AND ($2::int IS NULL OR o.source_partition = $2)
        AND (NOT $3::boolean OR (a.letter_id IS NULL AND NOT EXISTS (SELECT 1 FROM dead_letter_redrives r WHERE r.letter_id = o.id)))
      ORDER BY o.id DESC LIMIT $1`,
    [options.limit, options.partition ?? null, options.open === true],
  );
  return rows.reverse().map(deadLetterOf);
}

/** One dead letter by its outbox id, or null when there is none (another topic's row, or no row). */
export async function findDeadLetter(pool: Pool | PoolClient, id: bigint): Promise<DeadLetterRow | null> {
  const { rows } = await pool.query<DeadLetterDbRow>(`SELECT ${DEAD_LETTER_COLUMNS} FROM ${DEAD_LETTERS} WHERE o.id = $1 AND o.topic = 'dead-letter'`, [id.toString()]);
  return rows[0] ? deadLetterOf(rows[0]) : null;
}

/** Every redrive of dead letter `id`, oldest first. */
export async function listRedrives(pool: Pool, id: bigint): Promise<Redrive[]> {
  const { rows } = await pool.query<{ redriven_at: Date; to_partition: number; redriven_by: string }>(
    'SELECT redriven_at, to_partition, redriven_by FROM dead_letter_redrives WHERE letter_id = $1 ORDER BY redriven_at',
    [id.toString()],
  );
  return rows.map((r) => ({ redrivenAt: r.redriven_at, toPartition: r.to_partition, redrivenBy: r.redriven_by }));
}

/**
 * Records that dead letter `id` was sent again (as the schema owner: the app roles cannot).
 * Run inside the transaction that commits once the command is on Kafka.
 */
export async function recordRedrive(client: PoolClient, id: bigint, toPartition: number, redrivenBy: string): Promise<void> {
  await client.query('INSERT INTO dead_letter_redrives (letter_id, to_partition, redriven_by) VALUES ($1, $2, $3)', [id.toString(), toPartition, redrivenBy]);
}

/**
 * Records an operator's word that dead letter `id` is handled (as the schema owner). False
 * when it already has one: an acknowledgement is written once, never replaced.
 */
export async function acknowledgeDeadLetter(pool: Pool, id: bigint, acknowledgedBy: string, note: string): Promise<boolean> {
  const { rowCount } = await pool.query(
    'INSERT INTO dead_letter_acknowledgements (letter_id, acknowledged_by, note) VALUES ($1, $2, $3) ON CONFLICT (letter_id) DO NOTHING',
    [id.toString(), acknowledgedBy, note],
  );
  return rowCount === 1;
}
