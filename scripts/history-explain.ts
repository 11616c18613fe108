/**
 * Builds a ledger of ENTRIES_TOTAL (default 1,200,000) entries and TRANSFERS_TOTAL (600,000)
 * transfers in a database of its own, then shows the plans of the history and point-in-time
 * reads (EXPLAIN (ANALYZE, BUFFERS)) and times them through PgBouncer, the way the API runs
 * them (packages/postgres/src/ledger-reads.ts). The indexes of migration 0008 were chosen
 * from these plans, and migration 0016 replaced the one on entries' created_at with a
 * bisection over the primary key after comparing them here.
 *
 *   eval "$(LL_PROFILE=ws3 bash infra/local/stack.sh env)"
 *   npx tsx scripts/history-explain.ts [--keep] [--entries 1200000] [--transfers 600000] [--runs 300]
 *
 * The shape is what makes the reads hard: one merchant account holds a sixth of all entries
 * and is the destination of a third of all transfers (a long history to seek into); the rest
 * is spread over 20,000 accounts. Rows are written with SQL (generate_series), not through
 * the pipeline: this measures reads, and building a million entries through Kafka would take
 * minutes of a shared machine. The database is dropped at the end unless --keep.
 */
import { parseArgs } from 'node:util';
import type { Pool } from 'pg';
import { STORED_TRANSFER_STATUSES, TRANSFER_KINDS } from '@ledgerline/domain';
import {
  BALANCE_AT_SQL,
  ENTRIES_SQL,
  HISTORY_SQL,
  balanceAt,
  createPool,
  ensureRouting,
  listAccountTransfers,
  listEntries,
  migrate,
  runAdminStatement,
  withDatabase,
} from '@ledgerline/postgres';

const MERCHANT = '00000000-0000-4000-8000-000000000001';
const ACCOUNTS = 20_000;
const START = '2026-01-01T00:00:00Z';
const SPAN_S = 30 * 86_400;

const { values: args } = parseArgs({
  options: {
    keep: { type: 'boolean', default: false },
    entries: { type: 'string', default: '1200000' },
    transfers: { type: 'string', default: '600000' },
    runs: { type: 'string', default: '300' },
  },
});

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: eval "$(LL_PROFILE=<profile> bash infra/local/stack.sh env)" first`);
  return value;
}

async function build(pool: Pool, entriesTotal: number, transfersTotal: number): Promise<void> {
  const merchantEntries = Math.floor(entriesTotal / 6);
  const perAccount = Math.ceil((entriesTotal - merchantEntries) / ACCOUNTS);
  const step = (count: number) => SPAN_S / count;
  const statements: [string, string][] = [
    [
      'accounts',
      `INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, request_hash, created_at)
       SELECT CASE WHEN n = 0 THEN '${MERCHANT}'::uuid ELSE gen_random_uuid() END,
              CASE WHEN n = 0 THEN 'merchant' ELSE 'user-' || (n % 5000) END, 'USER', 'USD', 0, 'explain',
              '${START}'::timestamptz
         FROM generate_series(0, ${ACCOUNTS}) AS n`,
    ],
    ['numbering', `CREATE TEMP TABLE numbered AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM accounts WHERE kind = 'USER'`],
    [
      'merchant entries',
      `INSERT INTO entries (account_id, seq, transfer_id, leg, amount, balance_after, currency, partition, created_at)
       SELECT '${MERCHANT}', s, gen_random_uuid(), 'CREDIT', 100, 100 * s, 'USD', 0,
              '${START}'::timestamptz + make_interval(secs => s * ${step(merchantEntries)})
         FROM generate_series(1, ${merchantEntries}) AS s`,
    ],
    [
      'other entries',
      `INSERT INTO entries (account_id, seq, transfer_id, leg, amount, balance_after, currency, partition, created_at)
       SELECT a.id, s, gen_random_uuid(), 'CREDIT', 7, 7 * s, 'USD', (a.n % 8)::int,
              '${START}'::timestamptz + make_interval(secs => s * ${step(perAccount)} + (a.n % 3600))
         FROM numbered a CROSS JOIN generate_series(1, ${perAccount}) AS s
        WHERE a.id <> '${MERCHANT}'`,
    ],
    [
      'transfers',
      // A third to the merchant, a tenth from it, the rest between users; 2% rejected,
      // 1% still processing, 1 in 50 a deposit.
      `INSERT INTO transfers (id, kind, status, reason, from_account_id, to_account_id, amount, currency, principal,
                              request_hash, source_partition, created_at, completed_at)
       SELECT gen_random_uuid(), k.kind,
              CASE WHEN t % 50 = 7 THEN 'REJECTED' WHEN t % 100 = 3 THEN 'PROCESSING' ELSE 'COMPLETED' END,
              CASE WHEN t % 50 = 7 THEN 'INSUFFICIENT_FUNDS' END,
              CASE WHEN k.kind = 'DEPOSIT' THEN NULL WHEN t % 10 = 1 THEN '${MERCHANT}'::uuid ELSE f.id END,
              CASE WHEN t % 3 = 0 THEN '${MERCHANT}'::uuid ELSE d.id END,
              100, 'USD', 'explain', 'explain', 0, k.at,
              CASE WHEN t % 100 = 3 AND t % 50 <> 7 THEN NULL ELSE k.at END
         FROM generate_series(1, ${transfersTotal}) AS t
         CROSS JOIN LATERAL (SELECT CASE WHEN t % 50 = 11 THEN 'DEPOSIT' ELSE 'TRANSFER' END AS kind,
                                    '${START}'::timestamptz + make_interval(secs => (t::float8 * ${SPAN_S} / ${transfersTotal})) AS at) k
         JOIN numbered f ON f.n = (t::int8 * 7919) % ${ACCOUNTS}
         JOIN numbered d ON d.n = (t::int8 * 104729 + 1) % ${ACCOUNTS}
        WHERE f.id <> d.id`,
    ],
  ];
  // One connection: the temp table must outlive the statement (PgBouncer transaction mode
  // would hand the next statement another server connection, so run them in one transaction).
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    for (const [what, sql] of statements) {
      const started = performance.now();
      const result = await client.query(sql);
      console.log(`  ${what}: ${result.rowCount ?? 0} rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

