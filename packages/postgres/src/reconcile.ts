/**
 * Reconciliation: checks the invariants of docs/design.md against live data, in ONE repeatable-read
 * snapshot so that money moving meanwhile cannot show up as a false violation.
 *
 * Each check returns how many rows break it and a few examples. The per-account checks
 * walk the accounts in id order, `accountsPerStepMax` at a time, so a large ledger is read
 * in bounded steps and progress can be shown.
 */
import type { Pool, PoolClient } from 'pg';
import { inTransaction } from './pool';

export interface CheckResult {
  name: string;
  description: string;
  violations: number;
  examples: string[];
}

export interface ReconcileOptions {
  /** An outbox row unpublished for longer than this is a violation. */
  outboxAgeMaxMs: number;
  accountsPerStepMax?: number;
  onProgress?(done: number, total: number): void;
}

export interface ReconcileReport {
  checks: CheckResult[];
  accounts: number;
  transfers: number;
  inFlight: { currency: string; amount: bigint }[];
  checkedAt: string;
}

const EXAMPLES_MAX = 5;

export async function reconcile(pool: Pool, options: ReconcileOptions): Promise<ReconcileReport> {
  return inTransaction(pool, async (client) => {
    await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const checks: CheckResult[] = [];
    checks.push(await currencyTotals(client));
    checks.push(...(await perAccountChecks(client, options)));
    checks.push(await transfersBalanced(client));
    checks.push(await entriesNameAccounts(client));
    checks.push(await entriesNameTransfers(client));
    checks.push(await legsAgreeWithStatus(client));
    checks.push(await transferEntriesAgreeWithStatus(client));
    const inFlight = await inFlightCheck(client);
    checks.push(inFlight.check);
    checks.push(await outboxBacklog(client, options.outboxAgeMaxMs));
    checks.push(await heldEqualsHolds(client));
    checks.push(await holdEndsAgreeWithCaptures(client));
    checks.push(await reversalsWithinOriginal(client));
    checks.push(await closedAccountsStayClosed(client));
    checks.push(await entriesOnNamedAccounts(client));
    checks.push(await entryCurrencies(client));
    checks.push(await reversalsMirrorOriginal(client));
    checks.push(await capturesPaidByTheirHold(client));
    const counts = await client.query('SELECT (SELECT count(*) FROM accounts) AS accounts, (SELECT count(*) FROM transfers) AS transfers');
    return {
      checks,
      accounts: Number(counts.rows[0].accounts),
      transfers: Number(counts.rows[0].transfers),
      inFlight: inFlight.amounts,
      checkedAt: new Date().toISOString(),
    };
  });
}

function result(name: string, description: string, rows: { example: string }[], violations = rows.length): CheckResult {
  return { name, description, violations, examples: rows.slice(0, EXAMPLES_MAX).map((r) => r.example) };
}

/**
 * A check's query (one `example` column per violating row), counted in Postgres and cut to
 * its first EXAMPLES_MAX rows: a ledger with many violations (the outbox stalled for hours,
 * say) never sends them all to this process, which may be a worker's scheduled run (an
 * outside review of ledgerctl: every row came back, one string each).
 *
 * The check runs as a MATERIALIZED CTE, which Postgres plans for all its rows, as it planned
 * the query alone. A LIMIT over a plain subquery lets the planner choose a plan that is fast
 * for the first rows instead: the 600 s chaos run's proof found entries-agree-with-status
 * still running after three minutes that way (a nested loop over `entries`, which has no
 * index by transfer), where the query alone takes a fraction of a second.
 */
function capped(sql: string): string {
  return `WITH violation AS MATERIALIZED (${sql})
          SELECT example, (SELECT count(*) FROM violation) AS violations FROM violation LIMIT ${EXAMPLES_MAX}`;
}

/** The result of a `capped` query: its rows are the examples, each carrying the whole count. */
function counted(name: string, description: string, rows: { example: string; violations: string }[]): CheckResult {
  return result(name, description, rows, Number(rows[0]?.violations ?? 0));
}

