// Proves that every list route pages each row exactly once while a real worker keeps applying
// deposits, transfers and holds on the same account between page reads (written by an outside
// review of pagination, which found no defect): a row present before the first page is on some
// page, none twice; entries run without a gap; a window `to` an instant now past reads, under
// load, what a direct read of it gives afterwards. Against the real API, a worker, Kafka,
// Postgres through PgBouncer and Redis.
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { Client, startApi, token } from '../../../test/support/api';
import { startWorker, waitFor } from '../../../test/support/worker';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('paging while writes keep arriving', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let api: Awaited<ReturnType<typeof startApi>>;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let alice: Client;
  let admin: Client;
  let a: string;
  let b: string;
  let stop = false;
  let load: Promise<void>;
  let writes = 0;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    const target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
    worker = await startWorker(target);
    api = await startApi(target, { API_RATE_WRITES_PER_S: '100000', API_RATE_READS_PER_S: '100000', API_RATE_WRITES_BURST: '1000000', API_RATE_READS_BURST: '1000000' });
    alice = new Client(api.url, await token('alice'));
    admin = new Client(api.url, await token('ops', 'ledger:read ledger:write ledger:admin'));
    a = (await alice.post('/v1/accounts', { currency: 'USD' })).body.id;
    b = (await alice.post('/v1/accounts', { currency: 'USD' })).body.id;
    const funded = await admin.post('/v1/deposits', { account_id: a, amount: '1000000', currency: 'USD' });
    await waitFor('funded', async () => (await admin.get(`/v1/transfers/${funded.body.id}`)).body.status === 'COMPLETED');
    // The load: deposits into A, transfers A<->B, holds on A (half of them voided), new accounts.
    load = (async () => {
      let i = 0;
      while (!stop) {
        i++;
        const requests = [
          admin.post('/v1/deposits', { account_id: a, amount: '1', currency: 'USD' }),
          alice.post('/v1/transfers', { from_account_id: a, to_account_id: b, amount: '2', currency: 'USD' }),
          alice.post('/v1/transfers', { from_account_id: b, to_account_id: a, amount: '1', currency: 'USD' }),
          alice.post('/v1/holds', { account_id: a, amount: '1', currency: 'USD' }),
        ];
        if (i % 5 === 0) requests.push(alice.post('/v1/accounts', { currency: 'USD' }));
        const answers = await Promise.all(requests);
        const hold = answers[3]!;
        if (hold.status === 202 && i % 2 === 0) {
          await alice.get(`/v1/holds/${hold.body.id}?wait_ms=2000`);
          await alice.post(`/v1/holds/${hold.body.id}/void`, {});
        }
        writes += requests.length;
        await sleep(5);
      }
    })();
    await sleep(3000);
  }, 60_000);

  afterAll(async () => {
    stop = true;
    await load;
    await api.stop();
    await worker.stop();
    expect(worker.fatal).toEqual([]);
    await topics.delete();
    await db.drop();
  });

  async function pageAll(path: string, field: string, limit: number): Promise<{ id: string; status?: string }[]> {
    const rows: { id: string; status?: string }[] = [];
    let cursor: string | null = null;
    for (let n = 0; n < 10_000; n++) {
      const sep = path.includes('?') ? '&' : '?';
      const page = await alice.get(`${path}${sep}limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
      expect(page.status).toBe(200);
      rows.push(...(page.body[field] as { id: string; status?: string }[]));
      cursor = page.body.next_cursor;
      if (cursor === null) return rows;
      await sleep(20); // let the worker apply more between two pages
    }
    throw new Error('the cursor never ended');
  }

  const dupes = (ids: string[]) => ids.filter((id, i) => ids.indexOf(id) !== i);

  test('transfers: every row present before page 1 exactly once, no repeats', async () => {
    const before = await db.pool.query(
      `SELECT id::text FROM transfers WHERE from_account_id = $1 OR to_account_id = $1`, [a]);
    const rows = await pageAll(`/v1/transfers?account_id=${a}`, 'transfers', 7);
    const ids = rows.map((r) => r.id);
    expect(dupes(ids)).toEqual([]);
    const missing = before.rows.map((r) => r.id as string).filter((id) => !ids.includes(id));
    expect(missing).toEqual([]);
    expect(writes).toBeGreaterThan(20);
  }, 120_000);

  test('transfers filtered by status while statuses change: no repeats', async () => {
    for (const status of ['COMPLETED', 'PROCESSING']) {
      const rows = await pageAll(`/v1/transfers?account_id=${b}&status=${status}`, 'transfers', 3);
      expect(dupes(rows.map((r) => r.id))).toEqual([]);
    }
  }, 120_000);

  test('holds: every row present before page 1 exactly once, no repeats', async () => {
    const before = await db.pool.query(`SELECT id::text FROM holds WHERE account_id = $1`, [a]);
    const rows = await pageAll(`/v1/holds?account_id=${a}`, 'holds', 5);
    const ids = rows.map((r) => r.id);
    expect(dupes(ids)).toEqual([]);
    expect(before.rows.map((r) => r.id as string).filter((id) => !ids.includes(id))).toEqual([]);
  }, 120_000);

  test('accounts: every account present before page 1 exactly once', async () => {
    const before = await db.pool.query(`SELECT id::text FROM accounts WHERE owner = 'alice'`);
    const rows = await pageAll('/v1/accounts', 'accounts', 2);
    const ids = rows.map((r) => r.id);
    expect(dupes(ids)).toEqual([]);
    expect(before.rows.map((r) => r.id as string).filter((id) => !ids.includes(id))).toEqual([]);
  }, 120_000);

  test('entries without a window: seqs contiguous from the first page down to 1', async () => {
    const entries: { seq: string }[] = [];
    let cursor: string | null = null;
    do {
      const page = await alice.get(`/v1/accounts/${a}/entries?limit=9${cursor === null ? '' : `&cursor=${cursor}`}`);
      expect(page.status).toBe(200);
      entries.push(...page.body.entries);
      cursor = page.body.next_cursor;
      await sleep(20);
    } while (cursor !== null);
    const seqs = entries.map((e) => Number(e.seq));
    expect(seqs).toEqual(Array.from({ length: seqs[0]! }, (_, i) => seqs[0]! - i));
  }, 120_000);

  test('entries with a passed `to`: pages read under load equal the window read after the load', async () => {
    // `to` the ledger's clock a moment ago, to the microsecond, and several at once.
    const tos: string[] = [];
    for (let k = 0; k < 8; k++) {
      const now = await db.pool.query(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS t`);
      tos.push(now.rows[0].t as string);
      await sleep(37);
    }
    const paged = new Map<string, string[]>();
    for (const to of tos) {
      const got: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await alice.get(`/v1/accounts/${a}/entries?limit=4&to=${to}${cursor === null ? '' : `&cursor=${cursor}`}`);
        expect(page.status).toBe(200);
        got.push(...page.body.entries.map((e: { seq: string }) => e.seq));
        cursor = page.body.next_cursor;
      } while (cursor !== null && got.length < 40);
      paged.set(to, got);
    }
    for (const to of tos) {
      const truth = await db.pool.query(
        `SELECT seq::text FROM entries WHERE account_id = $1 AND created_at < $2::timestamptz ORDER BY entries.seq DESC LIMIT 40`, [a, to]);
      expect({ to, seqs: paged.get(to) }).toEqual({ to, seqs: truth.rows.map((r) => r.seq as string) });
    }
  }, 120_000);
});
