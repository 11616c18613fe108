/**
 * Dead letters as Postgres keeps them, for `ledgerctl dead-letters`: the letters themselves
 * (an outbox row of the dead-letter topic while it waits for Kafka, a dead_letters row once
 * published; migration 0025) and what operators did with them (redrives, acknowledgements;
 * migrations 0022, 0023).
 */
import type { Pool, PoolClient } from 'pg';

/** A dead letter as Postgres keeps it, published or not yet, and its message. */
export interface DeadLetterRow {
  /** Its outbox row's id, kept when the row moves to dead_letters: the redrives and acknowledgements name it. */
  id: bigint;
  sourcePartition: number;
  /** The dead-letter message as published (docs/events.md): reason, offset, the bytes in base64. */
  letter: Record<string, unknown>;
  createdAt: Date;
  /** When the relay published it (it moved to dead_letters then), or null while it waits in the outbox. */
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
/**
 * Every dead letter, wherever it is now: still waiting for Kafka, an outbox row of the
 * dead-letter topic (published_at null, or set by a worker older than migration 0025);
 * published, a dead_letters row, where the relay's mark moved it (markOutboxPublished). The
 * move deletes and inserts in one statement, so a read sees each letter once.
 */
const LETTERS = `(SELECT id, source_partition, payload, created_at, published_at FROM outbox WHERE topic = 'dead-letter'
                   UNION ALL
                   SELECT id, source_partition, payload, created_at, published_at FROM dead_letters)`;
// Each group of letters with the same bytes hashed once; a later letter names its first.
const DEAD_LETTERS = `${LETTERS} o LEFT JOIN dead_letter_acknowledgements a ON a.letter_id = o.id
  LEFT JOIN (SELECT ${LETTER_BYTES('e')} AS bytes, min(e.id) AS first_id FROM ${LETTERS} e GROUP BY 1) f
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
 * The newest `limit` dead letters (of one source partition, or all), oldest first, published
 * or not yet. The outbox holds only rows still to be sent, so its part is a scan of those;
 * "again of" reads every letter (they are rare: the API refuses bad input at the border).
 */
export async function listDeadLetters(pool: Pool, options: { limit: number; partition?: number; open?: boolean }): Promise<DeadLetterRow[]> {
  // `open`: only letters nobody has handled yet, neither acknowledged nor redriven.
  const { rows } = await pool.query<DeadLetterDbRow>(
    `SELECT ${DEAD_LETTER_COLUMNS} FROM ${DEAD_LETTERS}
      WHERE ($2::int IS NULL OR o.source_partition = $2)
        AND (NOT $3::boolean OR (a.letter_id IS NULL AND NOT EXISTS (SELECT 1 FROM dead_letter_redrives r WHERE r.letter_id = o.id)))
      ORDER BY o.id DESC LIMIT $1`,
    [options.limit, options.partition ?? null, options.open === true],
  );
  return rows.reverse().map(deadLetterOf);
}

/** One dead letter by its id, published or not yet, or null when there is none (another topic's outbox row, or no row). */
export async function findDeadLetter(pool: Pool | PoolClient, id: bigint): Promise<DeadLetterRow | null> {
  const { rows } = await pool.query<DeadLetterDbRow>(`SELECT ${DEAD_LETTER_COLUMNS} FROM ${DEAD_LETTERS} WHERE o.id = $1`, [id.toString()]);
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
