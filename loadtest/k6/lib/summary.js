// handleSummary: a short text summary on stdout, and the full k6 summary data (plus the
// scenario's own computed figures) as JSON at SUMMARY_JSON for the bench driver.
import { common } from './env.js';

function fmt(value, digits) {
  return value === undefined || value === null || Number.isNaN(value) ? '-' : Number(value).toFixed(digits);
}

/**
 * A Trend's line; with `high` (e2e_high_ms, the same samples with each censored one put above
 * any latency: lib/metrics.js), `>=` marks each figure that differs from it, a lower bound:
 * it depends on a sample not COMPLETED within its poll, counted at what it waited.
 * Mirrored by the bench (loadtest/bench/k6run.ts, e2eOf).
 */
function trendLine(name, m, high, censored) {
  if (!m) return null;
  const v = m.values;
  const c = censored || 0;
  const bound = (stat) => (high && c > 0 && high.values[stat] !== v[stat] ? '>=' : '');
  const at = (p) => `${bound(`p(${p})`)}${fmt(v[`p(${p})`], 1)}`;
  const line = `  ${name.padEnd(18)} p50 ${at(50)} ms  p95 ${at(95)} ms  p99 ${at(99)} ms  max ${bound('max')}${fmt(v.max, 1)} ms  n ${v.count}`;
  return c > 0 ? `${line} (${c} not COMPLETED when the long poll ended, counted at what they waited: >= marks a lower bound)` : line;
}

/** The load's nominal window from setup()'s data (lib/fixture.js): seconds, or null without it. */
function loadWindowSeconds(data) {
  const start = data.setup_data && Number(data.setup_data.loadStartMs);
  const end = data.setup_data && Number(data.setup_data.loadEndMs);
  if (!start || !end || !Number.isFinite(start) || !Number.isFinite(end) || end <= start) return null;
  return (end - start) / 1000;
}

export function summarize(data, scenarioName, extra) {
  const m = data.metrics;
  const lines = [`\n== ${scenarioName} (${common.target} ${common.baseUrl}) ==`];
  const push = (line) => line && lines.push(line);
  push(trendLine('ack_ms', m.ack_ms));
  push(trendLine('e2e_ms (sampled)', m.e2e_ms, m.e2e_high_ms, m.e2e_censored ? m.e2e_censored.values.count : 0));
  push(trendLine('read_ms', m.read_ms));
  if (m.transfers_acked) {
    // k6's own rate divides by the whole run, setup() included (opening and funding ACCOUNTS
    // accounts takes seconds) and the graceful stop. What was sustained is the acks that
    // arrived within the load's window, per second of it; those of the graceful stop are late.
    const windowS = loadWindowSeconds(data);
    const count = m.transfers_acked.values.count;
    const inWindow = m['transfers_acked{late:false}'] ? m['transfers_acked{late:false}'].values.count : 0;
    push(
      windowS === null
        ? `  transfers_acked    ${count} (${fmt(m.transfers_acked.values.rate, 1)}/s over the whole run, setup included)`
        : `  transfers_acked    ${count}: ${inWindow} within the ${fmt(windowS, 1)} s of load (${fmt(inWindow / windowS, 1)}/s), ${count - inWindow} late (in the graceful stop)`,
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
