// Where the accounts come from.
//
// With FIXTURE=<file> (the bench driver): accounts already exist and are funded; the file is
// read once in the init context into a SharedArray (one copy for all VUs, however many). The
// bench creates them in node with the typed client generated from /openapi.json
// (loadtest/bench/fixture.ts, @ledgerline/client); k6 itself runs scripts in goja, which
// cannot load npm packages, so the fallback below speaks HTTP by hand.
// Without it (a scenario run by hand against `npm start`): setup() creates ACCOUNTS accounts
// for USERS principals plus one merchant, funds them through POST /v1/deposits and waits
// until every deposit is COMPLETED, all through the public API.
import http from 'k6/http';
import { sleep } from 'k6';
import { SharedArray } from 'k6/data';
import { adminPrincipal, createAccountRequest, depositRequest, getTransferRequest, is2xx, jsonOf } from './api.js';
import { common } from './env.js';

const BATCH_PARALLEL_MAX = 50;
const FUND_WAIT_ROUNDS_MAX = 10;
/**
 * A setup request answered 429 (a principal's rate limit: 100 writes/s by default, and funding
 * sends a thousand deposits as one admin) or 503 (a dependency down a moment) is sent again
 * with its Idempotency-Key after Retry-After (1 s without one, at most RETRY_AFTER_MAX_S),
 * up to SETUP_ATTEMPTS_MAX times: the same key and body come back as the same account or
 * deposit, never a second one.
 */
const SETUP_ATTEMPTS_MAX = 20;
const RETRY_AFTER_MAX_S = 10;

function isRetryable(res) {
  return res.status === 429 || res.status === 503;
}

function retryAfterS(responses) {
  let wait = 0;
  for (const res of responses) {
    const header = Number(res.headers['Retry-After']);
    wait = Math.max(wait, Number.isFinite(header) && header > 0 ? Math.min(header, RETRY_AFTER_MAX_S) : 1);
  }
  return wait;
}

/** `send(requests)` -> responses, in order; the 429s and 503s among them sent again until answered. */
function sendRetrying(requests, send) {
  const responses = send(requests);
  for (let attempt = 1; attempt < SETUP_ATTEMPTS_MAX; attempt++) {
    const again = [];
    responses.forEach((res, i) => {
      if (isRetryable(res)) again.push(i);
    });
    if (again.length === 0) break;
    sleep(retryAfterS(again.map((i) => responses[i])));
    const answers = send(again.map((i) => requests[i]));
    again.forEach((i, n) => {
      responses[i] = answers[n];
    });
  }
  return responses;
}

const fileAccounts = common.fixturePath
  ? new SharedArray('fixture-accounts', () => JSON.parse(open(common.fixturePath)).accounts)
  : null;
const fileMeta = common.fixturePath
  ? new SharedArray('fixture-meta', () => {
      const f = JSON.parse(open(common.fixturePath));
      return [{ merchant: f.merchant, admin: f.admin, currency: f.currency }];
    })
  : null;

/**
 * The same accounts grouped by owner, compact, as ONE element (`groupedByOwner`). A VU that
 * grouped `fileAccounts` itself decoded its 10,000 elements one by one (~110 ms of CPU per
 * VU, and a batch phase whose acks take seconds runs up to 200 VUs); the accounts as one
 * element of objects take longer still (~175 ms). This form takes ~4 ms: one string of ids,
 * split once per VU.
 */
const fileByOwner = common.fixturePath
  ? new SharedArray('fixture-by-owner', () => [groupedByOwner(JSON.parse(open(common.fixturePath)).accounts)])
  : null;

/** `ids` joined by commas, each owner's contiguous; owner `o` has ids[starts[o]] up to ids[starts[o + 1]]. */
function groupedByOwner(accounts) {
  const byOwner = new Map();
  for (const account of accounts) {
    const ids = byOwner.get(account.owner);
    if (ids) ids.push(account.id);
    else byOwner.set(account.owner, [account.id]);
  }
  const owners = [];
  const starts = [];
  let ids = [];
  for (const [owner, own] of byOwner) {
    owners.push(owner);
    starts.push(ids.length);
    ids = ids.concat(own);
  }
  return { ids: ids.join(','), owners, starts };
}

/**
 * Call from setup() with the load's nominal length (nominalLoadMs in lib/options.js): returns
 * what every VU needs (small; copied to each VU), and the load's window, `loadStartMs` (now,
 * when the load's first requests go out) to `loadEndMs` (that plus `loadMs`): the acks within
 * it are what the rates count (countAcked).
 */