async function currencyTotals(client: PoolClient): Promise<CheckResult> {
  const rows = await client.query(
    `SELECT currency || ' sums to ' || sum(balance) AS example FROM accounts GROUP BY currency HAVING sum(balance) <> 0`,
  );
  return result('conservation', 'every currency sums to zero over all accounts (transit, external included)', rows.rows);
}

async function perAccountChecks(client: PoolClient, options: ReconcileOptions): Promise<CheckResult[]> {
  const step = options.accountsPerStepMax ?? 5000;
  const total = Number((await client.query('SELECT count(*) AS n FROM accounts')).rows[0].n);
  const balance: { example: string }[] = [];
  const gaps: { example: string }[] = [];
  const overdraft: { example: string }[] = [];
  let balanceCount = 0;
  let gapCount = 0;
  const backwards: { example: string }[] = [];
  let backwardsCount = 0;
  const unchained: { example: string }[] = [];
  let unchainedCount = 0;
  let overdraftCount = 0;
  let after = '00000000-0000-0000-0000-000000000000';
  let done = 0;
  for (;;) {
    const page = await client.query(
      `SELECT a.id, a.balance, a.seq, a.overdraft_limit,
              coalesce(e.total, 0) AS entries_total, coalesce(e.n, 0) AS entries_n, coalesce(e.max_seq, 0) AS max_seq,
              coalesce(e.last_after, 0) AS last_after, coalesce(e.backwards, 0) AS backwards,
              coalesce(e.unchained, 0) AS unchained, e.first_unchained
         FROM (SELECT * FROM accounts WHERE id > $1 ORDER BY id LIMIT $2) a
         LEFT JOIN LATERAL (
           SELECT sum(amount) AS total, count(*) AS n, max(seq) AS max_seq, count(*) FILTER (WHERE back) AS backwards,
                  count(*) FILTER (WHERE unchained) AS unchained,
                  (array_agg('seq ' || seq || ': balance_after ' || balance_after || ', previous ' || previous_after || ' + amount ' || amount
                             ORDER BY seq) FILTER (WHERE unchained))[1] AS first_unchained,
                  (SELECT balance_after FROM entries x WHERE x.account_id = a.id ORDER BY seq DESC LIMIT 1) AS last_after
             -- One pass over the account's entries in seq order: the sums, each created_at
             -- against the one before it (entry-times-ordered), and each balance_after against
             -- the one before it plus its own amount (balance-after-chained).
             FROM (SELECT amount, seq, balance_after, created_at < lag(created_at) OVER (ORDER BY seq) AS back,
                          lag(balance_after, 1, 0::bigint) OVER (ORDER BY seq) AS previous_after,
                          balance_after <> lag(balance_after, 1, 0::bigint) OVER (ORDER BY seq)::numeric + amount AS unchained
                     FROM entries WHERE account_id = a.id) y) e ON true
        ORDER BY a.id`,
      [after, step],
    );
    if (page.rows.length === 0) break;
    for (const row of page.rows) {
      if (row.balance !== row.entries_total || (row.entries_n !== '0' && row.last_after !== row.balance)) {
        balanceCount++;
        if (balance.length < EXAMPLES_MAX) balance.push({ example: `${row.id}: balance ${row.balance}, entries sum ${row.entries_total}` });
      }
      if (row.entries_n !== row.max_seq || row.seq !== row.max_seq) {
        gapCount++;
        if (gaps.length < EXAMPLES_MAX) gaps.push({ example: `${row.id}: ${row.entries_n} entries, max seq ${row.max_seq}, account seq ${row.seq}` });
      }
      if (row.unchained !== '0') {
        unchainedCount++;
        if (unchained.length < EXAMPLES_MAX) unchained.push({ example: `${row.id}: ${row.first_unchained} (${row.unchained === '1' ? '1 entry' : `${row.unchained} entries`} off the chain)` });
      }
      if (row.backwards !== '0') {
        backwardsCount++;
        if (backwards.length < EXAMPLES_MAX) backwards.push({ example: `${row.id}: created_at goes back ${row.backwards} time(s) as seq grows` });
      }
      if (row.overdraft_limit !== null && BigInt(row.balance) < -BigInt(row.overdraft_limit)) {
        overdraftCount++;
        if (overdraft.length < EXAMPLES_MAX) overdraft.push({ example: `${row.id}: balance ${row.balance} below -${row.overdraft_limit}` });
      }
    }
    after = page.rows[page.rows.length - 1].id;
    done += page.rows.length;
    options.onProgress?.(done, total);
  }
  return [
    result('balance-equals-entries', "every account's balance equals the sum of its entries", balance, balanceCount),
    result('seq-contiguous', "each account's entry seq runs 1..n without gaps", gaps, gapCount),
    // The balance at a past instant is an intermediate entry's balance_after (ledger-reads.ts,
    // BALANCE_AT_SQL): balance-equals-entries sees only the last one. Every account opens at 0
    // (the API's INSERT grant leaves balance to its default, 0: privileges.sql; the worker
    // creates system accounts at 0: ledger_apply_batch), and an amount is signed as the balance
    // moves (apply.ts, post), so the first entry's balance_after is its own amount.
    result('balance-after-chained', "each entry's balance_after is the one before it (0 for an account's first) plus its amount", unchained, unchainedCount),
    // The time reads (balance at an instant, the entries window) bisect the seqs on it (0016).
    result('entry-times-ordered', "each account's entries' created_at never decreases as seq grows", backwards, backwardsCount),
    result('no-overdraft', 'no balance is below its overdraft limit', overdraft, overdraftCount),
  ];
}

