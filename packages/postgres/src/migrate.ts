import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { inTransaction } from './pool';

/**
 * Forward-only numbered migrations (`migrations/NNNN_name.sql`), each applied in its own
 * transaction. A transaction-scoped advisory lock serialises two processes that start at
 * once (it is released at COMMIT, so it works through PgBouncer's transaction mode); the
 * second one then sees the version recorded and skips it.
 *
 * After the last one, every run re-applies `migrations/privileges.sql` (ownership and the
 * grants of the app roles), so a table added by any later migration gets its privileges
 * without a migration of its own having to remember them.
 *
 * Each applied migration's checksum is recorded, and every run first compares the files with
 * them: a migration edited after it was applied would otherwise be skipped silently (its
 * version is recorded), leaving a database that differs from what the file says. A row
 * recorded before checksums were kept takes the file's checksum on the next run.
 */
const MIGRATIONS_DIR = join(__dirname, '..', 'migrations');
const PRIVILEGES_FILE = join(MIGRATIONS_DIR, 'privileges.sql');
const MIGRATION_LOCK_KEY = 4_271_946_001;
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), checksum text)`;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** sha256 of the migration's text, line endings normalised (a checkout with CRLF is the same file). */
export function migrationChecksum(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
}

export class MigrationChangedError extends Error {
  override readonly name = 'MigrationChangedError';
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => ({ version: Number(file.slice(0, 4)), name: file, sql: readFileSync(join(dir, file), 'utf8') }));
}

export interface MigrateOptions {
  /**
   * How long a migration waits for a lock before it gives way (default 2 s). An ALTER TABLE
   * queued behind a long reader (a reconcile reads every table for minutes) makes every
   * writer of that table queue behind it: the workers' batches failed on their own 5 s lock
   * timeout, round after round, and the API's account reads timed out, for as long as the
   * reader ran (an outside schema review). Waiting less than the workers' 5 s and then
   * stepping aside lets them through between attempts.
   */
  lockTimeoutMs?: number;
  /** The pause before the next attempt (default 1 s). */
  lockRetryDelayMs?: number;
  /** Attempts of one migration at most (default 200: about 10 minutes). */
  lockAttemptsMax?: number;
  /** Told each time a migration gave way (ledgerctl prints it). */
  onLockWait?(migration: string, attempt: number): void;
}

/** SQLSTATE lock_not_available: the statement waited lock_timeout for a lock. */
const LOCK_NOT_AVAILABLE = '55P03';

export async function migrate(pool: Pool, migrations = listMigrations(), options: MigrateOptions = {}): Promise<string[]> {
  const { lockTimeoutMs = 2_000, lockRetryDelayMs = 1_000, lockAttemptsMax = 200, onLockWait } = options;
  await verifyAppliedChecksums(pool, migrations);
  const applied: string[] = [];
  for (const migration of migrations) {
    for (let attempt = 1; ; attempt++) {
      try {
        const ran = await inTransaction(pool, async (client) => {
          // The migrations' own lock first, waited for as long as it takes: another migrate
          // running a long migration is not a reader to step aside for (an outside review of
          // the change: a second run gave up after 200 attempts, blaming a long transaction).
          await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
          await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.trunc(lockTimeoutMs))}`);
          const done = await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
          if (done.rowCount) return false;
          await client.query(migration.sql);
          await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
            migration.version,
            migration.name,
            migrationChecksum(migration.sql),
          ]);
          return true;
        });
        if (ran) applied.push(migration.name);
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw error;
        if (attempt >= lockAttemptsMax) {
          throw new Error(
            `${migration.name}: no lock within ${lockTimeoutMs} ms in ${attempt} attempts; a long transaction holds the table it changes` +
              ' (a reconcile? see pg_stat_activity): let it end, then run migrate again',
          );
        }
        onLockWait?.(migration.name, attempt);
        await delay(lockRetryDelayMs);
      }
    }
  }
  await applyPrivileges(pool);
  return applied;
}

/**
 * Before anything is applied: every migration of this build that the database records must
 * still read as it did when applied. A version the build does not know (a newer build
 * migrated this database) is not ours to judge.
 */
async function verifyAppliedChecksums(pool: Pool, migrations: Migration[]): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    // Created under the lock: two concurrent CREATE TABLE IF NOT EXISTS can still collide.
    await client.query(CREATE_MIGRATIONS_TABLE);
    const column = await client.query(
      `SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'schema_migrations' AND column_name = 'checksum'`,
    );
    // Only when missing: ALTER TABLE takes its lock even when IF NOT EXISTS finds the column.
    if (!column.rowCount) await client.query('ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text');
    const recorded = await client.query<{ version: number; checksum: string | null }>('SELECT version, checksum FROM schema_migrations');
    const byVersion = new Map(recorded.rows.map((row) => [row.version, row]));
    const changed: string[] = [];
    for (const migration of migrations) {
      const row = byVersion.get(migration.version);
      if (!row) continue;
      const checksum = migrationChecksum(migration.sql);
      if (row.checksum === null) {
        await client.query('UPDATE schema_migrations SET checksum = $2 WHERE version = $1', [migration.version, checksum]);
      } else if (row.checksum !== checksum) {
        changed.push(migration.name);
      }
    }
    if (changed.length) {
      throw new MigrationChangedError(
        `${changed.join(', ')}: changed since ${changed.length === 1 ? 'it was' : 'they were'} applied to this database, so migrate applies nothing.` +
          ' An applied migration must never change: restore the file as it was released and put the change in a new migration',
      );
    }
  });
}

export class SchemaBehindError extends Error {
  override readonly name = 'SchemaBehindError';
}

/**
 * Refuses to run a build against a database older than the build's own migrations: its
 * statements would write columns or call functions the schema does not have yet, and a
 * worker would take the refusals for bad commands. The upgrade order is: migrate, then start
 * the new processes (README, "Operating it").
 */
export async function assertSchemaCurrent(pool: Pool, migrations = listMigrations()): Promise<void> {
  const needed = migrations.reduce((newest, m) => Math.max(newest, m.version), 0);
  let applied = 0;
  try {
    applied = (await pool.query('SELECT coalesce(max(version), 0)::int AS v FROM schema_migrations')).rows[0].v;
  } catch (error) {
    if ((error as { code?: string }).code !== '42P01') throw error; // no schema_migrations yet: nothing applied
  }
  if (applied < needed) {
    throw new SchemaBehindError(`the database's schema is at migration ${applied}, this build needs ${needed}: run \`ledgerctl migrate\` first`);
  }
}


/** Re-applies privileges.sql, once the roles exist (migration 0009); idempotent. */
export async function applyPrivileges(pool: Pool, sql = readFileSync(PRIVILEGES_FILE, 'utf8')): Promise<boolean> {
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    const roles = await client.query(`SELECT count(*)::int AS n FROM pg_roles WHERE rolname IN ('ledgerline_owner', 'ledgerline_worker', 'ledgerline_api')`);
    if (roles.rows[0].n < 3) return false;
    // Notices ("no privileges were granted" on an extension's view) are not ours to fix.
    await client.query("SET LOCAL client_min_messages = 'error'");
    await client.query(sql);
    return true;
  });
}
