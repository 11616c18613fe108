/**
 * The ideal: PostgreSQL alone, on the same server and settings, applying money movements to
 * the smallest schema that still records a double entry. It is the physical limit the
 * product's ceiling is compared with (the target: ceiling / ideal >= 50%).
 *
 *   accounts  (id, balance)                            primary key id
 *   transfers (id, debit_account_id, credit_account_id, amount)   primary key id
 *   entries   (transfer_id, account_id, amount)        primary key (transfer_id, account_id)
 *
 * Each batch is ONE statement (so one transaction): 1,000 transfers sent as three arrays,
 * one transfer row and two entries each, and one balance UPDATE per account the batch
 * touches (amounts summed per account). Two writers, each on its own half of the accounts
 * (disjoint, so they never wait for each other's row locks), each on its own direct
 * connection to Postgres (no PgBouncer: nothing but the database). The batches' contents are
 * drawn before the clock starts, so the driver only sends. No checks (overdraft, status,
 * dedupe) and no outbox: what is left is what any ledger must write.
 *
 * Counted: transfers committed per second between the warm-up and the end; WAL bytes per
 * transfer over the same window (pg_current_wal_lsn).
 */
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { withDatabase } from '@ledgerline/postgres';
import { type BenchContext, cpuMeter } from './context';
import type { CpuReport } from './cpu';
import { log, percentileSorted, round } from './util';
import { seededRandom } from './workload';

/** Distinct pre-drawn batches per writer, reused in turn (with fresh transfer ids). */
const DRAWN_BATCHES = 16;
const AMOUNT_MAX = 100;

export interface IdealResult {
  per_s: number;
  writers: number;
  batch_transfers: number;
  accounts: number;
  duration_s: number;
  batches: number;
  commit_ms: { p50: number | null; p99: number | null };
  wal_bytes_per_transfer: number | null;
  cpu: CpuReport | null;
}

const SCHEMA = [
  'CREATE TABLE accounts (id integer PRIMARY KEY, balance bigint NOT NULL DEFAULT 0)',
  'CREATE TABLE transfers (id bigint PRIMARY KEY, debit_account_id integer NOT NULL, credit_account_id integer NOT NULL, amount bigint NOT NULL)',
  'CREATE TABLE entries (transfer_id bigint NOT NULL, account_id integer NOT NULL, amount bigint NOT NULL, PRIMARY KEY (transfer_id, account_id))',
];

/** One batch: $1 first transfer id - 1, $2 debit ids, $3 credit ids, $4 amounts. */
const APPLY_BATCH = `
WITH t AS (
  SELECT $1::bigint + n AS id, d, c, a FROM unnest($2::int[], $3::int[], $4::bigint[]) WITH ORDINALITY AS u(d, c, a, n)
), new_transfers AS (
  INSERT INTO transfers (id, debit_account_id, credit_account_id, amount) SELECT id, d, c, a FROM t
), new_entries AS (
  INSERT INTO entries (transfer_id, account_id, amount) SELECT id, d, -a FROM t UNION ALL SELECT id, c, a FROM t
), delta AS (
  SELECT account_id, sum(amount) AS amount FROM (SELECT d AS account_id, -a AS amount FROM t UNION ALL SELECT c, a FROM t) x GROUP BY account_id
)
UPDATE accounts SET balance = accounts.balance + delta.amount FROM delta WHERE accounts.id = delta.account_id`;

interface Drawn {
  debit: number[];
  credit: number[];
  amount: string[];
}

function drawBatches(writer: number, accountsPerWriter: number, size: number): Drawn[] {
  const random = seededRandom(5_000 + writer);
  const first = writer * accountsPerWriter;
  return Array.from({ length: DRAWN_BATCHES }, () => {
    const b: Drawn = { debit: [], credit: [], amount: [] };
    for (let i = 0; i < size; i++) {
      const d = Math.floor(random() * accountsPerWriter);
      const c = (d + 1 + Math.floor(random() * (accountsPerWriter - 1))) % accountsPerWriter;
      b.debit.push(first + d);
      b.credit.push(first + c);
      b.amount.push(String(1 + Math.floor(random() * AMOUNT_MAX)));
    }
    return b;
  });
}

