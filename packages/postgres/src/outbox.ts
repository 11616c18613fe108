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
 */
export async function loadUnpublishedOutbox(
  pool: Pool,
  partitions: readonly number[],
  ageMs: number,
  limit = OUTBOX_SWEEP_ROWS_MAX,
): Promise<(OutboxRow & { sourcePartition: number })[]> {
  if (partitions.length === 0) return [];
  const result = await pool.query(
    `SELECT id, source_partition, topic, target_partition, message_key, payload::text AS payload
       FROM outbox
      WHERE published_at IS NULL AND source_partition = ANY($1::int[])
        AND created_at < now() - make_interval(secs => $2::float8 / 1000)
      ORDER BY id LIMIT $3`,
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
