/**
 * What one bench run measures, and for how long: every rate, duration, count and timeout in
 * one place, for the two modes. `--quick` is sized for about 6 minutes on a quiet 2-core machine,
 * the full run for about 30; both are bounded (no loop waits without a timeout).
 */
import { parseArgs } from 'node:util';
import { workersNiceFrom } from '../../scripts/worker-priority';

export type Phase = 'quiet' | 'e2e' | 'ingest' | 'capacity' | 'cpu' | 'batch' | 'scenarios' | 'drain' | 'baseline' | 'ceiling' | 'ideal';
export const ALL_PHASES: readonly Phase[] = ['quiet', 'e2e', 'ingest', 'capacity', 'cpu', 'batch', 'scenarios', 'drain', 'baseline', 'ceiling', 'ideal'];

export interface ScenarioRates {
  steadyPerS: number;
  hotAccountPerS: number;
  /** Transfers per second; each is sent 3 times at once. */
  retryStormPerS: number;
  readHeavyWritesPerS: number;
  readHeavyReadsPerS: number;
  /** The ramp's staircase: start, step, number of steps. */
  rampStartPerS: number;
  rampStepPerS: number;
  rampSteps: number;
}

export interface BenchPlan {
  mode: 'quick' | 'full';
  phases: Phase[];
  /** How many times each measurement is repeated; figures are the median of the repeats. */
  repeat: number;
  partitions: number;
  workers: number;
  /** The workers' nice value (WORKERS_NICE, as npm start runs them: scripts/worker-priority.ts). */
  workersNice: number;
  accounts: number;
  users: number;
  /** Minor units each account is funded with; the merchant gets 1000x. */
  fundAmount: bigint;
  /** Offered loads of the ingest sweep and of the baseline's open-model sweep (the chart). */
  sweepRates: number[];
  ingestDurationS: number;
  /** The rate the ingest target is judged at (the target: >= 5,000 acked/s for 60 s). */
  ingestTargetRate: number;
  baselineSweepDurationS: number;
  e2eRate: number;
  e2eDurationS: number;
  /** One e2e iteration in this many long-polls its transfer to COMPLETED. */
  e2eSampleEvery: number;
  /** e2e_quiet: sequential cross-partition transfers at this rate, for this long (plus 1 s warm-up). */
  quietRatePerS: number;
  quietDurationS: number;
  /** ingest_capacity_per_s: the ramp's first rate, growth factor, step length, limits. */
  capacityStartPerS: number;
  capacityFactor: number;
  capacityStepS: number;
  capacityStepsMax: number;
  capacityBisections: number;
  capacityP99Ms: number;
  /** cpu_ms_per_transfer: how long the half-capacity load runs; the rate when capacity was not measured. */
  cpuDurationS: number;
  cpuFallbackRatePerS: number;
  /** --cpu-rate: the cpu phase's offered rate, fixed (for before/after comparisons at one load); null: half the capacity. */
  cpuRatePerS: number | null;
  /** batch_ingest: items per POST /v1/batch, items offered per second, for how long. */
  batchItems: number;
  batchItemsPerS: number;
  batchDurationS: number;
  /** The ideal (PostgreSQL alone, smallest double-entry schema): writers and batch size. */
  idealWriters: number;
  idealBatchTransfers: number;
  drainCommands: number;
  drainTimeoutS: number;
  /** Closed-model clients of the baseline saturation runs, and their duration. */
  baselineVus: number;
  baselineSaturationDurationS: number;
  ceilingDurationS: number;
  ceilingWarmupS: number;
  ceilingBatchCommands: number;
  scenarioDurationS: number;
  /**
   * The offered rates each k6 scenario runs at in the `scenarios` phase: the rates at which
   * we state that the scenarios pass their thresholds on this 2-core box (loadtest/README.md).
   */
  scenarioRates: ScenarioRates;
  /** Longest wait for the workers to catch up after a load step. */
  settleTimeoutS: number;
  profile: boolean;
  reconcile: boolean;
  keep: boolean;
  apiPort: number;
  baselinePort: number;
}