export function setupFixture(cfg, loadMs) {
  if (!(loadMs > 0)) throw new Error(`setupFixture: the load's length (ms) is needed, got ${loadMs}`);
  const window = () => {
    const loadStartMs = Date.now();
    return { loadStartMs, loadEndMs: loadStartMs + loadMs };
  };
  if (fileMeta) {
    const meta = fileMeta[0];
    if (meta.currency !== cfg.currency) throw new Error(`fixture currency ${meta.currency} != CURRENCY ${cfg.currency}`);
    return Object.assign({ merchant: meta.merchant, admin: meta.admin, accounts: null, prefix: `k6${Date.now().toString(36)}` }, window());
  }
  const prefix = `k6${Date.now().toString(36)}`;
  const admin = adminPrincipal(prefix);
  const accounts = [];
  for (let i = 0; i < cfg.accountsCount; i++) {
    const owner = `${prefix}-u${i % cfg.usersCount}`;
    accounts.push(openAccount(cfg, owner, `acct-${i}`));
  }
  const merchant = openAccount(cfg, `${prefix}-merchant`, 'acct-merchant');
  const funding = accounts.map((a) => ({ id: a.id, amount: cfg.fundAmount }));
  funding.push({ id: merchant.id, amount: cfg.fundAmount * 1000 });
  fund(cfg, admin, funding);
  // When the load starts: the summary's rates are per second of load, not of setup too.
  return Object.assign({ merchant, admin, accounts, prefix }, window());
}

/** The account list in a VU (file-backed SharedArray, or what setup() created). */
export function accountsOf(data) {
  return fileAccounts || data.accounts;
}

let vuGroups = null;

/**
 * The accounts grouped by owner, decoded once per VU, for scenarios that draw many accounts
 * per iteration: `ids` (every account id, each owner's contiguous), `owners` and `starts`
 * (owner `o`'s ids begin at `starts[o]`). `ownerAt` finds an id's owner.
 */
export function accountGroupsOf(data) {
  if (vuGroups === null) {
    const grouped = fileByOwner ? fileByOwner[0] : groupedByOwner(data.accounts);
    vuGroups = { ids: grouped.ids.split(','), owners: grouped.owners, starts: grouped.starts };
  }
  return vuGroups;
}

/** The owner index of `ids[i]` in `accountGroupsOf`'s groups, and its ids' range [start, end). */
export function ownerAt(groups, i) {
  const { starts } = groups;
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (starts[mid] <= i) low = mid;
    else high = mid - 1;
  }
  return { owner: groups.owners[low], start: starts[low], end: low + 1 < starts.length ? starts[low + 1] : groups.ids.length };
}

function openAccount(cfg, owner, key) {
  const [res] = sendRetrying([createAccountRequest(cfg, owner, key)], (requests) => http.batch(requests));
  const body = jsonOf(res);
  if (!is2xx(res) || !body || !body.id) throw new Error(`POST /v1/accounts answered ${res.status}: ${res.body}`);
  return { id: body.id, owner };
}

function fund(cfg, admin, funding) {
  const ids = [];
  for (let start = 0; start < funding.length; start += BATCH_PARALLEL_MAX) {
    const chunk = funding.slice(start, start + BATCH_PARALLEL_MAX);
    const responses = sendRetrying(
      chunk.map((f) => depositRequest(cfg, admin, f.id, f.amount, `fund-${f.id}`)),
      (requests) => http.batch(requests),
    );
    responses.forEach((res, i) => {
      const body = jsonOf(res);
      if (!is2xx(res) || !body || !body.id) throw new Error(`deposit into ${chunk[i].id} answered ${res.status}: ${res.body}`);
      ids.push(body.id);
    });
  }
  // Deposits are applied asynchronously by the workers: wait (bounded) until all are COMPLETED.
  let pending = ids;
  for (let round = 0; round < FUND_WAIT_ROUNDS_MAX && pending.length > 0; round++) {
    const still = [];
    for (let start = 0; start < pending.length; start += BATCH_PARALLEL_MAX) {
      const chunk = pending.slice(start, start + BATCH_PARALLEL_MAX);
      const responses = http.batch(chunk.map((id) => getTransferRequest(cfg, admin, id, cfg.waitMs)));
      responses.forEach((res, i) => {
        const body = jsonOf(res);
        if (body && body.status === 'REJECTED') throw new Error(`deposit ${chunk[i]} was REJECTED: ${body.reason}`);
        if (!body || body.status !== 'COMPLETED') still.push(chunk[i]);
      });
    }
    pending = still;
  }
  if (pending.length > 0) throw new Error(`${pending.length} deposits not COMPLETED after ${FUND_WAIT_ROUNDS_MAX} long polls`);
}
