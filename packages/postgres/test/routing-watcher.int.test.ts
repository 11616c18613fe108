// Proves the routing snapshot's two promises the bucket-move protocol relies on, against real
// Postgres through PgBouncer: a process reports the OLDEST routing version a request still
// holds (so the settle step waits for requests that passed the hold check before the hold was
// visible), and a snapshot never moves backwards, whatever order reloads finish in.
import { RoutingTable } from '@ledgerline/domain';
import { RoutingWatcher, createPool, routersBehind } from '../src';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { waitFor } from '../../../test/support/worker';

describe('RoutingWatcher', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(2);
  });
  afterAll(async () => {
    await db.drop();
  });

  const bump = () => db.pool.query('UPDATE routing_version SET version = version + 1 RETURNING version').then((r) => Number(r.rows[0].version));

  test('a request holding an older table keeps this process reported behind until it is done', async () => {
    const watcher = new RoutingWatcher(db.pool, 60_000, () => undefined, { instance: 'api-lease-test', role: 'api' });
    try {
      await watcher.start();
      const lease = watcher.lease(); // a request passed the hold check with this table...
      const newer = await bump(); // ...then a move holds a bucket
      await watcher.refresh();
      expect(watcher.current().version).toBe(newer); // new requests see the hold
      expect(await routersBehind(db.pool, newer, 60_000)).toEqual([{ instance: 'api-lease-test', refreshMs: 60_000 }]); // the move must wait
      lease.release(); // the old request has published
      await watcher.refresh();
      expect(await routersBehind(db.pool, newer, 60_000)).toEqual([]);
    } finally {
      await watcher.stop();
    }
  });

  // A stopping API waits for it before stopping its producer and ending its pool: an outside
  // review saw a request cut at the end of the grace meet both stopped.
  test('unleased: true at once with no lease, true when the last lease is released, false after its timeout while one is held', async () => {
    const watcher = new RoutingWatcher(db.pool, 60_000);
    try {
      await watcher.start();
      expect(await watcher.unleased(10)).toBe(true);
      const first = watcher.lease();
      const second = watcher.lease();
      expect(await watcher.unleased(50)).toBe(false);
      const waiting = watcher.unleased(30_000);
      let settled = false;
      void waiting.then(() => (settled = true));
      first.release();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(settled).toBe(false); // one request still publishing
      second.release();
      expect(await waiting).toBe(true);
    } finally {
      await watcher.stop();
    }
  });

  // Found by an outside review: judged by the mover's freshness window alone, a healthy API
  // refreshing less often than that counted as gone between its reports.
  test('an API is live within its own refresh interval plus the freshness window; one that records no interval (older) within the window alone', async () => {
    await db.pool.query(
      `INSERT INTO routing_observers (instance, role, version, seen_at, refresh_ms) VALUES
         ('api-slow', 'api', 0, now() - interval '3 s', 10000),
         ('api-slow-gone', 'api', 0, now() - interval '15 s', 10000),
         ('api-older-build', 'api', 0, now() - interval '3 s', NULL),
         ('api-older-build-live', 'api', 0, now() - interval '100 ms', NULL)`,
    );
    try {
      expect(await routersBehind(db.pool, 1_000_000, 1_000)).toEqual([
        { instance: 'api-older-build-live', refreshMs: null },
        { instance: 'api-slow', refreshMs: 10_000 },
      ]);
    } finally {
      await db.pool.query(`DELETE FROM routing_observers WHERE instance LIKE 'api-slow%' OR instance LIKE 'api-older-build%'`);
    }
  });

  test("a process that stops removes its observer row before its pool ends (a row left behind would hold every later bucket move's settle step back until it aged out)", async () => {
    const pool = createPool({ connectionString: db.url, connectionsMax: 2, connectTimeoutMs: 10_000, applicationName: 'test' });
    const watcher = new RoutingWatcher(pool, 60_000, () => undefined, { instance: 'api-stop-test', role: 'api' });
    await watcher.start();
    const rows = () => db.pool.query("SELECT instance FROM routing_observers WHERE instance = 'api-stop-test'").then((r) => r.rows.length);
    expect(await rows()).toBe(1);
    await watcher.stop();
    await pool.end(); // as the API's and the worker's stop do, right after
    expect(await rows()).toBe(0);
  });

  // Found by an outside review: a refresh was started every interval whether or not the last
  // one had answered, so with Postgres slow they piled up, each holding a pooled connection.
  test('while a timed refresh waits for Postgres, the next rounds are skipped: one connection in use, not one per interval', async () => {
    const pool = createPool({ connectionString: db.url, connectionsMax: 8, connectTimeoutMs: 10_000, applicationName: 'routing-overlap' });
    const watcher = new RoutingWatcher(pool, 100);
    const locker = await db.pool.connect();
    try {
      await watcher.start();
      // A DDL-strength lock: every read of routing_version waits behind it.
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE routing_version IN ACCESS EXCLUSIVE MODE');
      const waiting = () =>
        db.pool
          .query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FROM routing_version%'`)
          .then((r) => r.rows[0].n as number);
      await waitFor('the timer\'s refresh to wait behind the lock', async () => (await waiting()) >= 1);
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // fifteen intervals
      expect(await waiting()).toBe(1);
      expect(pool.totalCount).toBe(1);
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
      await watcher.stop();
      await pool.end();
    }
  });

  test('the snapshot only moves forward, and a failed refresh throws instead of serving a stale table silently', async () => {
    const watcher = new RoutingWatcher(db.pool, 60_000);
    try {
      await watcher.start();
      const seen: number[] = [];
      watcher.onChange((table: RoutingTable) => seen.push(table.version));
      await bump();
      // Many overlapping reloads: whichever finishes last, the version never goes down.
      await Promise.all(Array.from({ length: 8 }, async (_, i) => (i % 2 ? bump().then(() => watcher.refresh()) : watcher.refresh())));
      const latest = Number((await db.pool.query('SELECT version FROM routing_version')).rows[0].version);
      await watcher.refresh();
      expect(watcher.current().version).toBe(latest);
      for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);

      const broken = new RoutingWatcher(
        { query: () => Promise.reject(Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' })) } as never,
        60_000,
      );
      await expect(broken.refresh()).rejects.toThrow(/connection refused/);
    } finally {
      await watcher.stop();
    }
  });
});
