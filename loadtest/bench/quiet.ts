/**
 * Quiet latency (`e2e_quiet`): one cross-partition transfer at a time, started every
 * 1/rate seconds (20/s), on an otherwise idle system; the client measures from the 202 to
 * seeing COMPLETED through a long poll. This is what a single payment waits when nothing
 * else is going on: two worker hops (debit leg, relay, credit leg), each a Kafka fetch, a
 * Postgres commit and the Redis wake-up, with no batching to wait for.
 *
 * Driven from the bench process itself (keep-alive HTTP, one request at a time) rather than
 * k6: the source and destination must sit on different partitions, which only the driver
 * knows (the routing table). A transfer slower than the interval delays the next one
 * (sequential, never two at once). The first second is a warm-up and is not counted.
 */
import { performance } from 'node:perf_hooks';
import type { BenchContext } from './context';
import { ADMIN_SCOPE, type FixtureAccount, type TokenCache, USER_SCOPE } from './fixture';
import { log, percentileSorted, round, sleep } from './util';
import { seededRandom } from './workload';

const LONG_POLL_MS = 5_000;
const REQUEST_TIMEOUT_MS = 15_000;

export interface QuietResult {
  rate_per_s: number;
  n: number;
  failures: number;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
  /** The 202 alone (POST round trip). */
  ack_p50_ms: number | null;
  ack_p99_ms: number | null;
  /** Postgres clocks: completed_at - created_at of the same transfers (worker-side share). */
  db_p50_ms: number | null;
  db_p99_ms: number | null;
}

/** A pair whose ends live on different partitions, drawn from the fixture. */
export function crossPartitionPair(ctx: BenchContext, random: () => number): { from: FixtureAccount; to: FixtureAccount } {
  const accounts = ctx.fixture.accounts;
  const pick = () => accounts[Math.floor(random() * accounts.length)]!;
  for (;;) {
    const from = pick();
    const to = pick();
    if (ctx.routing.partitionOf(from.id) !== ctx.routing.partitionOf(to.id)) return { from, to };
  }
}

export async function measureQuiet(ctx: BenchContext, tokens: TokenCache, rep: number): Promise<QuietResult> {
  const { quietRatePerS: rate, quietDurationS } = ctx.plan;
  const baseUrl = `http://127.0.0.1:${ctx.plan.apiPort}`;
  const tag = `${ctx.runId}-quiet-${rep}`;
  const random = seededRandom(4_000 + rep);
  const adminToken = await tokens.get(ctx.fixture.admin, ADMIN_SCOPE);
  const intervalMs = 1000 / rate;
  const warmup = rate; // one second
  const total = warmup + rate * quietDurationS;
  const e2e: number[] = [];
  const acks: number[] = [];
  let failures = 0;
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const wait = t0 + i * intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    const { from, to } = crossPartitionPair(ctx, random);
    const sentAt = performance.now();
    try {
      const post = await fetch(`${baseUrl}/v1/transfers`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await tokens.get(from.owner, USER_SCOPE)}`,
          'content-type': 'application/json',
          'idempotency-key': `${tag}-${i}`,
        },
        body: JSON.stringify({ from_account_id: from.id, to_account_id: to.id, amount: '1', currency: ctx.fixture.currency, description: tag }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const accepted = (await post.json()) as { id?: string };
      const ackedAt = performance.now();
      if (post.status !== 202 || typeof accepted.id !== 'string') {
        failures++;
        continue;
      }
      const get = await fetch(`${baseUrl}/v1/transfers/${accepted.id}?wait_ms=${LONG_POLL_MS}`, {
        headers: { authorization: `Bearer ${adminToken}` },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const state = (await get.json()) as { status?: string };
      const seenAt = performance.now();
      if (state.status !== 'COMPLETED') {
        failures++;
        continue;
      }
      if (i >= warmup) {
        acks.push(ackedAt - sentAt);
        e2e.push(seenAt - ackedAt);
      }
    } catch {
      failures++;
    }
  }
  e2e.sort((a, b) => a - b);
  acks.sort((a, b) => a - b);
  const db = await ctx.pool.query(
    `SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at) * 1000) AS p
       FROM transfers WHERE description = $1 AND status = 'COMPLETED'`,
    [tag],
  );
  const dbP = (db.rows[0]?.p as (number | string)[] | null)?.map(Number) ?? [null, null];
  const result: QuietResult = {
    rate_per_s: rate,
    n: e2e.length,
    failures,
    p50_ms: round(percentileSorted(e2e, 50), 1),
    p95_ms: round(percentileSorted(e2e, 95), 1),
    p99_ms: round(percentileSorted(e2e, 99), 1),
    max_ms: round(e2e[e2e.length - 1], 1),
    ack_p50_ms: round(percentileSorted(acks, 50), 1),
    ack_p99_ms: round(percentileSorted(acks, 99), 1),
    db_p50_ms: round(dbP[0], 1),
    db_p99_ms: round(dbP[1], 1),
  };
  log(
    `e2e quiet: ${result.n} sequential cross-partition transfers at ${rate}/s: 202 -> COMPLETED p50/p95/p99/max ${result.p50_ms}/${result.p95_ms}/${result.p99_ms}/${result.max_ms} ms; ` +
      `ack p50/p99 ${result.ack_p50_ms}/${result.ack_p99_ms} ms; Postgres clocks p50/p99 ${result.db_p50_ms}/${result.db_p99_ms} ms; ${failures} failures`,
  );
  return result;
}
