/**
 * What Postgres writes per completed transfer: WAL bytes (pg_current_wal_lsn before and
 * after), and heap rows and index entries per table (pg_stat_user_tables counters).
 *
 * Index entries are not counted by Postgres's statistics. They are counted in the window's
 * WAL (pg_walinspect): every new B-tree leaf tuple is one INSERT_LEAF or INSERT_POST record,
 * or the level-0 SPLIT_L/SPLIT_R record of the insertion that split its page. The row
 * counters alone, (inserted + updated - hot updated) x indexes of the table, overcount: a
 * partial index takes only the rows its predicate admits (`transfers_processing_idx` the
 * PROCESSING ones, `transfers_hold_idx` and `transfers_reverses_idx` none of a plain
 * transfer), and a BRIN index keeps a summary per page range, not an entry per row. That
 * formula is the fallback when the WAL cannot be read (no pg_walinspect, WAL recycled), and
 * the report says which was used.
 *
 * The statistics counters reach the shared view only when a backend reports them: at most
 * once a second while busy, and about 10 s after it went idle (PostgreSQL 15's
 * PGSTAT_IDLE_INTERVAL). `end` therefore waits until the counters have stopped moving.
 */
import { Client, type Pool } from 'pg';
import { round, sleep } from './util';

interface TableCounters {
  inserted: number;
  updated: number;
  hotUpdated: number;
  deleted: number;
  indexes: number;
}

interface Snapshot {
  walBytes: bigint;
  walLsn: string;
  tables: Map<string, TableCounters>;
}

export interface TableWrites {
  inserted: number;
  updated: number;
  hot_updated: number;
  deleted: number;
  index_entries: number;
}

export interface WritesReport {
  transfers: number;
  wal_bytes: number;
  wal_bytes_per_transfer: number | null;
  rows_per_transfer: number | null;
  index_entries_per_transfer: number | null;
  /**
   * `wal`: B-tree leaf tuples written in the window (exact); `row counters`: (inserted +
   * updated - HOT updated) x the table's indexes, an upper bound (partial and BRIN indexes
   * counted as if every row entered them).
   */
  index_entries_from: 'wal' | 'row counters';
  /** Per table, per transfer. */
  by_table: Record<string, TableWrites>;
  /**
   * WAL bytes per transfer by the relation (table or index) a record changes first
   * (pg_walinspect), plus `(no relation)` for commit and other records; null without the
   * extension. Records that touch several relations count for the first only.
   */
  wal_by_relation: Record<string, number> | null;
  /**
   * The same bytes by relation and record type (resource manager/record type, e.g.
   * `accounts Heap/LOCK`): which kind of change to a relation writes them.
   */
  wal_by_record: Record<string, number> | null;
}

/** Counters flushed by idle backends show up within this (10 s idle interval + margin). */
const STATS_SETTLE_MS_MAX = 25_000;
const STATS_POLL_MS = 2_000;

/** Read as the server's admin: the apps' roles need not be allowed to ask. */
async function walPosition(directUrl: string): Promise<{ bytes: bigint; lsn: string }> {
  const client = new Client({ connectionString: directUrl });
  await client.connect();
  try {
    const r = await client.query("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::text AS bytes, pg_current_wal_lsn()::text AS lsn");
    return { bytes: BigInt(String(r.rows[0].bytes).split('.')[0]!), lsn: String(r.rows[0].lsn) };
  } finally {
    await client.end();
  }
}

