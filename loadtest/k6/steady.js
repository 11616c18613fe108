// steady: transfers at a constant arrival rate (open model: RATE/s whatever the latency).
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e RATE=500 -e DURATION=60s loadtest/k6/steady.js
//
// MIX=uniform|hot picks the accounts; the bench driver also uses this script for its ingest
// sweep, the e2e run and the baseline runs (TARGET=baseline, EXECUTOR=constant-vus).
import { common, oneOf } from './lib/env.js';
import { setupFixture } from './lib/fixture.js';
import { baseOptions, loadShape, nominalLoadMs, thresholdSettings, transferThresholds } from './lib/options.js';
import { summarize } from './lib/summary.js';
import { transferIteration } from './lib/transfer.js';

const mix = oneOf('MIX', 'uniform', ['uniform', 'hot']);
const t = thresholdSettings({ p95Ms: 25, p99Ms: 50, errorRateMax: 0, droppedMax: 0, e2eP99Ms: 250 });

export const options = baseOptions({ steady: loadShape('steady', { rate: 200, duration: '60s' }) }, transferThresholds(t));
// In the init context: setup() sees the exported options emptied (k6 consolidates them).
const loadMs = nominalLoadMs(options.scenarios);

export function setup() {
  return setupFixture(common, loadMs);
}

export function steady(data) {
  transferIteration(common, data, mix);
}

export function handleSummary(data) {
  return summarize(data, `steady (${mix})`);
}
