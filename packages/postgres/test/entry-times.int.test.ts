// The time reads of an account's entries (the balance at an instant, the ends of an entries
// window) find their seq by bisection over the primary key (migration 0016), not by an index
// on created_at. Checked here against the plain definition ("the highest seq created before
// T") on every instant that matters: each entry's own time, a microsecond either side, before
// the first entry and after the last, with several entries sharing a time as a batch's do;
// and checked to stay a bisection: the rows it reads grow with log2 of the account's entries.
import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import { balanceAt, inTransaction, listEntries } from '../src';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';

const ENTRIES = 600;
/** The account's entries per distinct created_at: entries of one batch share its timestamp. */
const PER_INSTANT = 3;
const BASE_MICROS = 1_780_000_000_000_000n;

function isoMicros(micros: bigint): string {
  const ms = micros / 1000n;
  const rest = (micros % 1000n).toString().padStart(3, '0');
  return `${new Date(Number(ms)).toISOString().slice(0, -1)}${rest}Z`;
}

describe('entry times by bisection (ledger_entry_seq_before)', () => {
  let db: TestDatabase;
  const account = randomUUID();
  const empty = randomUUID();
  const gapped = randomUUID();
  /** created_at of seq i (1-based), in microseconds: non-decreasing, PER_INSTANT entries share one. */
  const micros = (seq: number) => BASE_MICROS + BigInt(Math.floor((seq - 1) / PER_INSTANT)) * 1_000n;

  beforeAll(async () => {
    db = await createTestDatabase(1);
    await db.pool.query(
      `INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, balance, seq)
       VALUES ($1, 'times', 'USER', 'USD', 0, $4, $4), ($2, 'times', 'USER', 'USD', 0, 0, 0), ($3, 'times', 'USER', 'USD', 0, 3, 3)`,
      [account, empty, gapped, ENTRIES],
    );
    const seqs = Array.from({ length: ENTRIES }, (_, i) => i + 1);
    await db.pool.query(
      `INSERT INTO entries (account_id, seq, transfer_id, leg, amount, balance_after, currency, partition, created_at)
       SELECT $1, s.seq, gen_random_uuid(), 'CREDIT', 1, s.seq, 'USD', 0, s.at
         FROM unnest($2::int8[], $3::timestamptz[]) AS s(seq, at)`,
      [account, seqs, seqs.map((s) => isoMicros(micros(s)))],
    );
    // Seqs 1, 2 and 4: a ledger whose seqs do not run 1..n (reconcile's seq-contiguous check).
    await db.pool.query(
      `INSERT INTO entries (account_id, seq, transfer_id, leg, amount, balance_after, currency, partition, created_at)
       SELECT $1, s, gen_random_uuid(), 'CREDIT', 1, s, 'USD', 0, now() FROM unnest('{1,2,4}'::int8[]) AS s`,
      [gapped],
    );
  });
  afterAll(async () => {
    await db.drop();
  });

  /** Every instant where the answer changes, and its neighbours. */
  function probes(): bigint[] {
    const out = new Set<bigint>([BASE_MICROS - 1_000_000n, micros(ENTRIES) + 1_000_000n]);
    for (let seq = 1; seq <= ENTRIES; seq += PER_INSTANT) {
      const at = micros(seq);
      out.add(at - 1n);
      out.add(at);
      out.add(at + 1n);
    }
    return [...out];
  }

  test('answers what "the highest seq created before (or at) T" means, at every instant that matters', async () => {
    const instants = probes().map(isoMicros);
    const { rows } = await db.pool.query<{ at: string; before: string; at_or_before: string; want_before: string; want_at_or_before: string }>(
      `SELECT p.at,
              ledger_entry_seq_before($1, p.at, false) AS before,
              ledger_entry_seq_before($1, p.at, true) AS at_or_before,
              (SELECT coalesce(max(seq), 0) FROM entries WHERE account_id = $1 AND created_at < p.at) AS want_before,
              (SELECT coalesce(max(seq), 0) FROM entries WHERE account_id = $1 AND created_at <= p.at) AS want_at_or_before
         FROM unnest($2::timestamptz[]) AS p(at)`,
      [account, instants],
    );
    expect(rows).toHaveLength(instants.length);
    const wrong = rows.filter((r) => r.before !== r.want_before || r.at_or_before !== r.want_at_or_before);
    expect(wrong).toEqual([]);
    // The probes cover both ends and the ties: the answers span 0..ENTRIES.
    expect(new Set(rows.map((r) => r.at_or_before))).toContain(String(ENTRIES));
    expect(new Set(rows.map((r) => r.before))).toContain('0');
  });

  test('the balance at an instant and an entries window read through it', async () => {
    // Seqs 4-6 share the second instant; at it, the balance is the last of them.
    expect(await balanceAt(db.pool, account, isoMicros(micros(4)))).toEqual({ seq: 6n, balance: 6n });
    expect(await balanceAt(db.pool, account, isoMicros(micros(4) - 1n))).toEqual({ seq: 3n, balance: 3n });
    expect(await balanceAt(db.pool, account, isoMicros(BASE_MICROS - 1n))).toEqual({ seq: 0n, balance: 0n });
    expect(await balanceAt(db.pool, empty, isoMicros(micros(ENTRIES)))).toEqual({ seq: 0n, balance: 0n });
    // [instant of seq 4, instant of seq 10): seqs 4..9, newest first, two pages.
    const window = { from: isoMicros(micros(4)), to: isoMicros(micros(10)) };
    const first = await listEntries(db.pool, account, { beforeSeq: null, ...window, limit: 4 });
    expect(first.map((e) => e.seq)).toEqual([9n, 8n, 7n, 6n]);
    const second = await listEntries(db.pool, account, { beforeSeq: 6n, ...window, limit: 4 });
    expect(second.map((e) => e.seq)).toEqual([5n, 4n]);
    expect(await listEntries(db.pool, empty, { beforeSeq: null, ...window, limit: 4 })).toEqual([]);
  });

  test('reads about log2(n) entries, not the account', async () => {
    const read = await inTransaction(db.pool, async (client: PoolClient) => {
      const returned = async () =>
        Number(
          (
            await client.query<{ n: string }>(
              `SELECT coalesce(sum(pg_stat_get_xact_tuples_returned(i.indexrelid)), 0) + (SELECT seq_tup_read FROM pg_stat_xact_user_tables WHERE relname = 'entries') AS n
                 FROM pg_index i WHERE i.indrelid = 'entries'::regclass`,
            )
          ).rows[0]!.n,
        );
      const before = await returned();
      await client.query('SELECT ledger_entry_seq_before($1, $2, true)', [account, isoMicros(micros(ENTRIES / 2))]);
      return (await returned()) - before;
    });
    // One probe for the newest seq, then one per halving.
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThanOrEqual(Math.ceil(Math.log2(ENTRIES)) + 2);
  });

  test('a probe that lands on a gap in the seqs is refused, not read past', async () => {
    await expect(db.pool.query('SELECT ledger_entry_seq_before($1, now() + interval \'1 day\', true)', [gapped])).rejects.toMatchObject({ code: 'XX001' });
  });
});
