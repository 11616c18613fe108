// A past instant reads the same balance forever (docs/api.md, the balance `?at=`; migration
// 0019). Two halves, each with its test:
//   * the writer stamps its entries only once it holds its partition's row: with the stamp
//     read before the row is locked (the clock read above the partition_state UPDATE in
//     ledger_apply_batch, or the transaction's start as before 0019) the first test fails;
//   * a time read first waits for the writers holding a partition's row: without the wait
//     (awaitEntriesSettled returning at once) the second test reads the figure before the
//     writer's commit, and the same instant read again afterwards says more.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool, PoolClient } from 'pg';
import { type PartitionClaim, EntriesUnsettledError, awaitEntriesSettled, balanceAt, claimPartition, writeBatch } from '../src';
import { noEffects } from '@ledgerline/domain';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';

const TOPIC = 'entries-settled';

describe('a past instant reads the same figure forever', () => {
  let db: TestDatabase;
  let payer: string;
  let payee: string;
  /** The seq each account's next entry takes. */
  const next = new Map<string, bigint>();
  const balances = new Map<string, bigint>();

  beforeAll(async () => {
    db = await createTestDatabase(1);
    payer = await openAccount();
    payee = await openAccount();
  });
  afterAll(async () => {
    await db.drop();
  });

  async function openAccount(): Promise<string> {
    const id = randomUUID();
    await db.pool.query(
      `INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, balance, seq) VALUES ($1, 'settled', 'USER', 'USD', 1000000, 0, 0)`,
      [id],
    );
    next.set(id, 1n);
    balances.set(id, 0n);
    return id;
  }

  /** A balanced pair of entries (payer -> payee), written through ledger_apply_batch as the worker writes. */
  async function movePair(client: Pool | PoolClient, amount: bigint, claimed?: PartitionClaim): Promise<string> {
    const claim: PartitionClaim = claimed ?? (await claimPartition(db.pool, TOPIC, 0, 'owner'));
    const transferId = randomUUID();
    const entry = (accountId: string, signed: bigint) => {
      const seq = next.get(accountId)!;
      const balanceAfter = balances.get(accountId)! + signed;
      next.set(accountId, seq + 1n);
      balances.set(accountId, balanceAfter);
      return { accountId, seq, transferId, step: signed < 0n ? ('DEBIT' as const) : ('CREDIT' as const), amount: signed, balanceAfter, currency: 'USD' };
    };
    await writeBatch(client, {
      claim,
      fromOffset: claim.nextOffset,
      toOffset: claim.nextOffset + 1n,
      before: new Map(),
      outbox: [],
      effects: { ...noEffects(), entries: [entry(payer, -amount), entry(payee, amount)] },
    });
    return transferId;
  }

  async function stampOf(client: PoolClient, transferId: string): Promise<string> {
    const { rows } = await client.query<{ at: string }>(
      `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at FROM entries WHERE transfer_id = $1 LIMIT 1`,
      [transferId],
    );
    return rows[0]!.at;
  }

  test("the writer stamps its entries after it holds its partition's row, not before it waited for it", async () => {
    // Another session holds the partition's row (as a write in flight does); the writer's
    // call blocks on it. The row is released only after the writer is seen waiting, and the
    // release's time is read just before it: an entry stamped once the row is held cannot be
    // older than that time; one stamped before the wait (or at the transaction's start) is.
    const claim = await claimPartition(db.pool, TOPIC, 0, 'owner'); // before the row is held: the claim writes it too
    const holder = await db.pool.connect();
    try {
      await holder.query('BEGIN');
      const held = await holder.query('UPDATE partition_state SET updated_at = now() WHERE topic = $1 AND partition = 0', [TOPIC]);
      expect(held.rowCount).toBe(1);
      const written = movePair(db.pool, 3n, claim);
      await waitForLockWaiters(1);
      const { rows } = await holder.query<{ released: string }>(
        `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS released`,
      );
      await holder.query('COMMIT');
      const transferId = await written;
      const reader = await db.pool.connect();
      try {
        const stamp = await stampOf(reader, transferId);
        expect({ stamp, notBefore: rows[0]!.released, ordered: stamp >= rows[0]!.released }).toMatchObject({ ordered: true });
      } finally {
        reader.release();
      }
    } finally {
      holder.release(true);
    }
  });

  /** Waits until `count` sessions of this database wait for a lock (the writer blocked on the held row). */
  async function waitForLockWaiters(count: number): Promise<void> {
    for (;;) {
      const { rows } = await db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      if (rows[0]!.n >= count) return;
      await sleep(10);
    }
  }

  test('a read of an instant waits for the write in flight that stamped entries at or before it', async () => {
    await movePair(db.pool, 100n); // committed at once
    const writer = await db.pool.connect();
    try {
      await writer.query('BEGIN');
      const transferId = await movePair(writer, 7n); // holds the partition's row until COMMIT
      const at = await stampOf(writer, transferId);
      while (Date.now() <= Date.parse(at) + 5) await sleep(1); // `at` has passed

      // The hazard: read now, the instant misses the entries of the write still in flight.
      const early = await balanceAt(db.pool, payee, at);

      let answered = false;
      const settledRead = awaitEntriesSettled(db.pool, at, { timeoutMs: 20_000, pollMs: 2, pollMaxMs: 20 })
        .then(() => balanceAt(db.pool, payee, at))
        .finally(() => {
          answered = true;
        });
      await sleep(300);
      expect(answered).toBe(false); // still waiting for the writer
      await writer.query('COMMIT');
      const settled = await settledRead;
      const later = await balanceAt(db.pool, payee, at);
      expect(settled).toEqual(later);
      expect(settled.balance).toBe(early.balance + 7n);
    } finally {
      writer.release(true); // closed, not pooled: a failed test must not leave its transaction open
    }
  });

  test('a write that holds its row past the wait ends the read with EntriesUnsettledError, and a rolled back one changes nothing', async () => {
    const writer = await db.pool.connect();
    try {
      await writer.query('BEGIN');
      const seqBefore = new Map(next);
      const balancesBefore = new Map(balances);
      const transferId = await movePair(writer, 1n);
      const at = await stampOf(writer, transferId);
      while (Date.now() <= Date.parse(at) + 5) await sleep(1);
      await expect(awaitEntriesSettled(db.pool, at, { timeoutMs: 100, pollMs: 5, pollMaxMs: 5 })).rejects.toBeInstanceOf(EntriesUnsettledError);
      await writer.query('ROLLBACK');
      for (const [k, v] of seqBefore) next.set(k, v);
      for (const [k, v] of balancesBefore) balances.set(k, v);
      await expect(awaitEntriesSettled(db.pool, at, { timeoutMs: 5_000, pollMs: 2, pollMaxMs: 20 })).resolves.toBeUndefined();
    } finally {
      writer.release(true); // closed, not pooled: a failed test must not leave its transaction open
    }
  });

  test('an instant the database clock has not reached yet is waited for, not read early', async () => {
    const { rows } = await db.pool.query<{ now: Date }>('SELECT clock_timestamp() AS now');
    const at = new Date(rows[0]!.now.getTime() + 150).toISOString();
    await awaitEntriesSettled(db.pool, at, { timeoutMs: 5_000, pollMs: 2, pollMaxMs: 20 });
    const after = await db.pool.query<{ passed: boolean }>('SELECT clock_timestamp() > $1::timestamptz AS passed', [at]);
    expect(after.rows[0]!.passed).toBe(true);
  });

  test("nothing takes share locks on partition_state: its rows' xmax is a plain xid, as the readers' wait assumes (0020)", async () => {
    const { rows } = await db.pool.query("SELECT conname FROM pg_constraint WHERE confrelid = 'partition_state'::regclass");
    expect(rows).toEqual([]); // a foreign key to it would take FOR KEY SHARE locks (MultiXactIds)
  });
});