async function transfersBalanced(client: PoolClient): Promise<CheckResult> {
  const rows = await client.query(
    capped(`SELECT transfer_id || ' nets ' || sum(amount) || ' ' || currency AS example
       FROM entries GROUP BY transfer_id, currency HAVING sum(amount) <> 0`),
  );
  // Per currency: +1 USD and -1 EUR are not a balanced transfer (no movement converts).
  return counted('transfer-balanced', "each transfer's entries net to zero in each currency", rows.rows);
}

/** Guarded on every insert (the entries trigger of migration 0013; accounts are never removed); checked here too. */
async function entriesNameAccounts(client: PoolClient): Promise<CheckResult> {
  const rows = await client.query(
    capped(`SELECT e.account_id || ' has ' || count(*) || ' entries and no account' AS example
       FROM entries e
      WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = e.account_id)
      GROUP BY e.account_id`),
  );
  return counted('entry-accounts-exist', 'every entry names an existing account', rows.rows);
}

/**
 * Every movement that posts entries is a transfer with a row: a client command's row is
 * written in the batch that posts its first entries (COMPLETED, or PROCESSING with the
 * source's debit), and a saga leg's entries (credit, refund) are written only with the status
 * change of that row, which ledger_apply_batch refuses when the row is not there (LL003).
 * Nothing in the database checks it on insert; entries-agree-with-status starts from the
 * transfers, so an entry of no transfer would be seen by no other check.
 *
 * Entries have no index on transfer_id (migration 0011), and every one is read: one hashed
 * anti-join over them (transfers hashed), which is what the planner chose at 40,000 entries.
 * Nested loops are off, as in holds-end-once, so that statistics that under-count the entries
 * cannot turn it into a probe of transfers per entry.
 */
async function entriesNameTransfers(client: PoolClient): Promise<CheckResult> {
  await client.query('SET LOCAL enable_nestloop = off');
  const rows = await client.query(
    capped(`SELECT e.transfer_id || ' has ' || count(*) || ' entries and no transfer' AS example
       FROM entries e
      WHERE NOT EXISTS (SELECT 1 FROM transfers t WHERE t.id = e.transfer_id)
      GROUP BY e.transfer_id`),
  );
  await client.query('SET LOCAL enable_nestloop = on');
  return counted('entry-transfers-exist', 'every entry names an existing transfer', rows.rows);
}

/**
 * A transfer_legs row is a leg its partition refused, or (written before migration 0018) one
 * that applied; a leg that applies now leaves no row, its record being the status it sets.
 * Contradictions: a COMPLETED transfer with a refused leg or any refund; a REJECTED one whose
 * credit applied or whose refund was refused (that keeps it PROCESSING, money in transit); a
 * PROCESSING one with an applied credit or any refund row (a refused refund is shown here on
 * purpose: its money waits in transit for an operator); a refund without a refused credit.
 */
