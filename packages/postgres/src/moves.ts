/**
 * Bucket moves, the Postgres side of the bucket-move protocol (docs/design.md). See
 * migrations/0002_bucket_moves.sql for the states. Every step is one transaction and
 * re-running any step is harmless, so an operator's command that died half-way is finished
 * (or rolled back) by running it again.
 */
import type { Pool, PoolClient } from 'pg';
import { bucketOf } from '@ledgerline/domain';
import { inTransaction } from './pool';

export type MoveState = 'HOLDING' | 'FENCED' | 'DONE' | 'ABORTED';

export interface BucketMove {
  id: bigint;
  bucket: number;
  fromPartition: number;
  toPartition: number;
  state: MoveState;
  createdAt: string;
  /** How long the bucket has stood held, or stood held until the move ended (Postgres's clock, ms). */
  heldMs: number;
}

const MOVE_COLUMNS = `id, bucket, from_partition, to_partition, state, created_at,
  (extract(epoch from coalesce(finished_at, now()) - created_at) * 1000)::float8 AS held_ms`;

function parseMove(row: Record<string, unknown>): BucketMove {
  return {
    id: BigInt(row.id as string),
    bucket: Number(row.bucket),
    fromPartition: Number(row.from_partition),
    toPartition: Number(row.to_partition),
    state: row.state as MoveState,
    createdAt: (row.created_at as Date).toISOString(),
    heldMs: Math.round(Number(row.held_ms)),
  };
}

async function bumpRoutingVersion(client: PoolClient): Promise<number> {
  const result = await client.query('UPDATE routing_version SET version = version + 1, updated_at = now() RETURNING version');
  return Number(result.rows[0].version);
}

/**
 * Whether `error` is startMoves refused by the one-open-move index: another process opened a
 * move of one of the buckets between the caller's listing of open moves and its insert. Not a
 * failure of the move: listed again, that move is resumed (same target) or refused by name.
 */
export function isOpenMoveRace(error: unknown): boolean {
  const e = error as { code?: unknown; constraint?: unknown } | null;
  return e !== null && typeof e === 'object' && e.code === '23505' && e.constraint === 'bucket_moves_one_open';
}

/**
 * Step 1: hold the buckets (ingest answers 503 for them) and record one HOLDING move each.
 * Buckets already on `toPartition` are skipped; a bucket with a move in progress is refused
 * by the unique index, so two moves of one bucket cannot race.
 */
export async function startMoves(pool: Pool, buckets: readonly number[], toPartition: number): Promise<{ moves: BucketMove[]; version: number }> {
  return inTransaction(pool, async (client) => {
    const inserted = await client.query(
      `INSERT INTO bucket_moves (bucket, from_partition, to_partition, state)
       SELECT b.bucket, b.partition, $2, 'HOLDING' FROM routing_buckets b
        WHERE b.bucket = ANY($1::int[]) AND b.partition <> $2
       RETURNING ${MOVE_COLUMNS}`,
      [buckets, toPartition],
    );
    if (inserted.rowCount === 0) return { moves: [], version: Number((await client.query('SELECT version FROM routing_version')).rows[0].version) };
    await client.query('UPDATE routing_buckets SET held = true WHERE bucket = ANY($1::int[])', [inserted.rows.map((r) => r.bucket)]);
    const version = await bumpRoutingVersion(client);
    return { moves: inserted.rows.map(parseMove), version };
  });
}

/*
 * Step 3 runs in the OLD partition owner's batch transaction that applies the FENCE marker
 * (ledger_apply_batch, fence_move_ids): from that commit on, the buckets belong to their new
 * partition.
 */

/** Step 4: switch the table for fenced moves and lift the hold. */
export async function finishMoves(pool: Pool, moveIds: readonly bigint[]): Promise<number> {
  return inTransaction(pool, async (client) => {
    const done = await client.query(
      `UPDATE bucket_moves SET state = 'DONE', finished_at = now()
        WHERE id = ANY($1::int8[]) AND state = 'FENCED' RETURNING bucket, to_partition`,
      [moveIds.map(String)],
    );
    if (!done.rowCount) return 0;
    await client.query(
      `UPDATE routing_buckets b SET partition = d.to_partition, held = false
         FROM unnest($1::int[], $2::int[]) AS d(bucket, to_partition) WHERE b.bucket = d.bucket`,
      [done.rows.map((r) => r.bucket), done.rows.map((r) => r.to_partition)],
    );
    await bumpRoutingVersion(client);
    return done.rowCount;
  });
}

/** Rollback: only a move that has not been fenced can be undone. */
export async function abortMoves(pool: Pool, moveIds: readonly bigint[]): Promise<number> {
  return inTransaction(pool, async (client) => {
    const aborted = await client.query(
      `UPDATE bucket_moves SET state = 'ABORTED', finished_at = now() WHERE id = ANY($1::int8[]) AND state = 'HOLDING' RETURNING bucket`,
      [moveIds.map(String)],
    );
    if (!aborted.rowCount) return 0;
    await client.query('UPDATE routing_buckets SET held = false WHERE bucket = ANY($1::int[])', [aborted.rows.map((r) => r.bucket)]);
    await bumpRoutingVersion(client);
    return aborted.rowCount;
  });
}

