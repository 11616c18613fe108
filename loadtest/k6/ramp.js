// ramp: a staircase of arrival rates (ramping-arrival-rate) to find the highest rate the
// system sustains. Each step ramps for RAMP_S seconds, then holds its rate for HOLD_S
// seconds; only the hold is measured, tagged `stage=<rate>`. A step is sustained when, during
// its hold, acked/s >= 95% of the offered rate, p99 ack <= P99_MS and errors <= ERROR_RATE_MAX.
// A step whose p99 or error rate goes past ABORT_FACTOR x its limit aborts the test (the
// system has collapsed: there is nothing more to learn), so crossing thresholds here is the
// expected end, and the figure of merit is "highest sustained rate" in the summary. (A hold
// cut short by the abort counts its acks over the full HOLD_S, so it reads low; it is never
// the sustained one anyway.)
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e START_RATE=500 -e STEP_RATE=500 -e STEPS=10 loadtest/k6/ramp.js
import exec from 'k6/execution';
import { common, int, num } from './lib/env.js';
import { setupFixture } from './lib/fixture.js';
import { ACKED_IN_WINDOW, TREND_STATS, baseOptions, nominalLoadMs, thresholdSettings } from './lib/options.js';
import { summarize } from './lib/summary.js';
import { transferIteration } from './lib/transfer.js';

const t = thresholdSettings({ p95Ms: 25, p99Ms: 50, errorRateMax: 0, droppedMax: 0, e2eP99Ms: 250 });
const startRate = int('START_RATE', 500, 1, 100000);
const stepRate = int('STEP_RATE', 500, 1, 100000);
const steps = int('STEPS', 8, 1, 50);
const rampS = int('RAMP_S', 5, 1, 600);
const holdS = int('HOLD_S', 20, 5, 3600);
const abortFactor = num('ABORT_FACTOR', 10, 1, 1000);
const sustainedShare = 0.95;

const rates = Array.from({ length: steps }, (_, i) => startRate + i * stepRate);
const stages = [];
for (const rate of rates) {
  stages.push({ target: rate, duration: `${rampS}s` });
  stages.push({ target: rate, duration: `${holdS}s` });
}
const maxRate = rates[rates.length - 1];

const thresholds = {
  ack_ms: [`p(95)<${t.p95Ms}`, `p(99)<${t.p99Ms}`],
  transfer_failed: [`rate<=${t.errorRateMax}`],
  dropped_iterations: [{ threshold: `count<=${Math.max(t.droppedMax, Math.ceil(maxRate * 2))}`, abortOnFail: true, delayAbortEval: '10s' }],
  money_moved: [`rate>=${t.movedRateMin}`],
  // As every scenario (loadtest/README.md): the sampled 202 -> COMPLETED wait. Not an abort
  // and not part of a step's "sustained" verdict, which is about the ack path.
  // On e2e_ms's upper bound, as lib/options.js: a p99 that depends on a sample not COMPLETED
  // within its poll is not known to be under the limit.
  e2e_high_ms: [`p(99)<${t.e2eP99Ms}`],
  // As lib/options.js: no transfer acked at all is a failed run, not an empty pass.
  transfers_acked: ['count>0'],
  transfers_verified: ['count>0'],
  [ACKED_IN_WINDOW]: ['count>=0'],
};
// Per-stage sub-metrics: they appear in the summary only if they carry a threshold.
for (const rate of rates) {
  thresholds[`ack_ms{stage:${rate}}`] = [
    { threshold: `p(99)<${t.p99Ms * abortFactor}`, abortOnFail: true, delayAbortEval: '5s' },
  ];
  thresholds[`transfers_acked{stage:${rate}}`] = ['count>=0'];
  thresholds[`transfer_failed{stage:${rate}}`] = [
    { threshold: `rate<=${Math.min(1, Math.max(t.errorRateMax, 0.01) * abortFactor)}`, abortOnFail: true, delayAbortEval: '5s' },
  ];
}

export const options = baseOptions(
  {
    ramp: {
      executor: 'ramping-arrival-rate',
      exec: 'ramp',
      startRate: Math.min(startRate, 50),
      timeUnit: '1s',
      preAllocatedVUs: Math.min(Math.max(20, Math.ceil(maxRate / 50)), 2000),
      maxVUs: int('MAX_VUS', Math.min(Math.max(100, Math.ceil(maxRate / 5)), 3000), 1, 5000),
      stages,
      gracefulStop: '10s',
    },
  },
  thresholds,
);
// In the init context: setup() sees the exported options emptied (k6 consolidates them).
const loadMs = nominalLoadMs(options.scenarios);
options.summaryTrendStats = TREND_STATS;

/** The hold whose window we are in, or null during a ramp. */
function currentStage() {
  const elapsedS = (Date.now() - exec.scenario.startTime) / 1000;
  const step = Math.floor(elapsedS / (rampS + holdS));
  if (step < 0 || step >= rates.length) return null;
  return elapsedS - step * (rampS + holdS) >= rampS ? String(rates[step]) : null;
}

export function setup() {
  return setupFixture(common, loadMs);
}

export function ramp(data) {
  const stage = currentStage();
  transferIteration(common, data, 'uniform', stage ? { stage } : { stage: 'ramping' });
}

export function handleSummary(data) {
  const rows = [];
  let sustained = null;
  for (const rate of rates) {
    const ack = data.metrics[`ack_ms{stage:${rate}}`];
    const acked = data.metrics[`transfers_acked{stage:${rate}}`];
    const failed = data.metrics[`transfer_failed{stage:${rate}}`];
    if (!ack || !acked || acked.values.count === 0) break; // not reached (aborted earlier)
    const row = {
      rate,
      acked_per_s: acked.values.count / holdS,
      p95_ms: ack.values['p(95)'],
      p99_ms: ack.values['p(99)'],
      error_rate: failed ? failed.values.rate : 0,
    };
    row.sustained = row.acked_per_s >= sustainedShare * rate && row.p99_ms <= t.p99Ms && row.error_rate <= t.errorRateMax;
    if (row.sustained) sustained = rate;
    rows.push(row);
  }
  const text = [
    '  stage    acked/s     p95 ms    p99 ms   errors  sustained',
    ...rows.map(
      (r) =>
        `  ${String(r.rate).padStart(6)} ${r.acked_per_s.toFixed(0).padStart(9)} ${r.p95_ms.toFixed(1).padStart(10)} ${r.p99_ms
          .toFixed(1)
          .padStart(9)} ${(r.error_rate * 100).toFixed(2).padStart(7)}%  ${r.sustained ? 'yes' : 'no'}`,
    ),
    `  highest sustained rate: ${sustained === null ? 'none of the steps' : `${sustained}/s`}`,
  ].join('\n');
  return summarize(data, 'ramp', { text, computed: { stages: rows, highest_sustained_per_s: sustained } });
}