async function legsAgreeWithStatus(client: PoolClient): Promise<CheckResult> {
  const rows = await client.query(
    capped(`SELECT t.id || ' is ' || t.status || ' with legs ' || coalesce(string_agg(l.leg || ':' || l.outcome, ','), 'none') AS example
       FROM transfers t LEFT JOIN transfer_legs l ON l.transfer_id = t.id
      WHERE t.kind IN ('TRANSFER', 'CAPTURE', 'REVERSAL')
      GROUP BY t.id, t.status
     HAVING (t.status = 'COMPLETED' AND (bool_or(l.outcome = 'REJECTED') OR bool_or(l.leg = 'REFUND')))
         OR (t.status = 'REJECTED' AND (bool_or(l.leg = 'CREDIT' AND l.outcome = 'APPLIED') OR bool_or(l.leg = 'REFUND' AND l.outcome = 'REJECTED')))
         OR (t.status = 'PROCESSING' AND (bool_or(l.leg = 'CREDIT' AND l.outcome = 'APPLIED') OR bool_or(l.leg = 'REFUND')))
         OR (bool_or(l.leg = 'REFUND') AND NOT bool_or(l.leg = 'CREDIT' AND l.outcome = 'REJECTED'))`),
  );
  return counted('legs-agree-with-status', "every transfer's saga legs agree with its status", rows.rows);
}

async function transferEntriesAgreeWithStatus(client: PoolClient): Promise<CheckResult> {
  // For the client-facing accounts: COMPLETED moved `amount`, REJECTED moved nothing net,
  // PROCESSING has debited the source and not yet credited the destination. A side with no
  // account (a deposit's source, a withdrawal's or a deposit reversal's destination) is the
  // external account.
  const rows = await client.query(
    capped(`WITH moved AS (
       SELECT t.id, t.kind, t.status, t.amount, t.from_account_id, t.to_account_id,
              coalesce(sum(e.amount) FILTER (WHERE e.account_id = t.from_account_id), 0) AS from_net,
              coalesce(sum(e.amount) FILTER (WHERE e.account_id = t.to_account_id), 0) AS to_net
         FROM transfers t LEFT JOIN entries e ON e.transfer_id = t.id
        GROUP BY t.id)
     SELECT id || ' ' || status || ': from ' || from_net || ', to ' || to_net || ', amount ' || amount AS example
       FROM moved
      WHERE (status = 'COMPLETED' AND ((from_account_id IS NOT NULL AND from_net <> -amount) OR (to_account_id IS NOT NULL AND to_net <> amount)))
         OR (status = 'REJECTED' AND (from_net <> 0 OR to_net <> 0))
         OR (status = 'PROCESSING' AND (from_net <> -amount OR to_net <> 0))`),
  );
  return counted('entries-agree-with-status', "each transfer's entries on its accounts match its status", rows.rows);
}

async function inFlightCheck(client: PoolClient): Promise<{ check: CheckResult; amounts: { currency: string; amount: bigint }[] }> {
  const rows = await client.query(
    `WITH transit AS (SELECT currency, sum(balance) AS held FROM accounts WHERE kind = 'TRANSIT' GROUP BY currency),
          flying AS (SELECT currency, sum(amount) AS amount FROM transfers WHERE status = 'PROCESSING' GROUP BY currency)
     SELECT coalesce(t.currency, f.currency) AS currency, coalesce(t.held, 0) AS held, coalesce(f.amount, 0) AS flying
       FROM transit t FULL JOIN flying f ON f.currency = t.currency`,
  );
  const bad = rows.rows
    .filter((r) => r.held !== r.flying)
    .map((r) => ({ example: `${r.currency}: transit accounts hold ${r.held}, PROCESSING transfers carry ${r.flying}` }));
  return {
    check: result('in-flight-equals-transit', 'money in flight equals the sum over the transit accounts', bad),
    amounts: rows.rows.map((r) => ({ currency: r.currency, amount: BigInt(r.flying) })),
  };
}

