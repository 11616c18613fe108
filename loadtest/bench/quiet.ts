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
  /** Transfers timed after the warm-up, the censored ones included. */
  n: number;
  /** No 202, or (censored too) no COMPLETED by the end of the long poll. */
  failures: number;
  /**
   * Acked transfers not COMPLETED when their long poll ended (or it failed): counted at what
   * they waited (LONG_POLL_MS, or less when the poll ended early), a lower bound of their
   * latency. Until an outside review they were left out, and the percentiles of the rest read
   * as the run's.
   */
  censored: number;
  /** The percentiles that depend on a censored sample: lower bounds, not the percentile. */
  lower_bounds: ('p50_ms' | 'p95_ms' | 'p99_ms')[];
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

/**
 * Latencies from the 202 to COMPLETED, some censored: a transfer not COMPLETED when its long
 * poll ended (or the poll failed) is kept at what it waited, a lower bound of its latency. Left
 * out, it would be exactly the slowest sample missing from the percentiles; kept, a percentile
 * that depends on it is reported as a lower bound. Which ones do is found by putting every
 * censored sample above all the others (as if it never completed): a percentile that moves is
 * a lower bound, one that does not is exact. What it waited is not always the long poll: a poll
 * that failed at once waited a few ms, and counting it at the poll's 5 s (as until an outside
 * review) made up a latency no transfer had, and marked a percentile a lower bound that is not one.
 */
export class CensoredSamples {
  private readonly samples: { ms: number; censored: boolean }[] = [];

  completed(ms: number): void {
    this.samples.push({ ms, censored: false });
  }

  notCompleted(waitedMs: number): void {
    this.samples.push({ ms: waitedMs, censored: true });
  }

  summary(): Pick<QuietResult, 'n' | 'censored' | 'lower_bounds' | 'p50_ms' | 'p95_ms' | 'p99_ms' | 'max_ms'> {
    const sorted = this.samples.map((s) => s.ms).sort((a, b) => a - b);
    const high = this.samples.map((s) => (s.censored ? Infinity : s.ms)).sort((a, b) => a - b);
    const at = { p50_ms: 50, p95_ms: 95, p99_ms: 99 } as const;
    return {
      n: sorted.length,
      censored: this.samples.filter((s) => s.censored).length,
      lower_bounds: (Object.keys(at) as (keyof typeof at)[]).filter((key) => percentileSorted(high, at[key]) !== percentileSorted(sorted, at[key])),
      p50_ms: round(percentileSorted(sorted, 50), 1),
      p95_ms: round(percentileSorted(sorted, 95), 1),
      p99_ms: round(percentileSorted(sorted, 99), 1),
      max_ms: round(sorted[sorted.length - 1], 1),
    };
  }
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
  const e2e = new CensoredSamples();
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
      const completed = await fetch(`${baseUrl}/v1/transfers/${accepted.id}?wait_ms=${LONG_POLL_MS}`, {
        headers: { authorization: `Bearer ${adminToken}` },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      })
        .then(async (get) => ((await get.json()) as { status?: string }).status === 'COMPLETED')
        .catch(() => false);
      const seenAt = performance.now();
      if (!completed) failures++;
      if (i >= warmup) {
        acks.push(ackedAt - sentAt);
        if (completed) e2e.completed(seenAt - ackedAt);
        else e2e.notCompleted(seenAt - ackedAt);
      }
    } catch {
      failures++;
    }
  }
  acks.sort((a, b) => a - b);
  const latency = e2e.summary();
  const db = await ctx.pool.query(
    `SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at) * 1000) AS p
       FROM transfers WHERE description = $1 AND status = 'COMPLETED'`,
    [tag],
  );
  const dbP = (db.rows[0]?.p as (number | string)[] | null)?.map(Number) ?? [null, null];
  const result: QuietResult = {
    rate_per_s: rate,
    failures,
    ...latency,
    ack_p50_ms: round(percentileSorted(acks, 50), 1),
    ack_p99_ms: round(percentileSorted(acks, 99), 1),
    db_p50_ms: round(dbP[0], 1),
    db_p99_ms: round(dbP[1], 1),
  };
  log(
    `e2e quiet: ${result.n} sequential cross-partition transfers at ${rate}/s: 202 -> COMPLETED p50/p95/p99/max ${result.p50_ms}/${result.p95_ms}/${result.p99_ms}/${result.max_ms} ms; ` +
      `ack p50/p99 ${result.ack_p50_ms}/${result.ack_p99_ms} ms; Postgres clocks p50/p99 ${result.db_p50_ms}/${result.db_p99_ms} ms; ${failures} failures, ${result.censored} not COMPLETED within their ${LONG_POLL_MS} ms poll (counted at what they waited: lower bounds ${result.lower_bounds.join(', ') || 'none'})`,
  );
  return result;
}
