// One transfer iteration, shared by the scenarios: pick the accounts (uniform or hot mix),
// POST /v1/transfers with the owner's token, record the ack, and on one iteration in
// SAMPLE_EVERY prove the money moved (lib/verify.js).
import exec from 'k6/execution';
import { is2xx, jsonOf, postTransfer } from './api.js';
import { accountsOf } from './fixture.js';
import { ackMs, countAcked, transferFailed } from './metrics.js';
import { balanceVersions, verifyMoved } from './verify.js';

/** Share of transfers touching the merchant in the hot mix: half into it, half out of it. */
const HOT_SHARE = 0.9;

function randomIndex(n) {
  return Math.floor(Math.random() * n);
}

function otherThan(accounts, account) {
  for (let attempt = 0; attempt < 8; attempt++) {
    const candidate = accounts[randomIndex(accounts.length)];
    if (candidate.id !== account.id) return candidate;
  }
  // Two accounts at least (env bounds), so walking from a random start always finds one.
  const start = randomIndex(accounts.length);
  for (let i = 0; i < accounts.length; i++) {
    const candidate = accounts[(start + i) % accounts.length];
    if (candidate.id !== account.id) return candidate;
  }
  throw new Error('fixture has fewer than two accounts');
}

/**
 * uniform: both ends drawn uniformly. hot: 90% of transfers go into or out of the merchant
 * (45% each way), 10% uniform. `journalSide` names an end that is not the merchant: its
 * journal is small enough to search for the sampled transfer's entry.
 */
export function pickPair(accounts, merchant, mix, pairs) {
  if (pairs === 'cross') return crossPair(accounts);
  const r = Math.random();
  if (mix === 'hot' && r < HOT_SHARE / 2) return { from: merchant, to: otherThan(accounts, merchant), journalSide: 'to' };
  if (mix === 'hot' && r < HOT_SHARE) {
    const from = accounts[randomIndex(accounts.length)];
    return { from, to: merchant, journalSide: 'from' };
  }
  const from = accounts[randomIndex(accounts.length)];
  return { from, to: otherThan(accounts, from), journalSide: 'from' };
}

/** A uniform pair on two different partitions (the fixture file says which is where). */
function crossPair(accounts) {
  for (let attempt = 0; attempt < 64; attempt++) {
    const from = accounts[randomIndex(accounts.length)];
    const to = accounts[randomIndex(accounts.length)];
    if (from.partition === undefined) throw new Error('PAIRS=cross needs a FIXTURE that records partitions');
    if (from.partition !== to.partition) return { from, to, journalSide: 'from' };
  }
  throw new Error('PAIRS=cross: no cross-partition pair found (all accounts on one partition?)');
}

export function randomAmount(cfg) {
  return 1 + randomIndex(cfg.amountMax);
}

/** Unique per run (setup's prefix), VU and iteration: every iteration is a new transfer. */
export function iterationKey(data) {
  return `${data.prefix}-${exec.vu.idInTest}-${exec.vu.iterationInInstance}`;
}

export function isSampled(cfg) {
  return exec.scenario.iterationInTest % cfg.sampleEvery === 0;
}

export function transferIteration(cfg, data, mix, tags) {
  const { from, to, journalSide } = pickPair(accountsOf(data), data.merchant, mix, cfg.pairs);
  const amount = randomAmount(cfg);
  const sampled = isSampled(cfg);
  const before = sampled && cfg.verify === 'full' ? balanceVersions(cfg, data.admin, [from.id, to.id]) : null;
  const res = postTransfer(cfg, from, to, amount, iterationKey(data));
  const ackedAt = Date.now();
  const body = jsonOf(res);
  const ok = is2xx(res) && body !== null && typeof body.id === 'string';
  transferFailed.add(ok ? 0 : 1, tags);
  if (!ok) return null;
  ackMs.add(res.timings.duration, tags);
  countAcked(1, data, tags);
  if (sampled) verifyMoved(cfg, data.admin, body.id, from, to, amount, before, ackedAt, journalSide);
  return body;
}
