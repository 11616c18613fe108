// retry-storm: every request is sent COPIES (3) times at once with the same Idempotency-Key
// and body, like an impatient double click. All copies must answer 2xx with the same
// transfer (docs/api.md: "Replaying the same key + body returns the same resource"), and the
// sampled check proves the money moved exactly once (one journal entry, not three).
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e RATE=200 -e DURATION=60s loadtest/k6/retry-storm.js
import http from 'k6/http';
import { check } from 'k6';
import { common, int } from './lib/env.js';
import { accountsOf, setupFixture } from './lib/fixture.js';
import { is2xx, jsonOf, transferRequest } from './lib/api.js';
import { ackMs, countAcked, replayConsistent, transferFailed } from './lib/metrics.js';
import { baseOptions, loadShape, nominalLoadMs, thresholdSettings, transferThresholds } from './lib/options.js';
import { summarize } from './lib/summary.js';
import { isSampled, iterationKey, pickPair, randomAmount } from './lib/transfer.js';
import { balanceVersions, verifyMoved } from './lib/verify.js';

const copies = int('COPIES', 3, 2, 10);
const t = thresholdSettings({ p95Ms: 25, p99Ms: 50, errorRateMax: 0, droppedMax: 0, e2eP99Ms: 250 });

const thresholds = transferThresholds(t);
thresholds.replay_consistent = ['rate==1'];
export const options = baseOptions({ storm: loadShape('storm', { rate: 100, duration: '60s' }) }, thresholds);
// In the init context: setup() sees the exported options emptied (k6 consolidates them).
const loadMs = nominalLoadMs(options.scenarios);

// http.batch sends at most batchPerHost requests to one host at once (k6's default is 6):
// past that, COPIES would go out in waves, not at once.
options.batchPerHost = Math.max(6, copies);

export function setup() {
  return setupFixture(common, loadMs);
}

export function storm(data) {
  const { from, to, journalSide } = pickPair(accountsOf(data), data.merchant, 'uniform', common.pairs);
  const amount = randomAmount(common);
  const sampled = isSampled(common);
  const before = sampled && common.verify === 'full' ? balanceVersions(common, data.admin, [from.id, to.id]) : null;
  const request = transferRequest(common, from, to, amount, iterationKey(data));
  const responses = http.batch(Array.from({ length: copies }, () => request));
  const ackedAt = Date.now();
  const ids = responses.map((res) => {
    const body = jsonOf(res);
    return is2xx(res) && body !== null && typeof body.id === 'string' ? body.id : null;
  });
  for (const res of responses) {
    if (is2xx(res)) ackMs.add(res.timings.duration);
  }
  const allOk = ids.every((id) => id !== null);
  const consistent = allOk && ids.every((id) => id === ids[0]);
  transferFailed.add(allOk ? 0 : 1);
  replayConsistent.add(consistent ? 1 : 0);
  check(responses, { 'every copy answered 2xx with the same transfer': () => consistent });
  if (!allOk) return;
  countAcked(1, data);
  if (sampled) verifyMoved(common, data.admin, ids[0], from, to, amount, before, ackedAt, journalSide);
}

export function handleSummary(data) {
  return summarize(data, `retry-storm (x${copies})`);
}