/** WAL bytes between two positions by relation and record type, read in the bench database itself (its pg_class). */
async function walByRelationAndRecord(directUrl: string, from: string, to: string): Promise<{ rel: string; record: string; bytes: number }[] | null> {
  const client = new Client({ connectionString: directUrl });
  await client.connect();
  try {
    const r = await client.query(
      `SELECT coalesce(c.relname, '(no relation)') AS rel, w.resource_manager || '/' || w.record_type AS record, sum(w.record_length)::float8 AS bytes
         FROM pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn) w
         LEFT JOIN pg_class c ON c.relfilenode = substring(w.block_ref from 'rel [0-9]+/[0-9]+/([0-9]+)')::oid
        GROUP BY 1, 2 ORDER BY 3 DESC`,
      [from, to],
    );
    return r.rows.map((row) => ({ rel: String(row.rel), record: String(row.record), bytes: Number(row.bytes) }));
  } catch {
    return null; // no pg_walinspect, or the window's WAL already recycled
  } finally {
    await client.end();
  }
}

/**
 * New B-tree leaf tuples per table (all its indexes) between two positions, from the WAL:
 * INSERT_LEAF and INSERT_POST records, plus level-0 page splits (the insertion that splits a
 * leaf is logged in the split record). Only this database's relations. Null without the WAL.
 */
async function indexEntriesFromWal(directUrl: string, from: string, to: string): Promise<Map<string, number> | null> {
  const client = new Client({ connectionString: directUrl });
  await client.connect();
  try {
    const r = await client.query(
      `WITH w AS (
         SELECT w.record_type, w.description,
                substring(w.block_ref from 'rel [0-9]+/([0-9]+)/[0-9]+')::oid AS db,
                substring(w.block_ref from 'rel [0-9]+/[0-9]+/([0-9]+)')::oid AS relfilenode
           FROM pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn) w
          WHERE w.resource_manager = 'Btree'
       )
       SELECT t.relname AS name,
              count(*) FILTER (WHERE w.record_type IN ('INSERT_LEAF', 'INSERT_POST')
                                  OR (w.record_type IN ('SPLIT_L', 'SPLIT_R') AND w.description ~ '^level:? 0,'))::float8 AS n
         FROM w
         JOIN pg_class c ON c.relfilenode = w.relfilenode
         JOIN pg_index i ON i.indexrelid = c.oid
         JOIN pg_class t ON t.oid = i.indrelid
        WHERE w.db = (SELECT oid FROM pg_database WHERE datname = current_database())
        GROUP BY 1`,
      [from, to],
    );
    return new Map(r.rows.map((row) => [String(row.name), Number(row.n)]));
  } catch {
    return null; // no pg_walinspect, or the window's WAL already recycled
  } finally {
    await client.end();
  }
}

/** Bytes per transfer by key, largest first, leaving out keys under one byte per transfer. */
function perTransferBy<R extends { bytes: number }>(rows: readonly R[], keyOf: (row: R) => string, transfers: number): Record<string, number> {
  const sums = new Map<string, number>();
  for (const row of rows) {
    const key = keyOf(row);
    sums.set(key, (sums.get(key) ?? 0) + row.bytes);
  }
  const out: Record<string, number> = {};
  for (const [key, bytes] of [...sums].sort((a, b) => b[1] - a[1])) if (bytes / transfers >= 1) out[key] = Math.round(bytes / transfers);
  return out;
}

async function tableCounters(pool: Pool): Promise<Map<string, TableCounters>> {
  const r = await pool.query(
    `SELECT s.relname AS name, s.n_tup_ins::float8 AS ins, s.n_tup_upd::float8 AS upd, s.n_tup_hot_upd::float8 AS hot, s.n_tup_del::float8 AS del,
            (SELECT count(*) FROM pg_index i WHERE i.indrelid = s.relid)::int AS indexes
       FROM pg_stat_user_tables s`,
  );
  return new Map(
    r.rows.map((row) => [
      String(row.name),
      { inserted: Number(row.ins), updated: Number(row.upd), hotUpdated: Number(row.hot), deleted: Number(row.del), indexes: Number(row.indexes) },
    ]),
  );
}

function total(tables: Map<string, TableCounters>): number {
  let n = 0;
  for (const t of tables.values()) n += t.inserted + t.updated + t.deleted;
  return n;
}