interface Probe {
  name: string;
  sql: string;
  params: unknown[];
  /** The same read as the API runs it. */
  run(): Promise<unknown>;
}

async function probes(pool: Pool): Promise<Probe[]> {
  const small = await pool.query(`SELECT id FROM accounts WHERE kind = 'USER' AND id <> $1 ORDER BY id LIMIT 1`, [MERCHANT]);
  const user = small.rows[0].id as string;
  const midMonth = '2026-01-16T12:34:56.789Z';
  const statuses = (status: string | null) => (status === null ? STORED_TRANSFER_STATUSES : [status]);
  const kinds = (kind: string | null) => (kind === null ? TRANSFER_KINDS : [kind]);
  const firstPage = await listAccountTransfers(pool, { accountId: MERCHANT, statuses: statuses(null), kinds: kinds(null), after: null, limit: 50 });
  const deepCursor = await pool.query(
    `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, id FROM transfers
      WHERE to_account_id = $1 ORDER BY created_at DESC, id DESC OFFSET 100000 LIMIT 1`,
    [MERCHANT],
  );
  const deep = { createdAt: deepCursor.rows[0].at as string, id: deepCursor.rows[0].id as string };
  const history = (name: string, accountId: string, status: string | null, kind: string | null, after: { createdAt: string; id: string } | null): Probe => ({
    name,
    sql: HISTORY_SQL,
    params: [accountId, after?.createdAt ?? null, after?.id ?? null, statuses(status), kinds(kind), 51],
    run: () => listAccountTransfers(pool, { accountId, statuses: statuses(status), kinds: kinds(kind), after, limit: 50 }),
  });
  return [
    {
      name: 'point in time, merchant (200k entries), mid-month',
      sql: BALANCE_AT_SQL,
      params: [MERCHANT, midMonth],
      run: () => balanceAt(pool, MERCHANT, midMonth),
    },
    {
      name: 'point in time, a user account, before its first entry',
      sql: BALANCE_AT_SQL,
      params: [user, '2025-12-31T00:00:00Z'],
      run: () => balanceAt(pool, user, '2025-12-31T00:00:00Z'),
    },
    history('history, merchant, first page', MERCHANT, null, null, null),
    history('history, merchant, page after the first', MERCHANT, null, null, firstPage.next),
    history('history, merchant, page 100,000 rows deep', MERCHANT, null, null, deep),
    history('history, merchant, status=REJECTED (2%)', MERCHANT, 'REJECTED', null, null),
    history('history, merchant, kind=TRANSFER status=COMPLETED', MERCHANT, 'COMPLETED', 'TRANSFER', null),
    history('history, merchant, kind=WITHDRAWAL (none)', MERCHANT, null, 'WITHDRAWAL', null),
    history('history, a user account, first page', user, null, null, null),
    {
      name: 'entries, merchant, from/to window of one day',
      sql: ENTRIES_SQL,
      params: [MERCHANT, null, '2026-01-10T00:00:00Z', '2026-01-11T00:00:00Z', 50],
      run: () => listEntries(pool, MERCHANT, { beforeSeq: null, from: '2026-01-10T00:00:00Z', to: '2026-01-11T00:00:00Z', limit: 50 }),
    },
    {
      name: 'entries, merchant, latest page (no window)',
      sql: ENTRIES_SQL,
      params: [MERCHANT, null, null, null, 50],
      run: () => listEntries(pool, MERCHANT, { beforeSeq: null, from: null, to: null, limit: 50 }),
    },
  ];
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function main(): Promise<void> {
  const entriesTotal = Number(args.entries);
  const transfersTotal = Number(args.transfers);
  const runs = Number(args.runs);
  const directUrl = required('DATABASE_DIRECT_URL');
  const name = 'll_history_explain';
  await runAdminStatement(directUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await runAdminStatement(directUrl, `CREATE DATABASE ${name} OWNER ledgerline_owner`);
  // The schema owner migrates and writes the data; the reads run as the API's role, as in production.
  const owner = createPool({ connectionString: withDatabase(required('OWNER_DATABASE_URL'), name), connectionsMax: 2, connectTimeoutMs: 10_000, applicationName: 'history-explain' });
  const pool = createPool({ connectionString: withDatabase(required('API_DATABASE_URL'), name), connectionsMax: 4, connectTimeoutMs: 10_000, applicationName: 'history-explain' });
  try {
    await migrate(owner);
    await ensureRouting(owner, 8);
    console.log(`building ${entriesTotal} entries and ${transfersTotal} transfers...`);
    await build(owner, entriesTotal, transfersTotal);
    // VACUUM sets the visibility map (as autovacuum would on a settled table); ANALYZE the stats.
    await runAdminStatement(withDatabase(directUrl, name), 'VACUUM ANALYZE');
    const counts = await pool.query(`SELECT (SELECT count(*) FROM entries) AS entries, (SELECT count(*) FROM transfers) AS transfers`);
    console.log(`ledger: ${counts.rows[0].entries} entries, ${counts.rows[0].transfers} transfers\n`);

    const rows: string[] = ['| read | p50 ms | p99 ms | max ms |', '|---|---|---|---|'];
    for (const probe of await probes(pool)) {
      const client = await pool.connect();
      let plan: string[];
      try {
        // One transaction so the plan comes from the same session that sees plan_cache_mode.
        await client.query('BEGIN');
        const explained = await client.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${probe.sql}`, probe.params);
        await client.query('COMMIT');
        plan = explained.rows.map((r) => String(r['QUERY PLAN']));
      } finally {
        client.release();
      }
      console.log(`## ${probe.name}\n${plan.join('\n')}\n`);
      for (let i = 0; i < 20; i++) await probe.run(); // warm the cache and the pool
      const timings: number[] = [];
      for (let i = 0; i < runs; i++) {
        const started = performance.now();
        await probe.run();
        timings.push(performance.now() - started);
      }
      timings.sort((a, b) => a - b);
      rows.push(`| ${probe.name} | ${percentile(timings, 50).toFixed(2)} | ${percentile(timings, 99).toFixed(2)} | ${timings[timings.length - 1]!.toFixed(2)} |`);
    }
    console.log(`Round trips through PgBouncer, ${runs} runs each (client-side wall time):\n${rows.join('\n')}`);
  } finally {
    await pool.end();
    await owner.end();
    if (!args.keep) await runAdminStatement(directUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
