// Proves each process's Postgres role is bounded by privileges, not by the app's good
// behaviour: the API role cannot move a balance or write the journal, the worker role
// cannot rewrite or delete an entry or a published dead letter, and a table added by a
// later migration gets its grants from the privileges step that every migrate re-runs.
// Runs in a clone of the template, so it also proves the grants survive CREATE DATABASE
// ... TEMPLATE.
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { applyPrivileges, balanceAt, createPool, insertUserAccount, listEntries, markOutboxPublished } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from './support/database';
import { roleUrl } from './support/env';

describe('least-privileged Postgres roles', () => {
  let db: TestDatabase;
  let api: Pool;
  let worker: Pool;
  let account: string;
  const entryOf = (accountId: string) => [accountId, 1, randomUUID(), 'CREDIT', 10, 10, 'USD', 0];
  const INSERT_ENTRY = `INSERT INTO entries (account_id, seq, transfer_id, leg, amount, balance_after, currency, partition) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    const pool = (role: 'api' | 'worker') => createPool({ connectionString: roleUrl(db.url, role), connectionsMax: 2, connectTimeoutMs: 10_000, applicationName: `roles-${role}` });
    api = pool('api');
    worker = pool('worker');
    // Arranged as the owner: an account with one entry, as the worker would have left it.
    account = randomUUID();
    await insertUserAccount(db.pool, { id: account, owner: 'alice', currency: 'USD', overdraftLimit: 0n, metadata: {}, requestHash: 'h' });
    await db.pool.query(INSERT_ENTRY, entryOf(account));
    await db.pool.query('UPDATE accounts SET balance = 10, seq = 1 WHERE id = $1', [account]);
  });

  afterAll(async () => {
    await Promise.all([api.end(), worker.end()]);
    await db.drop();
  });

  const denied = /permission denied/;

  test('holds, reversal totals and account changes (0007): the API reads them only; account changes are append-only for the worker', async () => {
    for (const table of ['holds', 'transfer_reversals', 'account_changes']) {
      await expect(api.query(`SELECT count(*) FROM ${table}`)).resolves.toBeDefined();
      await expect(worker.query(`SELECT count(*) FROM ${table}`)).resolves.toBeDefined();
    }
    const hold = randomUUID();
    const insertHold = `INSERT INTO holds (id, account_id, bucket, amount, currency, status, principal, request_hash, partition, expires_at, created_at)
                        VALUES ($1, $2, 0, 5, 'USD', 'HELD', 'alice', 'h', 0, now(), now())`;
    await expect(api.query(insertHold, [hold, account])).rejects.toThrow(denied);
    await worker.query(insertHold, [hold, account]);
    await expect(api.query(`UPDATE holds SET status = 'VOIDED', completed_at = now() WHERE id = $1`, [hold])).rejects.toThrow(denied);
    await worker.query(`UPDATE holds SET status = 'VOIDED', completed_at = now() WHERE id = $1`, [hold]);
    const change = randomUUID();
    const insertChange = `INSERT INTO account_changes (id, account_id, status, outcome, principal, request_hash, seq_at, created_at, applied_at)
                          VALUES ($1, $2, 'FROZEN', 'APPLIED', 'ops', 'h', 1, now(), now())`;
    await expect(api.query(insertChange, [change, account])).rejects.toThrow(denied);
    await worker.query(insertChange, [change, account]);
    await expect(worker.query(`UPDATE account_changes SET outcome = 'REJECTED', reason = 'FORBIDDEN' WHERE id = $1`, [change])).rejects.toThrow(denied);
    await expect(api.query(`INSERT INTO transfer_reversals (transfer_id, reversed_amount) VALUES ($1, 1)`, [randomUUID()])).rejects.toThrow(denied);
  });

  test('each app logs in as its own role', async () => {
    expect((await api.query('SELECT current_user AS u')).rows[0].u).toBe('ledgerline_api');
    expect((await worker.query('SELECT current_user AS u')).rows[0].u).toBe('ledgerline_worker');
  });

  test('the API role runs the entries time reads (0016) by its own grant, not by PUBLIC', async () => {
    // An operator who hardens the schema revokes EXECUTE from PUBLIC: the API keeps its reads.
    await db.pool.query('REVOKE EXECUTE ON FUNCTION ledger_entry_seq_before(uuid, timestamptz, boolean) FROM PUBLIC');
    const later = new Date(Date.now() + 1000).toISOString();
    expect(await balanceAt(api, account, later)).toEqual({ seq: 1n, balance: 10n });
    const entries = await listEntries(api, account, { beforeSeq: null, from: '2000-01-01T00:00:00Z', to: later, limit: 10 });
    expect(entries.map((e) => e.seq)).toEqual([1n]);
  });

  // Regression (an operator run): the worker wrote the ledger by PUBLIC's EXECUTE alone. A
  // REVOKE on functions stopped every partition (permission denied for function
  // ledger_apply_batch), and `migrate`, which re-applies privileges.sql, did not give it back.
  test('the worker role runs the batch write and the applied-keys lookup by its own grant, given back by every migrate', async () => {
    await db.pool.query('REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC, ledgerline_worker');
    await expect(worker.query("SELECT * FROM ledger_applied_keys('{}'::uuid[], '{}'::uuid[], '{}'::text[])")).rejects.toThrow(denied);
    await applyPrivileges(db.pool);
    await expect(worker.query("SELECT * FROM ledger_applied_keys('{}'::uuid[], '{}'::uuid[], '{}'::text[])")).resolves.toBeDefined();
    const { rows } = await db.pool.query(
      "SELECT has_function_privilege('ledgerline_worker', 'ledger_apply_batch(text, integer, bigint, bigint, bigint, jsonb)', 'EXECUTE') AS batch",
    );
    expect(rows[0].batch).toBe(true);
    // The API role never writes the ledger: no grant of its own, and none left to PUBLIC here.
    await expect(api.query("SELECT * FROM ledger_applied_keys('{}'::uuid[], '{}'::uuid[], '{}'::text[])")).rejects.toThrow(denied);
  });

  test('the API role cannot update a balance, insert an entry, or write transfers', async () => {
    await expect(api.query('UPDATE accounts SET balance = balance + 1000000 WHERE id = $1', [account])).rejects.toThrow(denied);
    await expect(api.query(INSERT_ENTRY, [account, 2, randomUUID(), 'CREDIT', 5, 15, 'USD', 0])).rejects.toThrow(denied);
    await expect(
      api.query(`INSERT INTO transfers (id, kind, status, amount, currency, principal, request_hash, source_partition, created_at) VALUES ($1, 'DEPOSIT', 'PROCESSING', 1, 'USD', 'x', 'h', 0, now())`, [randomUUID()]),
    ).rejects.toThrow(denied);
    await expect(api.query('DELETE FROM accounts WHERE id = $1', [account])).rejects.toThrow(denied);
    // Opening an account is its to do, but never with money in it: balance is not its column.
    await expect(
      api.query(`INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, balance) VALUES ($1, 'mallory', 'USER', 'USD', 0, 1000000)`, [randomUUID()]),
    ).rejects.toThrow(denied);
    // Nor a system account (no floor: overdraft_limit NULL), under any id: kind is not its column either.
    for (const kind of ['EXTERNAL', 'TRANSIT', 'USER']) {
      await expect(
        api.query(`INSERT INTO accounts (id, owner, kind, currency, overdraft_limit) VALUES ($1, 'mallory', $2, 'USD', NULL)`, [randomUUID(), kind]),
      ).rejects.toThrow(denied);
    }
    const opened = randomUUID();
    await insertUserAccount(api, { id: opened, owner: 'bob', currency: 'USD', overdraftLimit: 0n, metadata: {}, requestHash: 'h' });
    expect((await db.pool.query('SELECT balance, seq, kind FROM accounts WHERE id = $1', [opened])).rows[0]).toEqual({ balance: '0', seq: '0', kind: 'USER' });
    expect((await db.pool.query('SELECT balance FROM accounts WHERE id = $1', [account])).rows[0].balance).toBe('10');
  });

  // An outside audit: as the worker it changed an account's owner (reconcile saw nothing, and
  // the new owner could spend), a COMPLETED transfer's amount, an account's id and currency.
  test('the worker role updates only the columns the batch write changes: never who owns an account, its id or currency, nor a transfer\'s parties or amount', async () => {
    const transfer = randomUUID();
    const payee = randomUUID();
    await insertUserAccount(db.pool, { id: payee, owner: 'bob', currency: 'USD', overdraftLimit: 0n, metadata: {}, requestHash: 'h' });
    await db.pool.query(
      `INSERT INTO transfers (id, kind, status, from_account_id, to_account_id, amount, currency, principal, request_hash, source_partition, created_at, completed_at)
       VALUES ($1, 'TRANSFER', 'COMPLETED', $2, $3, 5, 'USD', 'alice', 'h', 0, now(), now())`,
      [transfer, account, payee],
    );
    for (const forged of [
      [`UPDATE accounts SET owner = 'mallory' WHERE id = $1`, account],
      [`UPDATE accounts SET id = gen_random_uuid() WHERE id = $1`, account],
      [`UPDATE accounts SET currency = 'EUR' WHERE id = $1`, account],
      [`UPDATE accounts SET kind = 'EXTERNAL' WHERE id = $1`, account],
      [`UPDATE transfers SET amount = amount + 1 WHERE id = $1`, transfer],
      [`UPDATE transfers SET to_account_id = gen_random_uuid() WHERE id = $1`, transfer],
      [`UPDATE transfers SET principal = 'mallory' WHERE id = $1`, transfer],
      [`UPDATE holds SET amount = amount + 1 WHERE account_id = $1`, account],
      [`UPDATE holds SET account_id = gen_random_uuid() WHERE account_id = $1`, account],
      [`UPDATE transfer_reversals SET transfer_id = gen_random_uuid() WHERE transfer_id = $1`, transfer],
    ] as const) {
      await expect(worker.query(forged[0], [forged[1]])).rejects.toThrow(denied);
    }
    expect((await db.pool.query('SELECT owner, currency FROM accounts WHERE id = $1', [account])).rows[0]).toEqual({ owner: 'alice', currency: 'USD' });
    // What the batch write changes, it still may (a transfer while PROCESSING: 0036).
    const inFlight = randomUUID();
    await db.pool.query(
      `INSERT INTO transfers (id, kind, status, from_account_id, to_account_id, amount, currency, principal, request_hash, source_partition, created_at)
       VALUES ($1, 'TRANSFER', 'PROCESSING', $2, $3, 5, 'USD', 'alice', 'h', 0, now())`,
      [inFlight, account, payee],
    );
    await worker.query(`UPDATE transfers SET status = 'COMPLETED', reason = NULL, completed_at = now() WHERE id = $1`, [inFlight]);
    await worker.query(`UPDATE accounts SET held = 0, rev = rev, status = 'OPEN', overdraft_limit = 0, updated_at = now() WHERE id = $1`, [account]);
    await worker.query(`INSERT INTO transfer_reversals (transfer_id, reversed_amount) VALUES ($1, 0)
                        ON CONFLICT (transfer_id) DO UPDATE SET reversed_amount = excluded.reversed_amount, updated_at = now()`, [transfer]);
    await worker.query(`UPDATE transfer_reversals SET reversed_amount = 1, updated_at = now() WHERE transfer_id = $1`, [transfer]);
  });

  // An outside audit: a VOIDED hold brought back to HELD, with the account's held raised to
  // match, passes reconcile (each row agrees with the others). Migration 0036.
  test('what has ended stays ended for the worker role: a COMPLETED or REJECTED transfer, a hold no longer HELD, a CLOSED account; the owner may still repair', async () => {
    const owner = randomUUID();
    const payee = randomUUID();
    await insertUserAccount(db.pool, { id: owner, owner: 'carol', currency: 'USD', overdraftLimit: 0n, metadata: {}, requestHash: 'h' });
    await insertUserAccount(db.pool, { id: payee, owner: 'dave', currency: 'USD', overdraftLimit: 0n, metadata: {}, requestHash: 'h' });
    const ended = { completed: randomUUID(), rejected: randomUUID() };
    for (const [id, status] of [[ended.completed, 'COMPLETED'], [ended.rejected, 'REJECTED']] as const) {
      await db.pool.query(
        `INSERT INTO transfers (id, kind, status, reason, from_account_id, to_account_id, amount, currency, principal, request_hash, source_partition, created_at, completed_at)
         VALUES ($1, 'TRANSFER', $2, $3, $4, $5, 5, 'USD', 'carol', 'h', 0, now(), now())`,
        [id, status, status === 'REJECTED' ? 'INSUFFICIENT_FUNDS' : null, owner, payee],
      );
    }
    const hold = randomUUID();
    await db.pool.query(
      `INSERT INTO holds (id, account_id, bucket, amount, currency, status, principal, request_hash, partition, expires_at, created_at, completed_at)
       VALUES ($1, $2, 0, 5, 'USD', 'VOIDED', 'carol', 'h', 0, now(), now(), now())`,
      [hold, owner],
    );
    await db.pool.query(`UPDATE accounts SET status = 'CLOSED' WHERE id = $1`, [payee]);
    const endedRow = /has ended \((COMPLETED|REJECTED|VOIDED|CLOSED)\): it does not change again/;
    for (const forged of [
      [`UPDATE transfers SET status = 'REJECTED', reason = 'INSUFFICIENT_FUNDS' WHERE id = $1`, ended.completed],
      [`UPDATE transfers SET completed_at = now() WHERE id = $1`, ended.completed],
      [`UPDATE transfers SET status = 'COMPLETED', reason = NULL WHERE id = $1`, ended.rejected],
      [`UPDATE holds SET status = 'HELD', completed_at = NULL WHERE id = $1`, hold],
      [`UPDATE accounts SET status = 'OPEN' WHERE id = $1`, payee],
    ] as const) {
      await expect(worker.query(forged[0], [forged[1]])).rejects.toThrow(endedRow);
    }
    expect((await db.pool.query('SELECT status FROM holds WHERE id = $1', [hold])).rows[0].status).toBe('VOIDED');
    // A closed account's row may still be written (its rev, a zero balance), only not reopened.
    await worker.query(`UPDATE accounts SET updated_at = now() WHERE id = $1`, [payee]);
    // The owner repairs knowingly.
    await db.pool.query(`UPDATE holds SET status = 'EXPIRED' WHERE id = $1`, [hold]);
    await db.pool.query(`UPDATE accounts SET status = 'OPEN' WHERE id = $1`, [payee]);
  });

  test('the worker role cannot update, delete or truncate an entry (the privilege refuses, before the trigger)', async () => {
    await expect(worker.query('UPDATE entries SET amount = 1000000 WHERE account_id = $1', [account])).rejects.toThrow(denied);
    await expect(worker.query('DELETE FROM entries WHERE account_id = $1', [account])).rejects.toThrow(denied);
    await expect(worker.query('TRUNCATE entries')).rejects.toThrow(denied);
    await expect(worker.query('ALTER TABLE entries DISABLE TRIGGER entries_append_only')).rejects.toThrow(/must be owner/);
    // What it is there for still works: appending, and moving the balance.
    await worker.query(INSERT_ENTRY, [account, 2, randomUUID(), 'CREDIT', 5, 15, 'USD', 0]);
    await worker.query('UPDATE accounts SET balance = 15, seq = 2 WHERE id = $1', [account]);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM entries WHERE account_id = $1', [account])).rows[0].n).toBe(2);
  });

  test('neither app writes the routing table: only ledgerctl does, as the owner (an outside security review)', async () => {
    for (const role of [worker, api]) {
      await expect(role.query('UPDATE routing_buckets SET partition = partition WHERE bucket = 0')).rejects.toThrow(denied);
      await expect(role.query('INSERT INTO routing_buckets (bucket, partition) VALUES (1000000, 0)')).rejects.toThrow(denied);
    }
    expect((await worker.query('SELECT count(*)::int AS n FROM routing_buckets')).rows[0].n).toBeGreaterThan(0);
  });

  test('the worker may delete outbox rows (the relay deletes what it published); the API may not', async () => {
    const inserted = await worker.query(`INSERT INTO outbox (source_partition, topic, message_key, payload) VALUES (0, 'events', 'k', '{}') RETURNING id`);
    const id = inserted.rows[0].id;
    await expect(api.query('DELETE FROM outbox WHERE id = $1', [id])).rejects.toThrow(denied);
    expect((await worker.query('DELETE FROM outbox WHERE source_partition = 0 AND id = $1', [id])).rowCount).toBe(1);
  });

  test('the worker moves a published dead letter to dead_letters (0025) and cannot change it there; the API only reads it', async () => {
    const inserted = await worker.query(`INSERT INTO outbox (source_partition, topic, target_partition, payload) VALUES (1, 'dead-letter', 0, '{"reason":"x"}') RETURNING id`);
    const id = BigInt(inserted.rows[0].id);
    await expect(api.query(`INSERT INTO dead_letters (id, source_partition, payload, created_at, published_at) VALUES (0, 0, '{}', now(), now())`)).rejects.toThrow(denied);
    await markOutboxPublished(worker, [{ sourcePartition: 1, id, topic: 'dead-letter' }]);
    expect((await api.query('SELECT count(*)::int AS n FROM dead_letters WHERE id = $1', [String(id)])).rows[0].n).toBe(1);
    await expect(worker.query(`UPDATE dead_letters SET payload = '{}' WHERE id = $1`, [String(id)])).rejects.toThrow(denied);
    await expect(worker.query('DELETE FROM dead_letters WHERE id = $1', [String(id)])).rejects.toThrow(denied);
  });

  test('a table a later migration adds gets its grants from the privileges step', async () => {
    await db.pool.query('CREATE TABLE later_feature (id int PRIMARY KEY, note text)');
    await db.pool.query('INSERT INTO later_feature VALUES (1, $1)', ['x']);
    // Readable and worker-writable at once (ALTER DEFAULT PRIVILEGES)...
    expect((await api.query('SELECT count(*)::int AS n FROM later_feature')).rows[0].n).toBe(1);
    // ...and after the step every migrate ends with, still exactly the documented defaults.
    expect(await applyPrivileges(db.pool)).toBe(true);
    expect((await api.query('SELECT count(*)::int AS n FROM later_feature')).rows[0].n).toBe(1);
    await worker.query('INSERT INTO later_feature VALUES (2, $1)', ['y']);
    await expect(api.query('INSERT INTO later_feature VALUES (3, $1)', ['z'])).rejects.toThrow(denied);
    await expect(worker.query('DELETE FROM later_feature')).rejects.toThrow(denied);
    // A grant made by hand does not outlive the next migrate.
    await db.pool.query('GRANT UPDATE ON entries TO ledgerline_api');
    await applyPrivileges(db.pool);
    await expect(api.query('UPDATE entries SET amount = 1 WHERE account_id = $1', [account])).rejects.toThrow(denied);
  });
});
