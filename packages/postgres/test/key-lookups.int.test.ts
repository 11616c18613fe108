// Proves that the worker's per-batch statements (ledger_apply_batch and ledger_applied_keys)
// find their rows by key, never by reading a whole table, whatever the tables hold and their
// statistics say (migrations 0012 and 0015). The planner once answered a one-transfer status
// change with a sequential scan of every transfer, and, sequential scans turned off, with a
// scan of the whole primary key filtered by status: correct, but a cost that grew with the
// ledger. Counted with pg_stat_xact_user_tables (the server connection's table statistics
// not yet flushed, read before and after the statement on the same connection): rows read
// by sequential and by index scans alike.
import type { PoolClient } from 'pg';
import { claimPartition, inTransaction } from '../src';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';

const ACCOUNTS = 2_000;
/** Rows a keyed batch of one change may read from a table (its own row, a HOT chain). */
const KEYED_ROWS_MAX = 3;

// A young ledger (about the size of the bench's fixture, where the planner found scanning
// every transfer cheaper than 100 key lookups) and an older one.
describe.each([1_000, 20_000])('batch statements are key lookups (%i transfers)', (TRANSFERS) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(1);
    await db.pool.query(
      `INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, balance, seq)
       SELECT gen_random_uuid(), 'bulk', 'USER', 'USD', 0, 0, 0 FROM generate_series(1, $1)`,
      [ACCOUNTS],
    );
    // Mostly finished transfers, a few in flight: the statistics that misled the planner.
    await db.pool.query(
      `INSERT INTO transfers (id, kind, status, from_account_id, to_account_id, amount, currency, principal,
                              request_hash, source_partition, created_at, completed_at)
       SELECT gen_random_uuid(), 'TRANSFER', CASE WHEN i % 500 = 0 THEN 'PROCESSING' ELSE 'COMPLETED' END,
              gen_random_uuid(), gen_random_uuid(), 1, 'USD', 'bulk', 'h', 0, now(),
              CASE WHEN i % 500 = 0 THEN NULL ELSE now() END
         FROM generate_series(1, $1) AS i`,
      [TRANSFERS],
    );
    // Holds likewise: mostly ended, a few still HELD.
    await db.pool.query(
      `INSERT INTO holds (id, account_id, bucket, amount, currency, status, principal, request_hash, partition,
                          expires_at, created_at, completed_at)
       SELECT gen_random_uuid(), gen_random_uuid(), 0, 1, 'USD', CASE WHEN i % 1000 = 0 THEN 'HELD' ELSE 'VOIDED' END,
              'bulk', 'h', 0, now() + interval '1 hour', now(), CASE WHEN i % 1000 = 0 THEN NULL ELSE now() END
         FROM generate_series(1, $1) AS i`,
      [TRANSFERS],
    );
    // Legs as a ledger of both eras holds them: rows of applied credit legs written before
    // migration 0018, and refused legs (since 0018 the only ones with a row).
    await db.pool.query(
      `INSERT INTO transfer_legs (transfer_id, leg, partition, outcome, reason)
       SELECT id, 'CREDIT', 0, CASE WHEN random() < 0.5 THEN 'APPLIED' ELSE 'REJECTED' END, NULL FROM transfers WHERE status = 'COMPLETED'`,
    );
    await db.pool.query('ANALYZE accounts, transfers, transfer_legs, holds, account_changes');
  });
  afterAll(async () => {
    await db.drop();
  });

  /**
   * Rows of each table read by `statement` on this server connection: by sequential scans, and
   * index entries returned by its indexes' scans (index-only scans included, which fetch no
   * heap row).
   */
  async function rowsReadBy(client: PoolClient, statement: () => Promise<unknown>): Promise<Record<string, number>> {
    const read = async () => {
      const { rows } = await client.query<{ relname: string; read: string }>(
        `SELECT t.relname,
                t.seq_tup_read + coalesce((SELECT sum(pg_stat_get_xact_tuples_returned(i.indexrelid)) FROM pg_index i WHERE i.indrelid = t.relid), 0) AS read
           FROM pg_stat_xact_user_tables t
          WHERE t.relname IN ('accounts', 'transfers', 'transfer_legs', 'holds', 'account_changes')`,
      );
      return new Map(rows.map((r) => [r.relname, Number(r.read)]));
    };
    const before = await read();
    await statement();
    const after = await read();
    return Object.fromEntries([...after].map(([table, n]) => [table, n - (before.get(table) ?? 0)]));
  }

  /** Every table read by key: at most a few rows each. */
  function expectKeyed(read: Record<string, number>): void {
    expect(Object.entries(read).filter(([, rows]) => rows > KEYED_ROWS_MAX)).toEqual([]);
  }

  test('a batch that finishes a transfer, ends a hold, moves a balance and records a refused leg reads no table whole', async () => {
    const claim = await claimPartition(db.pool, 'key-lookups', 0, 'owner');
    const [processing, refused] = (await db.pool.query(`SELECT id FROM transfers WHERE status = 'PROCESSING' LIMIT 2`)).rows.map((r) => r.id as string);
    const account = (await db.pool.query(`SELECT id FROM accounts LIMIT 1`)).rows[0].id as string;
    const held = (await db.pool.query(`SELECT id FROM holds WHERE status = 'HELD' LIMIT 1`)).rows[0].id as string;
    const batch = {
      created: [],
      entries: [],
      balances: [{ id: account, balance: '0', seq: '0', expected_seq: '0', held: '0', rev: '1', status: 'OPEN', overdraft_limit: '0' }],
      transfers: [],
      statuses: [{ id: processing, status: 'COMPLETED', reason: null, completed_at: new Date().toISOString() }],
      legs: [{ transfer_id: refused, leg: 'CREDIT', partition: 0, outcome: 'REJECTED', reason: 'ACCOUNT_CLOSED' }],
      hold_ends: [{ id: held, status: 'VOIDED', captured_amount: '0', capture_id: null, completed_at: new Date().toISOString() }],
      fence_move_ids: [],
      outbox: [],
    };
    await inTransaction(db.pool, async (client) => {
      const read = await rowsReadBy(client, () =>
        client.query('SELECT ledger_apply_batch($1, $2, $3, $4, $5, $6::jsonb)', [
          claim.topic,
          claim.partition,
          claim.epoch.toString(),
          '0',
          '1',
          JSON.stringify(batch),
        ]),
      );
      // The batch did what it says (so the counts below are about statements that ran).
      const done = await client.query('SELECT status FROM transfers WHERE id = $1', [processing]);
      expect(done.rows[0].status).toBe('COMPLETED');
      expect((await client.query('SELECT outcome FROM transfer_legs WHERE transfer_id = $1', [refused])).rows).toEqual([{ outcome: 'REJECTED' }]);
      expect((await client.query('SELECT status FROM holds WHERE id = $1', [held])).rows[0].status).toBe('VOIDED');
      expect((await client.query('SELECT rev FROM accounts WHERE id = $1', [account])).rows[0].rev).toBe('1');
      expectKeyed(read);
    });
  });

  test('the dedupe read finds applied transfers and legs by key', async () => {
    const { rows: known } = await db.pool.query<{ id: string }>(`SELECT id FROM transfers WHERE status = 'COMPLETED' LIMIT 3`);
    const unknown = '00000000-0000-4000-8000-000000000001';
    await inTransaction(db.pool, async (client) => {
      let rows: { transfer_id: string; leg: string | null }[] = [];
      const read = await rowsReadBy(client, async () => {
        ({ rows } = await client.query<{ transfer_id: string; leg: string | null }>(
          'SELECT transfer_id, leg FROM ledger_applied_keys($1::uuid[], $2::uuid[], $3::text[])',
          [[known[0]!.id, unknown], [known[1]!.id, known[2]!.id, unknown], ['CREDIT', 'REFUND', 'CREDIT']],
        ));
      });
      expect(rows).toEqual(
        expect.arrayContaining([
          { transfer_id: known[0]!.id, leg: null },
          { transfer_id: known[1]!.id, leg: 'CREDIT' },
        ]),
      );
      expect(rows).toHaveLength(2);
      expectKeyed(read);
    });
  });
});
