// hot-account: 90% of transfers go into or out of ONE merchant account (45% each way),
// 10% between uniformly drawn accounts, at a constant arrival rate. The ordered design
// should not care (one writer, no lock); a row-lock design serialises on the merchant row.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e RATE=500 -e DURATION=60s loadtest/k6/hot-account.js
import { common } from './lib/env.js';
import { setupFixture } from './lib/fixture.js';
import { baseOptions, loadShape, nominalLoadMs, thresholdSettings, transferThresholds } from './lib/options.js';
import { summarize } from './lib/summary.js';
import { transferIteration } from './lib/transfer.js';

const t = thresholdSettings({ p95Ms: 25, p99Ms: 50, errorRateMax: 0, droppedMax: 0, e2eP99Ms: 250 });

export const options = baseOptions({ hot: loadShape('hot', { rate: 200, duration: '60s' }) }, transferThresholds(t));
// In the init context: setup() sees the exported options emptied (k6 consolidates them).
const loadMs = nominalLoadMs(options.scenarios);

export function setup() {
  return setupFixture(common, loadMs);
}

export function hot(data) {
  transferIteration(common, data, 'hot');
}

export function handleSummary(data) {
  return summarize(data, 'hot-account');
}