async function outboxBacklog(client: PoolClient, ageMaxMs: number): Promise<CheckResult> {
  const rows = await client.query(
    capped(`SELECT 'outbox ' || id || ' (' || topic || ') unpublished since ' || created_at AS example
       FROM outbox WHERE published_at IS NULL AND created_at < now() - make_interval(secs => $1::float8 / 1000)
      ORDER BY id`),
    [ageMaxMs],
  );
  return counted('outbox-published', `no outbox row stays unpublished beyond ${ageMaxMs} ms`, rows.rows);
}

// The invariants of holds, reversals and the account life cycle (docs/api.md).

async function heldEqualsHolds(client: PoolClient): Promise<CheckResult> {
  const rows = await client.query(
    capped(`WITH active AS (SELECT account_id, sum(amount) AS held FROM holds WHERE status = 'HELD' GROUP BY account_id)
     SELECT coalesce(a.id, h.account_id) || ': held ' || coalesce(a.held, 0) || ', active holds ' || coalesce(h.held, 0) AS example
       FROM (SELECT id, held FROM accounts WHERE held <> 0) a FULL JOIN active h ON h.account_id = a.id
      WHERE coalesce(a.held, 0) <> coalesce(h.held, 0)`),
  );
  return counted('held-equals-active-holds', 'each account\'s balance - available (held) equals the sum of its HELD holds', rows.rows);
}

async function holdEndsAgreeWithCaptures(client: PoolClient): Promise<CheckResult> {
  // A capture "moved money" when it has entries (a refused one has none, a refunded one nets
  // zero but still took the held money out first). Only a CAPTURED hold may have one, exactly
  // one, for its captured amount: so no hold is both captured and voided (or expired).
  // Entries have no index on transfer_id (migration 0011), so "has entries" must be one hashed
  // pass over entries: a nested loop, which the planner picks when it expects a single
  // capture, would scan every entry once per capture.
  await client.query('SET LOCAL enable_nestloop = off');
  const rows = await client.query(
    capped(`WITH moved AS (
       SELECT t.hold_id, count(*) AS n, max(t.amount) AS amount, max(t.id::text) AS id
         FROM transfers t
        WHERE t.hold_id IS NOT NULL AND EXISTS (SELECT 1 FROM entries e WHERE e.transfer_id = t.id)
        GROUP BY t.hold_id)
     SELECT h.id || ' is ' || h.status || ' (captured ' || h.captured_amount || ') with ' || coalesce(m.n, 0) || ' captures moving money' AS example
       FROM holds h LEFT JOIN moved m ON m.hold_id = h.id
      WHERE (h.status = 'CAPTURED' AND (m.n IS DISTINCT FROM 1 OR m.amount <> h.captured_amount OR m.id <> h.capture_id::text))
         OR (h.status <> 'CAPTURED' AND m.n IS NOT NULL)`),
  );
  await client.query('SET LOCAL enable_nestloop = on');
  return counted('holds-end-once', 'a hold is captured by exactly one capture (for captured_amount) or by none; never captured and voided', rows.rows);
}

async function reversalsWithinOriginal(client: PoolClient): Promise<CheckResult> {
  const rows = await client.query(
    capped(`WITH reversing AS (
       SELECT reverses AS id, sum(amount) AS amount FROM transfers
        WHERE reverses IS NOT NULL AND status IN ('COMPLETED', 'PROCESSING') GROUP BY reverses)
     SELECT t.id || ': amount ' || t.amount || ', reversed ' || coalesce(r.reversed_amount, 0) || ', reversals ' || coalesce(v.amount, 0) AS example
       FROM transfers t
       LEFT JOIN transfer_reversals r ON r.transfer_id = t.id
       LEFT JOIN reversing v ON v.id = t.id
      WHERE (r.transfer_id IS NOT NULL OR v.id IS NOT NULL)
        AND (coalesce(r.reversed_amount, 0) <> coalesce(v.amount, 0) OR coalesce(v.amount, 0) > t.amount)`),
  );
  return counted('reversals-within-original', "a transfer's reversals add up to its reversed_amount, never more than its amount", rows.rows);
}

