/**
 * The goals' figures of every full run committed as `loadtest/results/latest.json`, newest
 * first, as one Markdown table (the README's "The goals, run by run"). Reads the file's git
 * history, so it needs a clone with history:
 *
 *   npm run bench:history
 *
 * Quick runs (`--quick`) are left out: the goals name the full run.
 */
import { execFileSync } from 'node:child_process';

const RESULTS = 'loadtest/results/latest.json';

/** The keys of latest.json this table reads; every one is absent from some older runs. */
interface CommittedRun {
  mode?: string;
  run_id?: string;
  started_at?: string;
  git?: { commit?: string };
  e2e_quiet?: { p50_ms: number; p99_ms: number };
  cpu_ms_per_transfer?: { total: number; offered_per_s: number };
  ingest_capacity_per_s?: { ours: number; baseline: number };
  batch_ingest?: { rate_per_s?: number; p99_ms?: number };
  drain?: { uniform_per_s: number; hot_per_s: number; uniform_settled_per_s?: number | null; hot_settled_per_s?: number | null };
  ceiling?: { per_s: number };
  ideal?: { per_s: number };
  wal_bytes_per_transfer?: number;
  baseline?: { uniform_per_s: number; hot_per_s: number };
  /** Runs before the settled keys existed carry the per-run figure here. */
  details?: { drain?: { uniform?: { settled_per_s: number | null }[]; hot?: { settled_per_s: number | null }[] } };
}

/** Median (the lower of an even count) of the runs' settled rates, as report.ts takes it. */
function medianOf(values: (number | null)[]): number | null {
  const sorted = values.filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

/**
 * Transfers COMPLETED per second, both legs, until the whole backlog is terminal: the unit of
 * the ceiling and the baseline. `uniform_per_s`/`hot_per_s` count the backlog's own commands
 * (a cross-partition transfer's debit leg) and stop before most credit legs are applied.
 */
function settled(run: CommittedRun): { uniform: number | null; hot: number | null } {
  const d = run.drain;
  return {
    uniform: d?.uniform_settled_per_s ?? medianOf((run.details?.drain?.uniform ?? []).map((r) => r.settled_per_s)),
    hot: d?.hot_settled_per_s ?? medianOf((run.details?.drain?.hot ?? []).map((r) => r.settled_per_s)),
  };
}

const git = (...args: string[]): string => execFileSync('git', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const n = (x: number): string => Math.round(x).toLocaleString('en-US');
/** A phase that did not run, or reported itself not available, has no figure. */
const has = <T extends object>(x: T | undefined): x is T => typeof x === 'object' && x !== null && !('not_available' in x);

function row(run: CommittedRun): string[] {
  const { e2e_quiet: quiet, cpu_ms_per_transfer: cpu, ingest_capacity_per_s: capacity, batch_ingest: batch, drain, ceiling, ideal, baseline } = run;
  const done = settled(run);
  return [
    `${run.started_at?.slice(0, 16).replace('T', ' ') ?? '?'} (\`${run.run_id ?? '?'}\`, tree \`${run.git?.commit?.slice(0, 7) ?? '?'}\`)`,
    has(quiet) ? `${quiet.p50_ms} / ${quiet.p99_ms}` : '',
    has(cpu) ? `${cpu.total} at ${cpu.offered_per_s}/s` : '',
    has(capacity) ? `${n(capacity.ours)} / ${n(capacity.baseline)} (${(capacity.ours / capacity.baseline).toFixed(2)}x)` : '',
    has(batch) && batch.rate_per_s !== undefined && batch.p99_ms !== undefined ? `${n(batch.rate_per_s)}, p99 ${n(batch.p99_ms)} ms` : '',
    has(drain) ? `${n(drain.uniform_per_s)} / ${n(drain.hot_per_s)}` : '',
    done.uniform !== null && done.hot !== null ? `${n(done.uniform)} / ${n(done.hot)} (${Math.round((100 * done.hot) / done.uniform)}%)` : '',
    done.uniform !== null && has(ceiling) ? `${Math.round((100 * done.uniform) / ceiling.per_s)}%` : '',
    has(ceiling) && has(ideal) ? `${n(ceiling.per_s)} / ${n(ideal.per_s)} (${((100 * ceiling.per_s) / ideal.per_s).toFixed(1)}%)` : '',
    typeof run.wal_bytes_per_transfer === 'number' ? n(run.wal_bytes_per_transfer) : '',
    has(baseline) ? `${n(baseline.uniform_per_s)} / ${n(baseline.hot_per_s)}${done.hot !== null ? `; hot drain ${(done.hot / baseline.hot_per_s).toFixed(1)}x` : ''}` : '',
  ];
}

function main(): void {
  const commits = git('log', '--format=%h', '--', RESULTS).trim().split('\n').filter(Boolean);
  const lines = [
    '| full run (UTC start, run id, tree) | 1: quiet p50 / p99 ms | 2: CPU ms per transfer | 3: capacity ours / baseline, per s | 4: batch items/s accepted | 5: drains uniform / hot, backlog commands/s | 5: drains uniform / hot, transfers COMPLETED/s (hot vs uniform) | 5: uniform vs ceiling (transfers/s) | 6: ceiling / ideal, per s | 6: WAL bytes per transfer | row-lock baseline uniform / hot, per s (hot drain in transfers/s vs it) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const commit of commits) {
    let run: CommittedRun;
    try {
      run = JSON.parse(git('show', `${commit}:${RESULTS}`)) as CommittedRun;
    } catch {
      continue; // not JSON at that commit
    }
    if (run.mode === 'full') lines.push(`| ${row(run).join(' | ')} |`);
  }
  console.log(lines.join('\n'));
}

main();