export class WritesMeter {
  private start: Snapshot | null = null;
  private walEnd: { bytes: bigint; lsn: string } | null = null;

  /** `directUrl`: the bench database without PgBouncer, where pg_walinspect is installed. */
  constructor(
    private readonly pool: Pool,
    private readonly directUrl: string,
  ) {}

  async begin(): Promise<void> {
    // Start from settled counters too, or the previous phase's late reports land in this window.
    const tables = await this.settledCounters();
    const wal = await walPosition(this.directUrl);
    this.start = { tables, walBytes: wal.bytes, walLsn: wal.lsn };
  }

  /** Closes the WAL window now (call once the work is applied and its bookkeeping written). */
  async markWalEnd(): Promise<void> {
    this.walEnd = await walPosition(this.directUrl);
  }

  async end(transfers: number): Promise<WritesReport | null> {
    if (!this.start) return null;
    const walEnd = this.walEnd ?? (await walPosition(this.directUrl));
    const records = await walByRelationAndRecord(this.directUrl, this.start.walLsn, walEnd.lsn);
    const walEntries = await indexEntriesFromWal(this.directUrl, this.start.walLsn, walEnd.lsn);
    const tables = await this.settledCounters();
    const byTable: Record<string, TableWrites> = {};
    let rows = 0;
    let entries = 0;
    const per = (n: number) => (transfers > 0 ? (round(n / transfers, 2) ?? 0) : 0);
    for (const [name, after] of tables) {
      const before = this.start.tables.get(name) ?? { inserted: 0, updated: 0, hotUpdated: 0, deleted: 0, indexes: after.indexes };
      const d = {
        inserted: after.inserted - before.inserted,
        updated: after.updated - before.updated,
        hotUpdated: after.hotUpdated - before.hotUpdated,
        deleted: after.deleted - before.deleted,
      };
      const indexEntries = walEntries ? (walEntries.get(name) ?? 0) : (d.inserted + d.updated - d.hotUpdated) * after.indexes;
      if (d.inserted + d.updated + d.deleted === 0 && indexEntries === 0) continue;
      rows += d.inserted + d.updated + d.deleted;
      entries += indexEntries;
      byTable[name] = { inserted: per(d.inserted), updated: per(d.updated), hot_updated: per(d.hotUpdated), deleted: per(d.deleted), index_entries: per(indexEntries) };
    }
    const wal = Number(walEnd.bytes - this.start.walBytes);
    const known = records && transfers > 0 ? records : null;
    const perRelation = known ? perTransferBy(known, (row) => row.rel, transfers) : null;
    const perRecord = known ? perTransferBy(known, (row) => `${row.rel} ${row.record}`, transfers) : null;
    return {
      transfers,
      wal_bytes: wal,
      wal_bytes_per_transfer: transfers > 0 ? Math.round(wal / transfers) : null,
      rows_per_transfer: transfers > 0 ? round(rows / transfers, 2) : null,
      index_entries_per_transfer: transfers > 0 ? round(entries / transfers, 2) : null,
      index_entries_from: walEntries ? 'wal' : 'row counters',
      by_table: byTable,
      wal_by_relation: perRelation,
      wal_by_record: perRecord,
    };
  }

  /** The counters once two reads STATS_POLL_MS apart agree (bounded by STATS_SETTLE_MS_MAX). */
  private async settledCounters(): Promise<Map<string, TableCounters>> {
    const deadline = Date.now() + STATS_SETTLE_MS_MAX;
    let last = await tableCounters(this.pool);
    let stableSince = Date.now();
    // Idle backends report about 10 s after their last statement: wait at least that long
    // for a change before believing the counters are final.
    while (Date.now() < deadline) {
      await sleep(STATS_POLL_MS);
      const next = await tableCounters(this.pool);
      if (total(next) !== total(last)) stableSince = Date.now();
      last = next;
      if (Date.now() - stableSince >= 11_000) break;
    }
    return last;
  }
}
