// Scenario options built from env, with the thresholds every scenario carries: p95/p99 of the
// ack latency, the error rate, dropped iterations (the generator could not keep the offered
// rate: the system, or k6, fell behind) and the sampled money-moved check.
import { duration, durationSeconds, int, num, oneOf } from './env.js';

export const TREND_STATS = ['avg', 'min', 'med', 'max', 'p(50)', 'p(95)', 'p(99)', 'count'];

export function thresholdSettings(defaults) {
  return {
    p95Ms: num('P95_MS', defaults.p95Ms, 1, 600000),
    p99Ms: num('P99_MS', defaults.p99Ms, 1, 600000),
    errorRateMax: num('ERROR_RATE_MAX', defaults.errorRateMax, 0, 1),
    droppedMax: int('DROPPED_MAX', defaults.droppedMax, 0, 1000000000),
    e2eP99Ms: num('E2E_P99_MS', defaults.e2eP99Ms, 1, 600000),
    movedRateMin: num('MOVED_RATE_MIN', 0.99, 0, 1),
  };
}

/**
 * A submetric is in the summary only if it carries a threshold: one that is never crossed
 * (count>=0) on this puts the acks that arrived within the load's window there, which every
 * rate is counted from (countAcked in lib/metrics.js).
 */
export const ACKED_IN_WINDOW = 'transfers_acked{late:false}';

export function transferThresholds(t) {
  return {
    ack_ms: [`p(95)<${t.p95Ms}`, `p(99)<${t.p99Ms}`],
    transfer_failed: [`rate<=${t.errorRateMax}`],
    dropped_iterations: [`count<=${t.droppedMax}`],
    money_moved: [`rate>=${t.movedRateMin}`],
    // On e2e_high_ms, e2e_ms's upper bound (lib/metrics.js): a p99 that depends on a sampled
    // transfer not COMPLETED within its poll is not known to be under the limit, so it fails.
    e2e_high_ms: [`p(99)<${t.e2eP99Ms}`],
    // The thresholds above pass on no samples at all (an empty rate or trend is not judged):
    // a run whose iterations never got a transfer acked (each threw before or after its POST)
    // must not end 'all thresholds passed'.
    transfers_acked: ['count>0'],
    // Likewise money_moved: a run whose sampled iterations all failed before their check (the
    // first iteration is always sampled) proved nothing about the money, and must say so.
    transfers_verified: ['count>0'],
    [ACKED_IN_WINDOW]: ['count>=0'],
  };
}

/**
 * How long the load runs by its scenarios' own options (DURATION, or a ramp's stages), k6's
 * graceful stop not included: setup() passes it to setupFixture, whose `loadEndMs` marks
 * which acks arrived within it (countAcked in lib/metrics.js). Call it in the init context:
 * there the exported options are still the script's own (setup() sees `scenarios` empty).
 */
export function nominalLoadMs(scenarios) {
  let seconds = 0;
  for (const name of Object.keys(scenarios)) {
    const scenario = scenarios[name];
    const own = scenario.stages ? scenario.stages.reduce((sum, stage) => sum + durationSeconds(stage.duration), 0) : durationSeconds(scenario.duration);
    seconds = Math.max(seconds, own);
  }
  return seconds * 1000;
}

/**
 * The load shape of one scenario. EXECUTOR=constant-arrival-rate (open model: RATE per
 * second whatever the latency; what the ingest figures use) or constant-vus (closed model:
 * VUS clients as fast as answers come back; what a saturation measurement uses).
 */
export function loadShape(exec, defaults) {
  const executor = oneOf('EXECUTOR', defaults.executor || 'constant-arrival-rate', ['constant-arrival-rate', 'constant-vus']);
  const dur = duration('DURATION', defaults.duration);
  if (executor === 'constant-vus') {
    return { executor, exec, vus: int('VUS', defaults.vus || 32, 1, 5000), duration: dur, gracefulStop: '10s' };
  }
  const rate = int('RATE', defaults.rate, 1, 100000);
  return {
    executor,
    exec,
    rate,
    timeUnit: '1s',
    duration: dur,
    // Enough VUs for RATE x 200 ms in flight (sampled iterations hold theirs through a long
    // poll); more are added up to MAX_VUS when latency grows. With RATE / 50 (20 ms), k6
    // dropped iterations at 500/s while it allocated VUs mid-run, at a p99 of 58 ms.
    preAllocatedVUs: int('PRE_VUS', Math.min(Math.max(50, Math.ceil(rate / 5)), 2000), 1, 5000),
    maxVUs: int('MAX_VUS', Math.min(Math.max(200, Math.ceil(rate / 2)), 3000), 1, 5000),
    gracefulStop: '10s',
  };
}

export function baseOptions(scenarios, thresholds) {
  return {
    scenarios,
    thresholds,
    summaryTrendStats: TREND_STATS,
    setupTimeout: '600s',
    teardownTimeout: '60s',
    // Verification long polls can take WAIT_MS; nothing else should be anywhere near this.
    noConnectionReuse: false,
    userAgent: 'ledgerline-loadtest/k6',
  };
}