const QUICK: Omit<BenchPlan, 'phases' | 'repeat' | 'profile' | 'reconcile' | 'keep' | 'workersNice'> = {
  mode: 'quick',
  partitions: 8,
  workers: 2,
  accounts: 1_000,
  users: 50,
  fundAmount: 100_000_000n,
  sweepRates: [1_000, 2_500, 5_000],
  ingestDurationS: 10,
  ingestTargetRate: 5_000,
  baselineSweepDurationS: 8,
  e2eRate: 2_000,
  e2eDurationS: 12,
  e2eSampleEvery: 20,
  quietRatePerS: 20,
  quietDurationS: 10,
  capacityStartPerS: 250,
  capacityFactor: 1.4,
  capacityStepS: 5,
  capacityStepsMax: 10,
  capacityBisections: 1,
  capacityP99Ms: 100,
  cpuDurationS: 10,
  cpuFallbackRatePerS: 300,
  cpuRatePerS: null,
  batchItems: 500,
  batchItemsPerS: 15_000,
  batchDurationS: 10,
  idealWriters: 2,
  idealBatchTransfers: 1_000,
  drainCommands: 100_000,
  drainTimeoutS: 240,
  baselineVus: 64,
  baselineSaturationDurationS: 8,
  ceilingDurationS: 8,
  ceilingWarmupS: 2,
  ceilingBatchCommands: 2_000,
  scenarioDurationS: 10,
  scenarioRates: {
    steadyPerS: 400,
    hotAccountPerS: 400,
    retryStormPerS: 150,
    readHeavyWritesPerS: 250,
    readHeavyReadsPerS: 800,
    rampStartPerS: 200,
    rampStepPerS: 200,
    rampSteps: 4,
  },
  settleTimeoutS: 120,
  apiPort: 18080,
  baselinePort: 18090,
};

const FULL: typeof QUICK = {
  ...QUICK,
  mode: 'full',
  accounts: 10_000,
  users: 200,
  sweepRates: [1_000, 2_500, 5_000, 7_500],
  ingestDurationS: 60,
  baselineSweepDurationS: 30,
  e2eDurationS: 60,
  quietDurationS: 30,
  capacityStepS: 10,
  capacityBisections: 2,
  cpuDurationS: 30,
  batchDurationS: 30,
  drainCommands: 1_000_000,
  drainTimeoutS: 900,
  baselineSaturationDurationS: 30,
  ceilingDurationS: 30,
  ceilingWarmupS: 5,
  scenarioDurationS: 30,
  settleTimeoutS: 300,
};

const USAGE = `usage: npm run bench -- [--quick] [--repeat N] [--only a,b] [--skip a,b] [--drain-commands N]
                        [--cpu-rate N] [--profile] [--reconcile] [--keep]
  --quick             ~6 minute run (shorter steps, 100k-command drain backlog)
  --repeat N          repeat each measurement N times (1..9) and report medians
  --only / --skip     phases: ${ALL_PHASES.join(', ')} (scenarios runs only when named or in a full run;
                      cpu runs at half the capacity phase's figure, or at a fixed rate without it)
  --drain-commands N  size of each drain backlog (default 1,000,000; quick 100,000)
  --cpu-rate N        run the cpu phase at N transfers/s instead of half the capacity (to compare
                      two builds at one load; the report says so)
  --profile           node --cpu-prof on the workers and the API, summarised in the report
  --reconcile         time one full reconcile of the bench ledger at the end (exit 1 when it
                      finds violations; the figures are written either way)
  --keep              keep the bench databases, topics and Redis keys afterwards`;

export function parsePlan(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BenchPlan {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        quick: { type: 'boolean', default: false },
        repeat: { type: 'string' },
        only: { type: 'string' },
        skip: { type: 'string' },
        'drain-commands': { type: 'string' },
        'cpu-rate': { type: 'string' },
        profile: { type: 'boolean', default: false },
        reconcile: { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const quick = values.quick;
  const base = quick ? QUICK : FULL;
  const defaultPhases = ALL_PHASES.filter((p) => p !== 'scenarios' || !quick);
  const skip = values.skip === undefined ? [] : phases(values.skip);
  const selected = (values.only === undefined ? defaultPhases : phases(values.only)).filter((p) => !skip.includes(p));
  return {
    ...base,
    phases: ALL_PHASES.filter((p) => selected.includes(p)),
    repeat: values.repeat === undefined ? 1 : boundedInt('--repeat', values.repeat, 1, 9),
    drainCommands: values['drain-commands'] === undefined ? base.drainCommands : boundedInt('--drain-commands', values['drain-commands'], 1_000, 10_000_000),
    cpuRatePerS: values['cpu-rate'] === undefined ? null : boundedInt('--cpu-rate', values['cpu-rate'], 1, 100_000),
    profile: values.profile,
    reconcile: values.reconcile,
    keep: values.keep,
    workersNice: workersNiceFrom(env),
  };
}

function phases(list: string): Phase[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of names) {
    if (!(ALL_PHASES as readonly string[]).includes(name)) throw new Error(`unknown phase ${name} (one of ${ALL_PHASES.join(', ')})`);
  }
  return names as Phase[];
}

function boundedInt(flag: string, text: string, min: number, max: number): number {
  const n = Number(text.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag} ${text}: must be an integer in ${min}..${max}`);
  return n;
}
