import type { Pool } from 'pg';
import { RoutingTable } from '@ledgerline/domain';
import { inTransaction } from './pool';

/** Creates the initial table (round-robin buckets) once; later calls leave it alone. */
export async function ensureRouting(pool: Pool, partitionCount: number): Promise<RoutingTable> {
  const initial = RoutingTable.initial(partitionCount);
  await inTransaction(pool, async (client) => {
    const created = await client.query(
      `INSERT INTO routing_version (singleton, version, partition_count) VALUES (true, $1, $2)
       ON CONFLICT (singleton) DO NOTHING`,
      [initial.version, partitionCount],
    );
    if (!created.rowCount) return;
    const rows = initial.rows();
    await client.query(
      `INSERT INTO routing_buckets (bucket, partition) SELECT * FROM unnest($1::int[], $2::int[])`,
      [rows.map((r) => r.bucket), rows.map((r) => r.partition)],
    );
  });
  return loadRouting(pool);
}

export async function loadRoutingVersion(pool: Pool): Promise<number | null> {
  const result = await pool.query('SELECT version FROM routing_version');
  return result.rows[0] ? Number(result.rows[0].version) : null;
}

export async function loadRouting(pool: Pool): Promise<RoutingTable> {
  // One transaction so the version and the rows belong together.
  return inTransaction(pool, async (client) => {
    const version = await client.query('SELECT version, partition_count FROM routing_version');
    if (!version.rows[0]) throw new Error('routing table is not initialised: run migrations/setup first');
    // A FENCED move already belongs to its new partition, before the table itself is switched.
    const rows = await client.query(
      `SELECT b.bucket, coalesce(m.to_partition, b.partition) AS partition, b.held
         FROM routing_buckets b LEFT JOIN bucket_moves m ON m.bucket = b.bucket AND m.state = 'FENCED'`,
    );
    return RoutingTable.fromRows(
      Number(version.rows[0].version),
      rows.rows.map((r) => ({ bucket: Number(r.bucket), partition: Number(r.partition), held: r.held === true })),
    );
  });
}

/**
 * Keeps a process's routing snapshot current: polls the version (one tiny query) every
 * `refreshMs` and reloads the table only when it changed.
 *
 * The snapshot only moves forward: a load installs its table only if its version is newer
 * than the one held, so two reloads finishing out of order never put an older table back.
 * `refresh` throws when it cannot read the table (a caller about to forward a command must
 * not act on a snapshot it failed to refresh); the timer's refreshes report to `onError`.
 *
 * Leases: a request that routes with a table holds it until it has published. The version
 * this process reports (routing_observers) is the oldest one still leased, so a bucket move's
 * settle step also waits for requests that passed the hold check before the hold was visible.
 */
export class RoutingWatcher {
  private table: RoutingTable | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** The timer's refresh still waiting for Postgres, if any. */
  private timedRefresh: Promise<unknown> | null = null;
  private changeListeners: ((table: RoutingTable) => void)[] = [];
  /** Leases held per routing version. */
  private readonly leases = new Map<number, number>();
  /** Callers of `unleased` waiting for the last lease to be released. */
  private unleasedWaiters: (() => void)[] = [];

  /**
   * `observer` names this process in routing_observers, where a bucket move checks that
   * every live router already holds the bucket before fencing it.
   */
  constructor(
    private readonly pool: Pool,
    private readonly refreshMs: number,
    private readonly onError: (error: Error) => void = () => undefined,
    private readonly observer: { instance: string; role: string } | null = null,
  ) {}

  onChange(listener: (table: RoutingTable) => void): void {
    this.changeListeners.push(listener);
  }

  async start(): Promise<RoutingTable> {
    this.install(await loadRouting(this.pool));
    await this.report();
    this.timer = setInterval(() => {
      // One timed refresh at a time: while Postgres or PgBouncer is slow, a refresh started
      // every interval regardless piled up, each holding a pooled connection until its
      // deadline (10 of a worker's 12), and the worker's own writes then timed out waiting for
      // one (an outside review). A round whose predecessor is still waiting is skipped.
      if (this.timedRefresh) return;
      this.timedRefresh = this.refresh()
        .catch((error: Error) => this.onError(error))
        .finally(() => (this.timedRefresh = null));
    }, this.refreshMs);
    this.timer.unref();
    return this.current();
  }

  current(): RoutingTable {
    if (!this.table) throw new Error('RoutingWatcher.current() before start()');
    return this.table;
  }

  lease(): { table: RoutingTable; release(): void } {
    const table = this.current();
    this.leases.set(table.version, (this.leases.get(table.version) ?? 0) + 1);
    let released = false;
    return {
      table,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.leases.get(table.version) ?? 1) - 1;
        if (left > 0) this.leases.set(table.version, left);
        else this.leases.delete(table.version);
        if (this.leases.size === 0) for (const wake of this.unleasedWaiters.splice(0)) wake();
      },
    };
  }

  /**
   * Resolves true once no request holds a lease (every one has published, or given up), or
   * false after `timeoutMs`. A stopping process waits for it before it stops its producer and
   * ends its pool: a request cut from its client is still publishing, or giving its key back.
   */
  unleased(timeoutMs: number): Promise<boolean> {
    if (this.leases.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.unleasedWaiters = this.unleasedWaiters.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
      this.unleasedWaiters.push(wake);
    });
  }

  /** Reloads the table if its version changed; throws when Postgres cannot be read. */
  async refresh(): Promise<RoutingTable> {
    const version = await loadRoutingVersion(this.pool);
    if (version !== null && (this.table === null || version > this.table.version)) this.install(await loadRouting(this.pool));
    await this.report();
    return this.current();
  }

  /**
   * Stops refreshing and removes this process's observer row, waiting for the DELETE (at most
   * `deleteWaitMs`): the pool is usually ended right after, and a DELETE not yet sent then never
   * was (an outside review found a row left behind by every clean restart).
   */
  async stop(deleteWaitMs = 2_000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (!this.observer) return;
    const deleted = this.pool.query('DELETE FROM routing_observers WHERE instance = $1', [this.observer.instance]).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([deleted, new Promise((resolve) => (timer = setTimeout(resolve, deleteWaitMs)))]);
    clearTimeout(timer);
  }

  /** Installs `table` unless a newer one is already held (monotonic). */
  private install(table: RoutingTable): void {
    if (this.table && table.version <= this.table.version) return;
    this.table = table;
    for (const listener of this.changeListeners) listener(table);
  }

  /** The version this process routes with: the oldest one a request still holds. */
  routedVersion(): number {
    let version = this.current().version;
    for (const leased of this.leases.keys()) version = Math.min(version, leased);
    return version;
  }

  private async report(): Promise<void> {
    if (!this.observer || !this.table) return;
    // With its interval: a bucket move takes this process as gone only once it has been silent
    // for longer than that (plus ledgerctl's margin), whatever API_ROUTING_REFRESH_MS is.
    await this.pool.query(
      `INSERT INTO routing_observers (instance, role, version, seen_at, refresh_ms) VALUES ($1, $2, $3, now(), $4)
       ON CONFLICT (instance) DO UPDATE SET version = EXCLUDED.version, role = EXCLUDED.role, seen_at = now(), refresh_ms = EXCLUDED.refresh_ms`,
      [this.observer.instance, this.observer.role, this.routedVersion(), this.refreshMs],
    );
  }
}
