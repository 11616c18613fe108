// Proves the routing snapshot's two promises the bucket-move protocol relies on, against real
// Postgres through PgBouncer: a process reports the OLDEST routing version a request still
// holds (so the settle step waits for requests that passed the hold check before the hold was
// visible), and a snapshot never moves backwards, whatever order reloads finish in.
import { RoutingTable } from '@ledgerline/domain';
import { RoutingWatcher, createPool, routersBehind } from '../src';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';

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
      expect(await routersBehind(db.pool, newer, 60_000)).toEqual(['api-lease-test']); // the move must wait
      lease.release(); // the old request has published
      await watcher.refresh();
      expect(await routersBehind(db.pool, newer, 60_000)).toEqual([]);
    } finally {
      await watcher.stop();
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