async function walLsnBytes(client: Client): Promise<bigint> {
  const r = await client.query("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::text AS bytes");
  return BigInt(String(r.rows[0].bytes).split('.')[0]!);
}

export async function measureIdeal(ctx: BenchContext, rep: number): Promise<IdealResult> {
  const { idealWriters: writers, idealBatchTransfers: size, ceilingDurationS: durationS, ceilingWarmupS: warmupS } = ctx.plan;
  const accountsPerWriter = Math.max(2, Math.floor(ctx.plan.accounts / writers));
  const url = withDatabase(ctx.services.databaseDirectUrl, ctx.idealDb);
  const setup = new Client({ connectionString: url });
  await setup.connect();
  const clients: Client[] = [];
  try {
    await setup.query('DROP TABLE IF EXISTS entries, transfers, accounts');
    for (const statement of SCHEMA) await setup.query(statement);
    await setup.query('INSERT INTO accounts (id) SELECT generate_series(0, $1::int - 1)', [accountsPerWriter * writers]);
    await setup.query('VACUUM ANALYZE accounts');
    for (let w = 0; w < writers; w++) {
      const client = new Client({ connectionString: url, application_name: `bench-ideal-${w}` });
      await client.connect();
      clients.push(client);
    }
    const drawn = clients.map((_, w) => drawBatches(w, accountsPerWriter, size));
    const cpu = cpuMeter(ctx, {}, { 'bench-driver': [process.pid] });
    const started = performance.now();
    const measureFrom = started + warmupS * 1000;
    const measureTo = measureFrom + durationS * 1000;
    let batches = 0;
    const commitMs: number[] = [];
    let walStart: bigint | null = null;
    let measuring = false;
    let walBatches = 0;
    const startMeasuring = async () => {
      if (measuring) return;
      measuring = true;
      cpu.begin();
      walStart = await walLsnBytes(setup);
    };
    log(`ideal: ${writers} writers on disjoint halves of ${accountsPerWriter * writers} accounts, batches of ${size} transfers, ${warmupS} s warm-up + ${durationS} s`);
    await Promise.all(
      clients.map(async (client, w) => {
        // Transfer ids: each writer its own range, so the writers never collide.
        let nextId = BigInt(w) * 1_000_000_000_000n;
        for (let i = 0; performance.now() < measureTo; i++) {
          const b = drawn[w]![i % DRAWN_BATCHES]!;
          const t0 = performance.now();
          if (t0 >= measureFrom && !measuring) await startMeasuring();
          await client.query(APPLY_BATCH, [nextId.toString(), b.debit, b.credit, b.amount]);
          const t1 = performance.now();
          nextId += BigInt(size);
          if (walStart !== null) walBatches++;
          if (t0 >= measureFrom && t1 <= measureTo) {
            batches++;
            commitMs.push(t1 - t0);
          }
        }
      }),
    );
    const cpuReport = cpu.end();
    const walEnd = await walLsnBytes(setup);
    const sums = await setup.query('SELECT (SELECT sum(balance) FROM accounts)::text AS balances, (SELECT sum(amount) FROM entries)::text AS entries');
    if (sums.rows[0].balances !== '0' || sums.rows[0].entries !== '0') {
      throw new Error(`ideal: the double entry does not balance (accounts ${sums.rows[0].balances}, entries ${sums.rows[0].entries})`);
    }
    commitMs.sort((a, b) => a - b);
    const transfers = batches * size;
    const result: IdealResult = {
      per_s: Math.round(transfers / durationS),
      writers,
      batch_transfers: size,
      accounts: accountsPerWriter * writers,
      duration_s: durationS,
      batches,
      commit_ms: { p50: round(percentileSorted(commitMs, 50), 1), p99: round(percentileSorted(commitMs, 99), 1) },
      wal_bytes_per_transfer: walStart !== null && walBatches > 0 ? Math.round(Number(walEnd - walStart) / (walBatches * size)) : null,
      cpu: cpuReport,
    };
    log(`ideal: ${result.per_s} transfers/s (${batches} batches, commit p50/p99 ${result.commit_ms.p50}/${result.commit_ms.p99} ms, ${result.wal_bytes_per_transfer} WAL bytes per transfer) [rep ${rep}]`);
    return result;
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await setup.end();
  }
}
