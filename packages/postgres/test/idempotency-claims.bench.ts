/**
 * Benchmark: idempotency claims one upsert per claim (the API before group commit, its SQL
 * kept here as the baseline) against IdempotencyClaims, through PgBouncer like the API, with
 * the API's pool size and many requests in progress at once. Prints, per claim, the client's
 * CPU and, when this machine runs the test stack, Postgres's and PgBouncer's CPU. Not a test
 * (not run by jest); with the test stack up and a migrated template database:
 *
 *   eval "$(LL_PROFILE=test bash infra/local/stack.sh env)"
 *   LL_TEST_TEMPLATE_DB=tpl_api_helper npx tsx packages/postgres/test/idempotency-claims.bench.ts
 *
 * Every simulated request claims again as soon as its claim is answered, so claims arrive in
 * waves: batches come out larger than an API with the same number of requests in progress
 * would form, where requests also spend time in auth, Kafka and Redis.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import type { Pool } from 'pg';
import { IdempotencyClaims, createPool } from '../src';
import { createTestDatabase } from '../../../test/support/database';

const CLAIMS = 20_000;
/** Claims waiting at once; fewer means smaller batches (BENCH_IN_PROGRESS=8 is closer to a lightly loaded API). */
const REQUESTS_IN_PROGRESS = Number(process.env.BENCH_IN_PROGRESS ?? 200);
const POOL_CONNECTIONS = 20; // API_PG_CONNECTIONS_MAX's default
const STACK_DIR = process.env.LL_STACK_DIR ?? '/var/tmp/ledgerline/test';

const ONE_CLAIM_SQL = `INSERT INTO idempotency_keys (transfer_id, principal, request_hash) VALUES ($1, $2, $3)
 ON CONFLICT (transfer_id) DO UPDATE SET transfer_id = EXCLUDED.transfer_id
 RETURNING request_hash, (xmax = 0) AS inserted`;

type Claim = (transferId: string) => Promise<unknown>;

/** CPU seconds used so far by a process and (Postgres) the backends it forked. */
function cpuSecondsOf(rootPid: number | null): number {
  if (rootPid === null) return NaN;
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command name: state ppid ... utime(14) stime(15) cutime(16) cstime(17).
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ');
      const pid = Number(entry);
      if (pid !== rootPid && Number(fields[1]) !== rootPid) continue;
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / 100;
}

function pidFrom(path: string): number | null {
  try {
    return Number(readFileSync(path, 'utf8').split('\n')[0]);
  } catch {
    return null;
  }
}

async function run(name: string, claim: Claim): Promise<void> {
  const postgresPid = pidFrom(`${STACK_DIR}/postgres/data/postmaster.pid`);
  const pgbouncerPid = pidFrom(`${STACK_DIR}/pgbouncer/pgbouncer.pid`);
  const ids = Array.from({ length: CLAIMS }, () => randomUUID());
  let next = 0;
  const before = { client: process.cpuUsage(), postgres: cpuSecondsOf(postgresPid), pgbouncer: cpuSecondsOf(pgbouncerPid) };
  const started = performance.now();
  await Promise.all(
    Array.from({ length: REQUESTS_IN_PROGRESS }, async () => {
      while (next < ids.length) await claim(ids[next++]!);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const client = process.cpuUsage(before.client);
  const usPerClaim = (cpuSeconds: number) => ((cpuSeconds * 1e6) / CLAIMS).toFixed(1).padStart(6);
  process.stdout.write(
    `${name.padEnd(28)} ${Math.round(CLAIMS / seconds)
      .toString()
      .padStart(6)} claims/s   CPU per claim (µs): client ${usPerClaim((client.user + client.system) / 1e6)}, postgres ${usPerClaim(
      cpuSecondsOf(postgresPid) - before.postgres,
    )}, pgbouncer ${usPerClaim(cpuSecondsOf(pgbouncerPid) - before.pgbouncer)}\n`,
  );
}

async function main(): Promise<void> {
  const db = await createTestDatabase(1);
  const pool: Pool = createPool({ connectionString: db.url, connectionsMax: POOL_CONNECTIONS, connectTimeoutMs: 10_000, applicationName: 'bench' });
  try {
    const batched = new IdempotencyClaims(pool);
    const sizes: number[] = [];
    batched.onFlush = (size) => sizes.push(size);
    for (let round = 0; round < 2; round++) {
      // Round 0 warms up the connections and the JIT; round 1 is the one to read.
      process.stdout.write(`round ${round}${round === 0 ? ' (warm-up)' : ''}: ${CLAIMS} distinct claims, ${REQUESTS_IN_PROGRESS} in progress, pool ${POOL_CONNECTIONS}\n`);
      await run('one upsert per claim', (id) => pool.query(ONE_CLAIM_SQL, [id, 'bench', 'h']));
      sizes.length = 0;
      await run('IdempotencyClaims (batched)', (id) => batched.claim(id, 'bench', 'h'));
      process.stdout.write(`  statements ${sizes.length}, mean batch ${(CLAIMS / sizes.length).toFixed(1)}, max ${Math.max(...sizes)}\n`);
    }
  } finally {
    await pool.end();
    await db.drop();
  }
}

void main();
