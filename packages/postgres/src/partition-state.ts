/**
 * Fencing and exactly-once bookkeeping for one partition (docs/design.md, invariants 3 and 4).
 *
 * claim:   a worker that is assigned a partition bumps its epoch and learns the offset to
 *          resume from. Any older owner still running now holds a stale epoch.
 * advance: ledger_apply_batch (writeBatch) moves next_offset forward in the batch's own
 *          transaction only if the epoch and the expected offset still match. A zombie
 *          (stale epoch) or a batch that does not start where the last one ended raises
 *          FencedError, and nothing of the batch is written.
 */
import type { Pool } from 'pg';
import { RefusedWriteError, SQLSTATE_FENCED } from './write-errors';
import { utcInstantText } from './instant-text';

export interface PartitionClaim {
  topic: string;
  partition: number;
  epoch: bigint;
  nextOffset: bigint;
  /**
   * The partition's cache mark when it was claimed (migration 0027): every account change its
   * batches committed before this instant is in the balance cache, or something newer is.
   * As Postgres shows it (text, microseconds kept).
   */
  cacheBehindSince: string;
}

export class FencedError extends RefusedWriteError {
  override readonly name = 'FencedError';
  /** The SQLSTATE it was raised with, so classifyWriteFailure reads it like the raw error. */
  readonly code = SQLSTATE_FENCED;
}

export async function claimPartition(pool: Pool, topic: string, partition: number, owner: string): Promise<PartitionClaim> {
  const result = await pool.query(
    `INSERT INTO partition_state (topic, partition, next_offset, epoch, owner, claimed_at)
     VALUES ($1, $2, 0, 1, $3, now())
     ON CONFLICT (topic, partition) DO UPDATE
       SET epoch = partition_state.epoch + 1, owner = EXCLUDED.owner, claimed_at = now()
     RETURNING epoch, next_offset, ${utcInstantText('cache_behind_since')} AS cache_behind_since`,
    [topic, partition, owner],
  );
  const row = result.rows[0];
  return { topic, partition, epoch: BigInt(row.epoch), nextOffset: BigInt(row.next_offset), cacheBehindSince: row.cache_behind_since };
}

/** Postgres's clock now, as text (microseconds kept): the time account changes are stamped with. */
export async function databaseNow(pool: Pool): Promise<string> {
  const result = await pool.query(`SELECT ${utcInstantText('now()')} AS now`);
  return result.rows[0].now as string;
}

/**
 * Moves the partition's cache mark forward to `at`, if `claim` is still the partition's
 * latest and a batch committed since the mark (an idle partition's row is not written
 * again). Whether it moved.
 */
export async function advanceCacheMark(pool: Pool, claim: PartitionClaim, at: string): Promise<boolean> {
  const result = await pool.query(
    `UPDATE partition_state SET cache_behind_since = $4::timestamptz
      WHERE topic = $1 AND partition = $2 AND epoch = $3 AND cache_behind_since < $4::timestamptz AND cache_behind_since <= updated_at`,
    [claim.topic, claim.partition, claim.epoch.toString(), at],
  );
  return (result.rowCount ?? 0) > 0;
}

/**
 * Which of these partitions committed a batch at or after their cache mark, and none in the
 * last `quietMs`: their last owner may have left cached balances behind (a worker claims them
 * to catch the cache up). A partition that committed more recently may have a live owner
 * elsewhere (an assignment in transition), which moves the mark itself.
 */
export async function partitionsWithCacheBehind(pool: Pool, topic: string, partitions: readonly number[], quietMs: number): Promise<number[]> {
  if (partitions.length === 0) return [];
  const result = await pool.query(
    `SELECT partition FROM partition_state
      WHERE topic = $1 AND partition = ANY($2::int[]) AND cache_behind_since <= updated_at
        AND updated_at < now() - make_interval(secs => $3::float8 / 1000)
      ORDER BY partition`,
    [topic, partitions, quietMs],
  );
  return result.rows.map((r) => Number(r.partition));
}

/**
 * Whether `claim` is still the partition's latest: nobody claimed it since. A worker asks
 * before it takes a broken invariant for a bug: accounts it cached while it owned the
 * partition are stale once another owner has written them.
 */
export async function claimIsCurrent(pool: Pool, claim: PartitionClaim): Promise<boolean> {
  const result = await pool.query('SELECT epoch FROM partition_state WHERE topic = $1 AND partition = $2', [claim.topic, claim.partition]);
  return result.rows.length === 1 && BigInt(result.rows[0].epoch) === claim.epoch;
}

export interface PartitionStateRow {
  topic: string;
  partition: number;
  nextOffset: bigint;
  epoch: bigint;
  owner: string | null;
  updatedAt: string;
}

export async function listPartitionStates(pool: Pool, topic: string): Promise<PartitionStateRow[]> {
  const result = await pool.query(
    'SELECT topic, partition, next_offset, epoch, owner, updated_at FROM partition_state WHERE topic = $1 ORDER BY partition',
    [topic],
  );
  return result.rows.map((r) => ({
    topic: r.topic,
    partition: Number(r.partition),
    nextOffset: BigInt(r.next_offset),
    epoch: BigInt(r.epoch),
    owner: r.owner,
    updatedAt: (r.updated_at as Date).toISOString(),
  }));
}
