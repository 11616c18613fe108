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
  drain?: { uniform_per_s: number; hot_per_s: number };
  ceiling?: { per_s: number };
  ideal?: { per_s: number };
  wal_bytes_per_transfer?: number;
  baseline?: { uniform_per_s: number; hot_per_s: number };
}

const git = (...args: string[]): string => execFileSync('git', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const n = (x: number): string => Math.round(x).toLocaleString('en-US');
/** A phase that did not run, or reported itself not available, has no figure. */
const has = <T extends object>(x: T | undefined): x is T => typeof x === 'object' && x !== null && !('not_available' in x);

function row(run: CommittedRun): string[] {
  const { e2e_quiet: quiet, cpu_ms_per_transfer: cpu, ingest_capacity_per_s: capacity, batch_ingest: batch, drain, ceiling, ideal, baseline } = run;
  return [
    `${run.started_at?.slice(0, 16).replace('T', ' ') ?? '?'} (\`${run.run_id ?? '?'}\`, tree \`${run.git?.commit?.slice(0, 7) ?? '?'}\`)`,
    has(quiet) ? `${quiet.p50_ms} / ${quiet.p99_ms}` : '',
    has(cpu) ? `${cpu.total} at ${cpu.offered_per_s}/s` : '',
    has(capacity) ? `${capacity.ours} / ${capacity.baseline} (${(capacity.ours / capacity.baseline).toFixed(2)}x)` : '',
    has(batch) && batch.rate_per_s !== undefined && batch.p99_ms !== undefined ? `${n(batch.rate_per_s)}, p99 ${n(batch.p99_ms)} ms` : '',
    has(drain) ? `${n(drain.uniform_per_s)} / ${n(drain.hot_per_s)} (${Math.round((100 * drain.hot_per_s) / drain.uniform_per_s)}%)` : '',
    has(drain) && has(ceiling) ? `${Math.round((100 * drain.uniform_per_s) / ceiling.per_s)}%` : '',
    has(ceiling) && has(ideal) ? `${n(ceiling.per_s)} / ${n(ideal.per_s)} (${((100 * ceiling.per_s) / ideal.per_s).toFixed(1)}%)` : '',
    typeof run.wal_bytes_per_transfer === 'number' ? n(run.wal_bytes_per_transfer) : '',
    has(baseline) && has(drain) ? `${n(baseline.uniform_per_s)} / ${n(baseline.hot_per_s)}; hot drain ${(drain.hot_per_s / baseline.hot_per_s).toFixed(1)}x` : '',
  ];
}

function main(): void {
  const commits = git('log', '--format=%h', '--', RESULTS).trim().split('\n').filter(Boolean);
  const lines = [
    '| full run (UTC start, run id, tree) | 1: quiet p50 / p99 ms | 2: CPU ms per transfer | 3: capacity ours / baseline, per s | 4: batch items/s accepted | 5: drains uniform / hot, per s | 5: uniform vs ceiling | 6: ceiling / ideal, per s | 6: WAL bytes per transfer | row-lock baseline uniform / hot, per s |',
    '|---|---|---|---|---|---|---|---|---|---|',
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
