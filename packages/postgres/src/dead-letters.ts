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

/** What is known of a letter besides its message: small, whatever the message's size. */
const DEAD_LETTER_FACTS = `o.id, o.source_partition, o.created_at, o.published_at,
            (SELECT count(*)::int FROM dead_letter_redrives r WHERE r.letter_id = o.id) AS redrives,
            (SELECT max(r.redriven_at) FROM dead_letter_redrives r WHERE r.letter_id = o.id) AS last_redriven_at,
            a.acknowledged_at, a.acknowledged_by, a.note, f.first_id::text AS again_of`;
const DEAD_LETTER_COLUMNS = `${DEAD_LETTER_FACTS}, o.payload`;
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
 * How many letters' messages one read holds at most. A letter keeps up to
 * DEAD_LETTER_VALUE_BYTES_KEPT bytes of its command, in base64 inside JSON (about 90 kB with
 * its reason), so a page is a few megabytes whatever `limit` asks: `ledgerctl dead-letters
 * --limit 10000` never holds ten thousand messages at once, in Postgres's answer or in Node.
 */
export const DEAD_LETTER_PAGE = 50;

/**
 * The newest `limit` dead letters (of one source partition, or all), oldest first, published
 * or not yet, read a page at a time: first what is known of each (small: its id, times,
 * redrives, acknowledgement, "again of"), then the messages of `pageSize` letters per read.
 * The outbox holds only rows still to be sent, so its part is a scan of those; "again of"
 * hashes every letter in Postgres, which returns only the hashes' matches (letters are rare:
 * the API refuses bad input at the border). A letter the relay publishes between the two
 * reads moves to dead_letters under the same id, and is read there, with its mark.
 */
export async function* readDeadLetters(
  pool: Pool,
  options: { limit: number; partition?: number; open?: boolean },
  pageSize: number = DEAD_LETTER_PAGE,
): AsyncGenerator<DeadLetterRow> {
  // `open`: only letters nobody has handled yet, neither acknowledged nor redriven.
  const { rows: facts } = await pool.query<Omit<DeadLetterDbRow, 'payload'>>(
    `SELECT ${DEAD_LETTER_FACTS} FROM ${DEAD_LETTERS}
      WHERE ($2::int IS NULL OR o.source_partition = $2)
        AND (NOT $3::boolean OR (a.letter_id IS NULL AND NOT EXISTS (SELECT 1 FROM dead_letter_redrives r WHERE r.letter_id = o.id)))
      ORDER BY o.id DESC LIMIT $1`,
    [options.limit, options.partition ?? null, options.open === true],
  );
  facts.reverse();
  for (let start = 0; start < facts.length; start += pageSize) {
    const page = facts.slice(start, start + pageSize);
    // By (source_partition, id): the outbox's key, so each letter is one index probe there
    // (or in dead_letters, by its id), never a scan of a relay's backlog (an outside review).
    const { rows } = await pool.query<{ id: string; payload: Record<string, unknown>; published_at: Date | null }>(
      `SELECT l.id, l.payload, l.published_at
         FROM unnest($1::int[], $2::int8[]) AS k(source_partition, id)
         CROSS JOIN LATERAL (SELECT id, payload, published_at FROM outbox
                              WHERE source_partition = k.source_partition AND id = k.id AND topic = 'dead-letter'
                             UNION ALL
                             SELECT id, payload, published_at FROM dead_letters WHERE id = k.id) AS l`,
      [page.map((fact) => fact.source_partition), page.map((fact) => fact.id)],
    );
    const messages = new Map(rows.map((row) => [row.id, row]));
    for (const fact of page) {
      const message = messages.get(fact.id);
      // Letters are never deleted; a row gone between the reads would be a restore, and is left out.
      if (message !== undefined) yield deadLetterOf({ ...fact, payload: message.payload, published_at: message.published_at });
    }
  }
}

/** readDeadLetters' letters in one array, for a caller that needs them together (a test, the chaos proof). */
export async function listDeadLetters(pool: Pool, options: { limit: number; partition?: number; open?: boolean }): Promise<DeadLetterRow[]> {
  const letters: DeadLetterRow[] = [];
  for await (const letter of readDeadLetters(pool, options)) letters.push(letter);
  return letters;
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
