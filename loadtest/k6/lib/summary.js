// handleSummary: a short text summary on stdout, and the full k6 summary data (plus the
// scenario's own computed figures) as JSON at SUMMARY_JSON for the bench driver.
import { common } from './env.js';

function fmt(value, digits) {
  return value === undefined || value === null || Number.isNaN(value) ? '-' : Number(value).toFixed(digits);
}

/**
 * k6's Trend percentile interpolates between the samples at floor and ceil of p x (n - 1): it
 * is a lower bound once that reaches the top `censored` samples (the slowest; see e2eCensored).
 * Mirrored by the bench (loadtest/bench/util.ts, k6PercentileIsLowerBound).
 */
function reachesCensored(p, n, censored) {
  return censored > 0 && Math.ceil((p / 100) * (n - 1)) >= n - censored;
}

function trendLine(name, m, censored) {
  if (!m) return null;
  const v = m.values;
  const c = censored || 0;
  const at = (p) => `${reachesCensored(p, v.count, c) ? '>=' : ''}${fmt(v[`p(${p})`], 1)}`;
  const line = `  ${name.padEnd(18)} p50 ${at(50)} ms  p95 ${at(95)} ms  p99 ${at(99)} ms  max ${c > 0 ? '>=' : ''}${fmt(v.max, 1)} ms  n ${v.count}`;
  return c > 0 ? `${line} (${c} not COMPLETED when the long poll ended, counted at what they waited: >= marks a lower bound)` : line;
}

/**
 * Seconds from the end of setup() (`loadStartMs` in its data: the load's first sends) to the
 * last ack (acked_at_ms's max): the time the acks counted in transfers_acked took, graceful
 * stop included. Null without either.
 */
function ackWindowSeconds(data) {
  const start = data.setup_data && Number(data.setup_data.loadStartMs);
  const last = data.metrics.acked_at_ms && Number(data.metrics.acked_at_ms.values.max);
  if (!start || !Number.isFinite(start) || !last || !Number.isFinite(last)) return null;
  const seconds = (last - start) / 1000;
  return seconds > 0 ? seconds : null;
}

export function summarize(data, scenarioName, extra) {
  const m = data.metrics;
  const lines = [`\n== ${scenarioName} (${common.target} ${common.baseUrl}) ==`];
  const push = (line) => line && lines.push(line);
  push(trendLine('ack_ms', m.ack_ms));
  push(trendLine('e2e_ms (sampled)', m.e2e_ms, m.e2e_censored ? m.e2e_censored.values.count : 0));
  push(trendLine('read_ms', m.read_ms));
  if (m.transfers_acked) {
    // k6's own rate divides by the whole run, setup() included (opening and funding ACCOUNTS
    // accounts takes seconds); dividing by DURATION leaves out the graceful stop, whose acks
    // are counted. Per second from the load's start to the last ack is what was sustained.
    const windowS = ackWindowSeconds(data);
    const count = m.transfers_acked.values.count;
    push(
      windowS === null
        ? `  transfers_acked    ${count} (${fmt(m.transfers_acked.values.rate, 1)}/s over the whole run, setup included)`
        : `  transfers_acked    ${count} (${fmt(count / windowS, 1)}/s over ${fmt(windowS, 1)} s from the load's start to the last ack; ${fmt(m.transfers_acked.values.rate, 1)}/s with setup)`,
    );
  }
  if (m.transfer_failed) push(`  transfer_failed    ${fmt(m.transfer_failed.values.rate * 100, 3)}% (${m.transfer_failed.values.passes} of ${m.transfer_failed.values.passes + m.transfer_failed.values.fails})`);
  if (m.read_failed) push(`  read_failed        ${fmt(m.read_failed.values.rate * 100, 3)}% (${m.read_failed.values.passes} of ${m.read_failed.values.passes + m.read_failed.values.fails} reads)`);
  if (m.dropped_iterations) push(`  dropped_iterations ${m.dropped_iterations.values.count}`);
  if (m.money_moved) push(`  money_moved        ${fmt(m.money_moved.values.rate * 100, 1)}% of ${m.money_moved.values.passes + m.money_moved.values.fails} sampled transfers`);
  if (m.replay_consistent) push(`  replay_consistent  ${fmt(m.replay_consistent.values.rate * 100, 2)}%`);
  if (m.http_req_failed) push(`  http_req_failed    ${fmt(m.http_req_failed.values.rate * 100, 3)}% of all requests`);
  if (extra && extra.text) lines.push(extra.text);
  const crossed = [];
  for (const name of Object.keys(m)) {
    const thresholds = m[name].thresholds || {};
    for (const expr of Object.keys(thresholds)) if (!thresholds[expr].ok) crossed.push(`${name}: ${expr}`);
  }
  lines.push(crossed.length ? `  THRESHOLDS CROSSED: ${crossed.join('; ')}` : '  all thresholds passed');
  const out = { stdout: `${lines.join('\n')}\n` };
  if (common.summaryJson) out[common.summaryJson] = JSON.stringify(Object.assign({ scenario: scenarioName, computed: (extra && extra.computed) || null }, data));
  return out;
}
