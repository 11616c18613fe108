import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DrainResult } from '../../loadtest/bench/drain';
import type { StepResult } from '../../loadtest/bench/phases';
import { parsePlan } from '../../loadtest/bench/plan';
import { benchExitCode, emptyMeasurements, writeReport } from '../../loadtest/bench/report';

/** The drains of `benchmxb2c5g1` (full run): backlog commands/s and transfers COMPLETED/s. */
const drain = (mix: 'uniform' | 'hot', perS: number, settledPerS: number): DrainResult =>
  ({ mix, commands: 1_000_000, per_s: perS, settled_per_s: settledPerS, stalled: false, timed_out: false, applied: 1_000_000, per_partition: [], last_partition: null, outcome: {}, worker_logs: [], cpu: null, pg: null }) as unknown as DrainResult;

describe('bench report: the drains against the ceiling and the baseline', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('compares transfers COMPLETED/s with transfers/s, and keeps the backlog-command rate for its own target', () => {
    const m = emptyMeasurements();
    m.drain.uniform.push(drain('uniform', 21_898, 11_417));
    m.drain.hot.push(drain('hot', 13_901, 10_113));
    m.ceiling.push({ mix: 'uniform', per_s: 16_139, duration_s: 30, batches: 467, batch_commands_avg: 1_993, commit_ms: { p50: null, p99: null }, left_processing: 0, cpu: null, pg: null });
    m.baselineSaturation.hot.push({ acked_per_s: 534, p99_ms: null, errors: 0, cpu: null, pg: null } as unknown as StepResult);
    const now = new Date();
    const result = writeReport({ plan: parsePlan([], {}), m, startedAt: now, finishedAt: now, runId: 'test', runDir: dir, repoRoot: dir, outDir: dir, k6Version: 'k6' });
    expect(result.drain).toEqual({ uniform_per_s: 21_898, hot_per_s: 13_901, uniform_settled_per_s: 11_417, hot_settled_per_s: 10_113 });
    const targets = result.targets as { name: string; measured: string; met: boolean | null }[];
    const target = (start: string) => targets.find((t) => t.name.startsWith(start))!;
    expect(target('drain uniform >= 80% of the ceiling')).toMatchObject({ met: false, measured: expect.stringMatching(/^71% \(11417\/s vs 16139\/s/) });
    expect(target('drain hot >= 90% of uniform')).toMatchObject({ met: false, measured: expect.stringMatching(/^89% /) });
    expect(target('drain hot >= 10x')).toMatchObject({ met: true, measured: expect.stringMatching(/^18\.9x /) });
    expect(target('drain uniform >= 20,000 commands/s')).toMatchObject({ met: true, measured: '21898/s' });
    const md = readFileSync(join(dir, 'latest.md'), 'utf8');
    expect(md).toContain('| 11417 / 10113 |');
  });
});

describe('bench exit code (benchExitCode)', () => {
  const measured = (errors: Record<string, string>, violations: Record<string, number> | null) => {
    const m = emptyMeasurements();
    m.errors = errors;
    m.reconcile = violations && { seconds: 67, entries: 10_900_000, violations };
    return m;
  };

  it('is 0 for a run whose phases all ran and whose reconcile found nothing (or did not run)', () => {
    expect(benchExitCode(measured({}, null))).toBe(0);
    expect(benchExitCode(measured({}, { money_conserved: 0, balances_match_entries: 0 }))).toBe(0);
  });

  it('is 1 when --reconcile found violations in any check, though no phase failed', () => {
    expect(benchExitCode(measured({}, { money_conserved: 0, balances_match_entries: 3 }))).toBe(1);
  });

  it('is 1 when a phase failed', () => {
    expect(benchExitCode(measured({ 'drain hot #1': 'timed out' }, null))).toBe(1);
  });
});
