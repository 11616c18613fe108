import type { Pool } from 'pg';
import type { OutboxRow } from './batch-writer';

/** Bound on rows one sweep picks up, so a large backlog drains in steps, not one huge query. */
export const OUTBOX_SWEEP_ROWS_MAX = 1000;

export async function markOutboxPublished(pool: Pool, ids: readonly bigint[]): Promise<void> {
  if (ids.length === 0) return;
  await pool.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::int8[]) AND published_at IS NULL', [
    ids.map(String),
  ]);
}

/**
 * Rows a crash left behind: committed, never marked published, older than `ageMs`
 * (younger ones are likely still being published by the relay right now).
 *
 * Per partition it reads only the `limit` oldest unpublished rows (by id, from the partial
 * index) and keeps those older than `ageMs`: ids grow with commit time within a partition,
 * so crash leftovers are always at the front. Filtering the whole unpublished set by age
 * instead cost 422 ms per sweep during the bench's drains, where the relay legitimately
 * runs seconds behind the commits.
 */
export async function loadUnpublishedOutbox(
  pool: Pool,
  partitions: readonly number[],
  ageMs: number,
  limit = OUTBOX_SWEEP_ROWS_MAX,
): Promise<(OutboxRow & { sourcePartition: number })[]> {
  if (partitions.length === 0) return [];
  const result = await pool.query(
    `SELECT o.id, o.source_partition, o.topic, o.target_partition, o.message_key, o.payload::text AS payload
       FROM unnest($1::int[]) AS p(partition)
       CROSS JOIN LATERAL (
         SELECT id, created_at FROM outbox
          WHERE published_at IS NULL AND source_partition = p.partition
          ORDER BY id LIMIT $3) AS oldest
       JOIN outbox o ON o.id = oldest.id
      WHERE oldest.created_at < now() - make_interval(secs => $2::float8 / 1000)
      ORDER BY o.id LIMIT $3`,
    [partitions, ageMs, Math.min(limit, OUTBOX_SWEEP_ROWS_MAX)],
  );
  return result.rows.map((r) => ({
    id: BigInt(r.id),
    sourcePartition: Number(r.source_partition),
    topic: r.topic,
    targetPartition: r.target_partition === null ? null : Number(r.target_partition),
    key: r.message_key,
    payload: r.payload,
  }));
}

/**
 * Unpublished outbox rows per source partition (the relay's backlog), each count capped at
 * `capRows` so a scrape during a long outage reads a bounded part of the partial index.
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
