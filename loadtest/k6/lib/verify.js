// The sampled proof that money really moved: the transfer reaches COMPLETED (long poll),
// both accounts' balance versions advanced past what they were before the POST, and the
// journal of the account that is not the hot merchant holds the entry with the right sign.
import http from 'k6/http';
import { check } from 'k6';
import { ADMIN_SCOPE, bearer } from './auth.js';
import { getEntries, getTransfer, getTransferRequest, is2xx, jsonOf } from './api.js';
import { e2eCompleted, e2eNotCompleted, moneyMoved, transfersVerified } from './metrics.js';

const JOURNAL_PAGE = 100;

/** Balance versions of the accounts, read with the admin token (it may read any account). */
export function balanceVersions(cfg, admin, ids) {
  const responses = http.batch(
    ids.map((id) => ({
      method: 'GET',
      url: `${cfg.baseUrl}/v1/accounts/${id}/balance`,
      params: { headers: { Authorization: bearer(cfg.jwtSecret, admin, ADMIN_SCOPE) }, tags: { name: 'verify balance' } },
    })),
  );
  return responses.map((res) => {
    const body = jsonOf(res);
    return is2xx(res) && body && /^[0-9]+$/.test(String(body.version)) ? Number(body.version) : null;
  });
}

/**
 * Long-polls several transfers at once (http.batch), for a caller that follows more than one
 * transfer acked at the same instant: polled one after another, each later one would be seen
 * only once the earlier ones were verified, and its e2e_ms would carry their waits. Returns,
 * per id, the answer and when it arrived (the batch's start plus that request's own time).
 */
export function pollTransfers(cfg, admin, transferIds) {
  // The caller's options must let k6 send them all at once (batch, batchPerHost >= the count):
  // a request k6 holds back has no timing for that wait.
  const startedAt = Date.now();
  const responses = http.batch(transferIds.map((id) => getTransferRequest(cfg, admin, id, cfg.waitMs)));
  return responses.map((res) => {
    const t = res.timings;
    return { res, seenAt: startedAt + Math.round(t.blocked + t.connecting + t.tls_handshaking + t.duration) };
  });
}

/**
 * Waits for the transfer to become terminal and checks its effects. `ackedAtMs` is when the
 * POST's 2xx arrived; the wait from there to COMPLETED is the sampled end-to-end latency.
 * `journalSide` names the account whose entries to search ('from' or 'to'), or null to skip.
 * `polled` (from pollTransfers) is the long poll already made for this transfer, if any.
 */
export function verifyMoved(cfg, admin, transferId, from, to, amount, versionsBefore, ackedAtMs, journalSide, polled) {
  const res = polled ? polled.res : getTransfer(cfg, admin, transferId, cfg.waitMs);
  const seenAt = polled ? polled.seenAt : Date.now();
  const body = jsonOf(res);
  const completed = check(body, { 'transfer COMPLETED': (b) => b !== null && b.status === 'COMPLETED' });
  if (completed) {
    e2eCompleted(seenAt - ackedAtMs);
  } else {
    // Not COMPLETED when the poll ended: its latency is at least what it waited, which is
    // WAIT_MS only when the poll ran its course. One that ended at once (an error, a refusal,
    // or past the API's long-poll share, which answers with the current state) waited less,
    // and counting it at WAIT_MS made up a latency no transfer had (found by an outside review:
    // a run with a 2.5 s p95 printed >=10000 ms).
    e2eNotCompleted(seenAt - ackedAtMs);
  }
  let ok = completed;
  if (completed && cfg.verify === 'full') {
    const after = balanceVersions(cfg, admin, [from.id, to.id]);
    ok =
      check(after, {
        'source balance version advanced': (v) => v[0] !== null && versionsBefore[0] !== null && v[0] > versionsBefore[0],
        'destination balance version advanced': (v) => v[1] !== null && versionsBefore[1] !== null && v[1] > versionsBefore[1],
      }) && ok;
    if (journalSide) {
      const account = journalSide === 'from' ? from : to;
      const signed = journalSide === 'from' ? `-${amount}` : `${amount}`;
      const page = jsonOf(getEntries(cfg, admin, account.id, JOURNAL_PAGE));
      ok =
        check(page, {
          'journal holds exactly one entry for the transfer': (p) =>
            p !== null &&
            Array.isArray(p.entries) &&
            p.entries.filter((e) => e.transfer_id === transferId && String(e.amount) === signed).length === 1,
        }) && ok;
    }
  }
  moneyMoved.add(ok ? 1 : 0);
  transfersVerified.add(1);
  return ok;
}