export async function loadMoves(pool: Pool, ids: readonly bigint[]): Promise<BucketMove[]> {
  const result = await pool.query(`SELECT ${MOVE_COLUMNS} FROM bucket_moves WHERE id = ANY($1::int8[]) ORDER BY id`, [ids.map(String)]);
  return result.rows.map(parseMove);
}

/** How long the oldest open (HOLDING or FENCED) bucket move has stood, in seconds; 0 with none open. */
export async function oldestOpenMoveSeconds(pool: Pool): Promise<number> {
  const result = await pool.query(
    `SELECT coalesce(extract(epoch from now() - min(created_at)), 0)::float8 AS seconds FROM bucket_moves WHERE state IN ('HOLDING', 'FENCED')`,
  );
  return Number(result.rows[0].seconds);
}

export async function listOpenMoves(pool: Pool): Promise<BucketMove[]> {
  const result = await pool.query(`SELECT ${MOVE_COLUMNS} FROM bucket_moves WHERE state IN ('HOLDING', 'FENCED') ORDER BY id`);
  return result.rows.map(parseMove);
}

export interface RouterBehind {
  instance: string;
  /** How often it reports (its API_ROUTING_REFRESH_MS), or null for an API from before migration 0033. */
  refreshMs: number | null;
}

/**
 * Live ingest instances that still route with an older table than `version`. An API is live
 * while it has reported within its own refresh interval plus `freshMs` (an API from before
 * migration 0033 records no interval: within `freshMs`). Judged by `freshMs` alone, a healthy
 * API refreshing less often than that counted as gone between its reports, and a move fenced
 * without waiting for it (found by an outside review).
 */
export async function routersBehind(pool: Pool, version: number, freshMs: number): Promise<RouterBehind[]> {
  const result = await pool.query(
    `SELECT instance, refresh_ms FROM routing_observers
      WHERE role = 'api' AND version < $1
        AND seen_at > now() - make_interval(secs => ($2::float8 + coalesce(refresh_ms, 0)) / 1000)
      ORDER BY instance`,
    [version, freshMs],
  );
  return result.rows.map((r) => ({ instance: r.instance as string, refreshMs: r.refresh_ms === null ? null : Number(r.refresh_ms) }));
}

/**
 * Transfers applied per bucket, and the span of time they were counted over: what a rate is
 * `perBucket` divided by `overMs`, never by the window when the read was capped.
 */
export interface BucketTraffic {
  perBucket: Map<number, number>;
  /** Transfers counted: the window's, or its newest `rowsMax` when `capped`. */
  transfers: number;
  /** The time the counted transfers cover (ms): the whole window, or less when `capped`. */
  overMs: number;
  /** The window held more than `rowsMax` transfers: only its newest were counted, over the time they cover. */
  capped: boolean;
  rowsMax: number;
}

/** How many transfers `bucketTraffic` reads at most: bounds the sort and what it sends ledgerctl. */
export const BUCKET_TRAFFIC_ROWS_MAX = 200_000;

/**
 * Transfers applied per bucket over the last `windowMs`, counted per subject account in SQL.
 * At most the newest `rowsMax` are read; past that the figures cover only the time those
 * newest ones span (from the oldest of them to now), and say so: dividing their count by the
 * whole window capped every rate at rowsMax per window (40,000 commands/min for 5 minutes)
 * and undercounted every bucket alike (found by an outside review). `transfers` has no index
 * on applied_at (one would cost every transfer a WAL write): this reads the table whole.
 */
export async function bucketTraffic(pool: Pool, windowMs: number, rowsMax = BUCKET_TRAFFIC_ROWS_MAX): Promise<BucketTraffic> {
  const result = await pool.query(
    `WITH newest AS (
       SELECT coalesce(from_account_id, to_account_id)::text AS subject, applied_at FROM transfers
        WHERE applied_at > now() - make_interval(secs => $1::float8 / 1000) ORDER BY applied_at DESC LIMIT $2)
     SELECT subject, count(*)::int AS n, (extract(epoch from now() - min(min(applied_at)) OVER ()) * 1000)::float8 AS span_ms
       FROM newest GROUP BY subject`,
    [windowMs, rowsMax],
  );
  const perBucket = new Map<number, number>();
  let transfers = 0;
  for (const row of result.rows) {
    const bucket = bucketOf(row.subject as string);
    perBucket.set(bucket, (perBucket.get(bucket) ?? 0) + Number(row.n));
    transfers += Number(row.n);
  }
  const capped = transfers >= rowsMax;
  // Capped, the rows cover from the oldest read to now; at least 1 ms, so a rate is finite.
  const overMs = capped ? Math.min(windowMs, Math.max(1, Number(result.rows[0]?.span_ms ?? windowMs))) : windowMs;
  return { perBucket, transfers, overMs, capped, rowsMax };
}
