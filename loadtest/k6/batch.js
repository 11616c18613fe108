// batch: POST /v1/batch at a constant arrival rate, each batch ITEMS transfers (default 500)
// sent by one principal from its own accounts to uniformly drawn ones: a payroll or
// settlement file. RATE is batches per second, so transfers/s = RATE x ITEMS.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e RATE=2 -e ITEMS=500 -e DURATION=60s loadtest/k6/batch.js
//
// ack_ms is the time from the batch's first attempt to its 202 (every accepted item durable
// in Kafka), Retry-After waits included; batch_attempt_ms the accepted attempt alone;
// transfer_failed counts items, not batches. A batch refused with 429 (the API's batch
// admission is full: docs/api.md) is sent again after its Retry-After with the same key and
// body, as the contract tells a client to, up to RETRIES times (batch_refused counts the
// refusals); only a batch still refused after that counts as failed. On one batch in BATCH_SAMPLE_EVERY, SAMPLE_ITEMS
// items are followed to COMPLETED and their accounts' balance versions must have advanced
// (money_moved). Without FIXTURE, setup() opens ACCOUNTS accounts for USERS principals.
import exec from 'k6/execution';
import { sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import { is2xx, jsonOf, postBatch } from './lib/api.js';
import { common, int } from './lib/env.js';
import { accountGroupsOf, ownerAt, setupFixture } from './lib/fixture.js';
import { ackMs, countAcked, transferFailed } from './lib/metrics.js';
import { baseOptions, loadShape, nominalLoadMs, thresholdSettings, transferThresholds } from './lib/options.js';
import { summarize } from './lib/summary.js';
import { balanceVersions, pollTransfers, verifyMoved } from './lib/verify.js';
import { iterationKey, randomAmount } from './lib/transfer.js';

/** Transfers per batch (the API's API_BATCH_ITEMS_MAX must allow it; 1000 by default). */
const items = int('ITEMS', 500, 1, 1000);
/** Items of a sampled batch followed to COMPLETED. */
const sampleItems = int('SAMPLE_ITEMS', 3, 1, 50);
/** One batch in this many is sampled (the transfer scenarios' SAMPLE_EVERY is per transfer). */
const batchSampleEvery = int('BATCH_SAMPLE_EVERY', 5, 1, 1000000);
/** A batch refused with 429 is sent again (same key, same body) after Retry-After, this many times at most. */
const retries = int('RETRIES', 3, 0, 100);

/** Answers 429: the API is busy (batch admission, in-flight cap or produce buffer). */
const batchRefused = new Counter('batch_refused');
/** The accepted attempt alone (ack_ms runs from the first attempt: refusals and waits included). */
const batchAttemptMs = new Trend('batch_attempt_ms', true);

function retryAfterS(res) {
  const value = Number(res.headers['Retry-After']);
  return Number.isFinite(value) && value > 0 ? Math.min(value, 30) : 1;
}

// A batch of 500 takes longer to answer than one transfer: ack thresholds are per batch.
const t = thresholdSettings({ p95Ms: 250, p99Ms: 500, errorRateMax: 0, droppedMax: 0, e2eP99Ms: 2000 });

export const options = baseOptions({ batch: loadShape('batch', { rate: 2, duration: '60s' }) }, transferThresholds(t));
// In the init context: setup() sees the exported options emptied (k6 consolidates them).
const loadMs = nominalLoadMs(options.scenarios);

// A sampled batch's items are long-polled together (pollTransfers, one http.batch), each timed
// from the batch's start: all must go out at once, not in k6's default waves (20 per batch,
// 6 per host), or an item queued behind the others would be timed without its wait.
options.batch = Math.max(20, sampleItems);
options.batchPerHost = Math.max(6, sampleItems);

export function setup() {
  return setupFixture(common, loadMs);
}

function randomIndex(n) {
  return Math.floor(Math.random() * n);
}

/**
 * The accounts of one principal (drawn with the weight of its account count, as drawing an
 * account and taking its owner would), and `items` transfers from them to any other account.
 */
function batchOf(data) {
  const groups = accountGroupsOf(data);
  const { ids } = groups;
  const { owner, start, end } = ownerAt(groups, randomIndex(ids.length));
  const transfers = [];
  for (let i = 0; i < items; i++) {
    const from = ids[start + randomIndex(end - start)];
    let to = ids[randomIndex(ids.length)];
    while (to === from) to = ids[randomIndex(ids.length)];
    transfers.push({ from: { id: from, owner }, to: { id: to }, amount: randomAmount(common) });
  }
  return { owner, transfers };
}

export function batch(data) {
  const { owner, transfers } = batchOf(data);
  const sampled = exec.scenario.iterationInTest % batchSampleEvery === 0;
  const chosen = sampled ? distinctIndexes(Math.min(sampleItems, transfers.length), transfers.length) : [];
  const before = chosen.map((i) => (common.verify === 'full' ? balanceVersions(common, data.admin, [transfers[i].from.id, transfers[i].to.id]) : null));

  const key = iterationKey(data);
  const firstSentAt = Date.now();
  let res = postBatch(common, owner, transfers, key);
  for (let attempt = 0; res.status === 429 && attempt < retries; attempt++) {
    batchRefused.add(1);
    sleep(retryAfterS(res));
    res = postBatch(common, owner, transfers, key);
  }
  const ackedAt = Date.now();
  const body = jsonOf(res);
  const results = res.status === 202 && body !== null && Array.isArray(body.results) ? body.results : null;
  if (!results) {
    // transfer_failed counts items: a batch refused whole failed every one of its transfers.
    for (let i = 0; i < transfers.length; i++) transferFailed.add(1, { batch: 'whole' });
    return;
  }
  // What the client waited: from its first attempt, through refusals and Retry-After waits.
  ackMs.add(ackedAt - firstSentAt);
  batchAttemptMs.add(res.timings.duration);
  let acked = 0;
  for (const result of results) {
    const ok = is2xx({ status: result.status }) && result.resource && typeof result.resource.id === 'string';
    transferFailed.add(ok ? 0 : 1);
    if (ok) acked++;
  }
  if (acked > 0) countAcked(acked, data);
  // The sampled items were acked together: long-poll them together, so that each one's
  // e2e_ms is its own wait, not the verification of the items before it as well.
  const followed = chosen.map((i, n) => ({ i, n })).filter(({ i }) => results[i] && results[i].resource);
  const polls = pollTransfers(
    common,
    data.admin,
    followed.map(({ i }) => results[i].resource.id),
  );
  followed.forEach(({ i, n }, k) => {
    const { from, to, amount } = transfers[i];
    verifyMoved(common, data.admin, results[i].resource.id, from, to, amount, before[n], ackedAt, null, polls[k]);
  });
}

/** `count` different indexes in 0..n-1 (an item followed twice would count twice). */
function distinctIndexes(count, n) {
  const picked = [];
  while (picked.length < count) {
    const i = randomIndex(n);
    if (picked.indexOf(i) < 0) picked.push(i);
  }
  return picked;
}

export function handleSummary(data) {
  // ack_ms runs from a batch's first attempt, Retry-After waits included: say how many 429s
  // were waited out and what the accepted attempts alone took, or a slow ack reads unexplained.
  const refused = data.metrics.batch_refused ? data.metrics.batch_refused.values.count : 0;
  const attempt = data.metrics.batch_attempt_ms;
  const lines = [`  batch_refused      ${refused} (429s sent again after Retry-After, RETRIES=${retries})`];
  if (attempt) {
    const v = attempt.values;
    const ms = (x) => (x === undefined || x === null ? '-' : Number(x).toFixed(1));
    lines.push(`  batch_attempt_ms   p50 ${ms(v['p(50)'])} ms  p95 ${ms(v['p(95)'])} ms  p99 ${ms(v['p(99)'])} ms  max ${ms(v.max)} ms  n ${v.count} (the accepted attempt alone)`);
  }
  return summarize(data, `batch (${items} transfers per batch)`, { text: lines.join('\n'), computed: { batch_refused: refused } });
}
