/**
 * What Postgres did during a window, for the bench database only: the statements that took
 * the most time (pg_stat_statements, diffed between two snapshots rather than reset, so other
 * users of the server are not disturbed), commits, and WAL written and flushed.
 */
import { Client } from 'pg';

interface StatementRow {
  query: string;
  calls: number;
  totalMs: number;
  rows: number;
}

interface Snapshot {
  statements: Map<string, StatementRow> | null;
  commits: number;
  walBytes: bigint;
  walLsn: string;
  walSyncs: number | null;
}

export interface WalShare {
  resource_manager: string;
  records: number;
  record_mb: number;
  /** Full-page images: the first change of a page after a checkpoint writes the whole page. */
  fpi_mb: number;
}

export interface StatementReport {
  query: string;
  calls: number;
  total_ms: number;
  mean_ms: number;
  rows: number;
  share_pct: number;
}

export interface PgReport {
  commits: number;
  commits_per_s: number;
  wal_mb: number;
  wal_fsyncs: number | null;
  /** WAL by resource manager (pg_walinspect; cluster-wide), when the extension is there. */
  wal_by_kind: WalShare[] | null;
  top_statements: StatementReport[];
}

const TOP_STATEMENTS = 10;
const QUERY_TEXT_MAX = 160;

export class PgMeter {
  private start: Snapshot | null = null;
  private startedAt = 0;

  /**
   * `directUrl` must name a database where the pg_stat_statements extension exists;
   * `walInspectUrl`, one where pg_walinspect exists (the bench database creates it).
   */
  constructor(
    private readonly directUrl: string,
    private readonly database: string,
    private readonly walInspectUrl: string | null = null,
  ) {}

  private async walByKind(from: string, to: string): Promise<WalShare[] | null> {
    if (!this.walInspectUrl) return null;
    const client = new Client({ connectionString: this.walInspectUrl });
    await client.connect();
    try {
      const r = await client.query(
        // PostgreSQL 15 names the column "resource_manager/record_type" (16 renamed it).
        `SELECT "resource_manager/record_type" AS resource_manager, count::float8 AS n, record_size::float8 AS rec, fpi_size::float8 AS fpi
           FROM pg_get_wal_stats($1::pg_lsn, $2::pg_lsn, false) ORDER BY combined_size DESC LIMIT 8`,
        [from, to],
      );
      return r.rows.map((row) => ({
        resource_manager: String(row.resource_manager),
        records: Number(row.n),
        record_mb: Math.round(Number(row.rec) / 1e5) / 10,
        fpi_mb: Math.round(Number(row.fpi) / 1e5) / 10,
      }));
    } catch {
      // e.g. the window's WAL was already recycled (a long drain writes more than max_wal_size).
      return null;
    } finally {
      await client.end();
    }
  }

  private async snapshot(): Promise<Snapshot> {
    const client = new Client({ connectionString: this.directUrl });
    await client.connect();
    try {
      let statements: Map<string, StatementRow> | null = null;
      try {
        const s = await client.query(
          `SELECT s.queryid::text AS id, s.query, s.calls::float8 AS calls, s.total_exec_time AS total, s.rows::float8 AS rows
             FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1`,
          [this.database],
        );
        statements = new Map(s.rows.map((r) => [String(r.id), { query: String(r.query), calls: Number(r.calls), totalMs: Number(r.total), rows: Number(r.rows) }]));
      } catch {
        statements = null; // extension missing: the report says so
      }
      const db = await client.query('SELECT xact_commit::float8 AS commits FROM pg_stat_database WHERE datname = $1', [this.database]);
      const wal = await client.query("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn AS bytes, pg_current_wal_flush_lsn()::text AS lsn");
      let walSyncs: number | null = null;
      try {
        walSyncs = Number((await client.query('SELECT wal_sync::float8 AS n FROM pg_stat_wal')).rows[0]?.n);
      } catch {
        walSyncs = null;
      }
      return {
        statements,
        commits: Number(db.rows[0]?.commits ?? 0),
        walBytes: BigInt(String(wal.rows[0].bytes).split('.')[0]!),
        walLsn: String(wal.rows[0].lsn),
        walSyncs,
      };
    } finally {
      await client.end();
    }
  }

  async begin(): Promise<void> {
    this.start = await this.snapshot().catch(() => null);
    this.startedAt = Date.now();
  }

  async end(): Promise<PgReport | null> {
    if (!this.start) return null;
    const end = await this.snapshot().catch(() => null);
    if (!end) return null;
    const seconds = Math.max(0.001, (Date.now() - this.startedAt) / 1000);
    const top: StatementReport[] = [];
    if (end.statements && this.start.statements) {
      const deltas: StatementRow[] = [];
      for (const [id, row] of end.statements) {
        const before = this.start.statements.get(id);
        const delta = { query: row.query, calls: row.calls - (before?.calls ?? 0), totalMs: row.totalMs - (before?.totalMs ?? 0), rows: row.rows - (before?.rows ?? 0) };
        if (delta.calls > 0) deltas.push(delta);
      }
      const total = deltas.reduce((a, d) => a + d.totalMs, 0) || 1;
      deltas.sort((a, b) => b.totalMs - a.totalMs);
      for (const d of deltas.slice(0, TOP_STATEMENTS)) {
        top.push({
          query: d.query.replace(/\s+/g, ' ').slice(0, QUERY_TEXT_MAX),
          calls: d.calls,
          total_ms: Math.round(d.totalMs),
          mean_ms: Math.round((d.totalMs / d.calls) * 1000) / 1000,
          rows: d.rows,
          share_pct: Math.round((d.totalMs / total) * 1000) / 10,
        });
      }
    }
    const commits = end.commits - this.start.commits;
    const walByKind = await this.walByKind(this.start.walLsn, end.walLsn).catch(() => null);
    return {
      commits,
      commits_per_s: Math.round(commits / seconds),
      wal_mb: Math.round(Number(end.walBytes - this.start.walBytes) / 1e5) / 10,
      wal_fsyncs: end.walSyncs !== null && this.start.walSyncs !== null ? end.walSyncs - this.start.walSyncs : null,
      wal_by_kind: walByKind,
      top_statements: top,
    };
  }
}
