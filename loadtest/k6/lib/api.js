// Thin wrappers over the HTTP contract (docs/api.md). Every request carries a `name` tag so
// thresholds and the summary can tell POSTs from verification reads.
import http from 'k6/http';
import { ADMIN_SCOPE, USER_SCOPE, bearer } from './auth.js';

const JSON_HEADERS = { 'Content-Type': 'application/json' };

export function adminPrincipal(prefix) {
  return `${prefix}-admin`;
}

function headers(cfg, sub, scope, idempotencyKey) {
  const h = Object.assign({ Authorization: bearer(cfg.jwtSecret, sub, scope) }, JSON_HEADERS);
  if (idempotencyKey) h['Idempotency-Key'] = idempotencyKey;
  return h;
}

/** The request object for http.request / http.batch. */
export function transferRequest(cfg, from, to, amount, key) {
  const body = { from_account_id: from.id, to_account_id: to.id, amount: String(amount), currency: cfg.currency };
  if (cfg.runTag) body.description = cfg.runTag;
  return {
    method: 'POST',
    url: `${cfg.baseUrl}/v1/transfers`,
    body: JSON.stringify(body),
    params: { headers: headers(cfg, from.owner, USER_SCOPE, key), tags: { name: 'POST /v1/transfers' }, timeout: '30s' },
  };
}

export function postTransfer(cfg, from, to, amount, key) {
  const r = transferRequest(cfg, from, to, amount, key);
  return http.request(r.method, r.url, r.body, r.params);
}

/** POST /v1/batch of TRANSFER items, all sent by `owner` (its accounts are the sources). */
export function postBatch(cfg, owner, transfers, key) {
  const items = transfers.map((t) => {
    const item = { kind: 'TRANSFER', from_account_id: t.from.id, to_account_id: t.to.id, amount: String(t.amount), currency: cfg.currency };
    if (cfg.runTag) item.description = cfg.runTag;
    return item;
  });
  return http.post(`${cfg.baseUrl}/v1/batch`, JSON.stringify({ items }), {
    headers: headers(cfg, owner, USER_SCOPE, key),
    tags: { name: 'POST /v1/batch' },
    timeout: '60s',
  });
}

export function createAccountRequest(cfg, owner, key) {
  return {
    method: 'POST',
    url: `${cfg.baseUrl}/v1/accounts`,
    body: JSON.stringify({ currency: cfg.currency }),
    params: { headers: headers(cfg, owner, USER_SCOPE, key), tags: { name: 'POST /v1/accounts' } },
  };
}

export function depositRequest(cfg, admin, accountId, amount, key) {
  return {
    method: 'POST',
    url: `${cfg.baseUrl}/v1/deposits`,
    body: JSON.stringify({ account_id: accountId, amount: String(amount), currency: cfg.currency }),
    params: { headers: headers(cfg, admin, ADMIN_SCOPE, key), tags: { name: 'POST /v1/deposits' } },
  };
}

export function getTransferRequest(cfg, reader, id, waitMs) {
  return {
    method: 'GET',
    url: `${cfg.baseUrl}/v1/transfers/${id}${waitMs > 0 ? `?wait_ms=${waitMs}` : ''}`,
    body: null,
    params: {
      headers: { Authorization: bearer(cfg.jwtSecret, reader, ADMIN_SCOPE) },
      tags: { name: 'GET /v1/transfers/{id}' },
      timeout: `${Math.ceil(waitMs / 1000) + 10}s`,
    },
  };
}

export function getTransfer(cfg, reader, id, waitMs) {
  const r = getTransferRequest(cfg, reader, id, waitMs);
  return http.request(r.method, r.url, r.body, r.params);
}

/** sub/scope: the owner with USER_SCOPE, or the admin with ADMIN_SCOPE. */
export function getBalance(cfg, sub, scope, accountId, tagName) {
  return http.get(`${cfg.baseUrl}/v1/accounts/${accountId}/balance`, {
    headers: { Authorization: bearer(cfg.jwtSecret, sub, scope) },
    tags: { name: tagName || 'GET /v1/accounts/{id}/balance' },
  });
}

export function getEntries(cfg, reader, accountId, limit) {
  return http.get(`${cfg.baseUrl}/v1/accounts/${accountId}/entries?limit=${limit}`, {
    headers: { Authorization: bearer(cfg.jwtSecret, reader, ADMIN_SCOPE) },
    tags: { name: 'GET /v1/accounts/{id}/entries' },
  });
}

export function jsonOf(res) {
  try {
    return res.json();
  } catch (_) {
    return null;
  }
}

export function is2xx(res) {
  return res.status >= 200 && res.status < 300;
}