async function closedAccountsStayClosed(client: PoolClient): Promise<CheckResult> {
  const rows = await client.query(
    capped(`WITH closing AS (
       SELECT account_id, min(seq_at) AS seq_at FROM account_changes
        WHERE outcome = 'APPLIED' AND status = 'CLOSED' GROUP BY account_id)
     SELECT a.id || ': balance ' || a.balance || ', held ' || a.held || ', seq ' || a.seq || ' after closing at ' || coalesce(c.seq_at::text, 'unknown') AS example
       FROM accounts a LEFT JOIN closing c ON c.account_id = a.id
      WHERE (a.status = 'CLOSED' AND (a.balance <> 0 OR a.held <> 0 OR c.seq_at IS NULL OR a.seq <> c.seq_at))
         OR (c.account_id IS NOT NULL AND a.status <> 'CLOSED')`),
  );
  return counted('closed-accounts-empty', 'a closed account has balance 0, no hold and no entry after its closing', rows.rows);
}

/** An entry on a USER account belongs to a transfer that names that account as payer or payee. */
async function entriesOnNamedAccounts(client: PoolClient): Promise<CheckResult> {
  await client.query('SET LOCAL enable_nestloop = off');
  const rows = await client.query(
    capped(`SELECT e.account_id || ' has ' || count(*) || ' entries of ' || e.transfer_id || ', which names it neither as payer nor payee' AS example
       FROM entries e JOIN accounts a ON a.id = e.account_id JOIN transfers t ON t.id = e.transfer_id
      WHERE a.kind = 'USER' AND e.account_id IS DISTINCT FROM t.from_account_id AND e.account_id IS DISTINCT FROM t.to_account_id
      GROUP BY e.account_id, e.transfer_id`),
  );
  await client.query('SET LOCAL enable_nestloop = on');
  return counted('entries-on-named-accounts', "every entry on a user account is on its transfer's payer or payee", rows.rows);
}

/** An entry is in its account's currency and in its transfer's. */
async function entryCurrencies(client: PoolClient): Promise<CheckResult> {
  await client.query('SET LOCAL enable_nestloop = off');
  const rows = await client.query(
    capped(`SELECT e.account_id || ' seq ' || e.seq || ': entry in ' || e.currency || ', account in ' || a.currency || ', transfer in ' || coalesce(t.currency, '?') AS example
       FROM entries e JOIN accounts a ON a.id = e.account_id LEFT JOIN transfers t ON t.id = e.transfer_id
      WHERE e.currency <> a.currency OR e.currency <> t.currency`),
  );
  await client.query('SET LOCAL enable_nestloop = on');
  return counted('entry-currencies', "every entry is in its account's currency and its transfer's", rows.rows);
}

/** A reversal that moved money runs back from the original's payee to its payer (outside for a deposit), in its currency. */
async function reversalsMirrorOriginal(client: PoolClient): Promise<CheckResult> {
  const rows = await client.query(
    capped(`SELECT r.id || ' reverses ' || o.id || ' from ' || coalesce(r.from_account_id::text, 'outside') || ' to ' || coalesce(r.to_account_id::text, 'outside') AS example
       FROM transfers r JOIN transfers o ON o.id = r.reverses
      WHERE r.status IN ('COMPLETED', 'PROCESSING')
        AND (r.from_account_id IS DISTINCT FROM o.to_account_id
             OR r.to_account_id IS DISTINCT FROM (CASE WHEN o.kind = 'DEPOSIT' THEN NULL ELSE o.from_account_id END)
             OR r.currency <> o.currency)`),
  );
  return counted('reversals-mirror-original', "a reversal moves money from its original's payee back to its payer", rows.rows);
}

/** A capture that moved money is paid by its hold's account, in its hold's currency, for no more than the hold. */
async function capturesPaidByTheirHold(client: PoolClient): Promise<CheckResult> {
  const rows = await client.query(
    capped(`SELECT t.id || ' captures hold ' || h.id || ' of ' || h.account_id || ' from ' || coalesce(t.from_account_id::text, 'nowhere') AS example
       FROM transfers t JOIN holds h ON h.id = t.hold_id
      WHERE t.kind = 'CAPTURE' AND t.status IN ('COMPLETED', 'PROCESSING')
        AND (t.from_account_id IS DISTINCT FROM h.account_id OR t.currency <> h.currency OR t.amount > h.amount)`),
  );
  return counted('captures-paid-by-their-hold', "a capture moves money from its hold's account", rows.rows);
}
