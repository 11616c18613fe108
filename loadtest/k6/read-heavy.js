// read-heavy: clients poll balances (READ_RATE/s, GET /v1/accounts/{id}/balance with the
// owner's token) while transfers run (RATE/s). Reads are served from the Redis cache; they
// must stay fast and must not slow the writes down.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e RATE=200 -e READ_RATE=2000 loadtest/k6/read-heavy.js
import { check } from 'k6';
import { common, int, num } from './lib/env.js';
import { USER_SCOPE } from './lib/auth.js';
import { getBalance, is2xx, jsonOf } from './lib/api.js';
import { accountsOf, setupFixture } from './lib/fixture.js';
import { readFailed, readMs } from './lib/metrics.js';
import { baseOptions, loadShape, nominalLoadMs, thresholdSettings, transferThresholds } from './lib/options.js';
import { summarize } from './lib/summary.js';
import { transferIteration } from './lib/transfer.js';

const t = thresholdSettings({ p95Ms: 25, p99Ms: 50, errorRateMax: 0, droppedMax: 0, e2eP99Ms: 250 });
const readRate = int('READ_RATE', 2000, 1, 100000);
const readP95Ms = num('READ_P95_MS', 20, 1, 600000);
const readP99Ms = num('READ_P99_MS', 50, 1, 600000);

const writeShape = loadShape('writes', { rate: 200, duration: '60s' });
const readShape = {
  executor: 'constant-arrival-rate',
  exec: 'reads',
  rate: readRate,
  timeUnit: '1s',
  duration: writeShape.duration,
  // As lib/options.js: VUs for READ_RATE x 100 ms, so a latency blip is absorbed rather
  // than counted as dropped while k6 allocates VUs mid-run.
  preAllocatedVUs: Math.min(Math.max(50, Math.ceil(readRate / 10)), 2000),
  maxVUs: Math.min(Math.max(200, Math.ceil(readRate / 2)), 3000),
  gracefulStop: '10s',
};
const thresholds = transferThresholds(t);
thresholds.read_ms = [`p(95)<${readP95Ms}`, `p(99)<${readP99Ms}`];
thresholds.read_failed = [`rate<=${t.errorRateMax}`];
export const options = baseOptions({ writes: writeShape, reads: readShape }, thresholds);
// In the init context: setup() sees the exported options emptied (k6 consolidates them).
const loadMs = nominalLoadMs(options.scenarios);

export function setup() {
  return setupFixture(common, loadMs);
}

export function writes(data) {
  transferIteration(common, data, 'uniform');
}

export function reads(data) {
  const accounts = accountsOf(data);
  const account = accounts[Math.floor(Math.random() * accounts.length)];
  const res = getBalance(common, account.owner, USER_SCOPE, account.id);
  const body = jsonOf(res);
  const ok = check(res, {
    'balance 200': (r) => r.status === 200,
    'balance is a digit string with a version': () =>
      body !== null && /^-?[0-9]+$/.test(String(body.balance)) && /^[0-9]+$/.test(String(body.version)),
  });
  readFailed.add(ok && is2xx(res) ? 0 : 1);
  if (ok) readMs.add(res.timings.duration);
}

export function handleSummary(data) {
  return summarize(data, 'read-heavy');
}
