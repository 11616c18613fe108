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
    checks.push(await legsAgreeWithStatus(client));
    checks.push(await transferEntriesAgreeWithStatus(client));
    const inFlight = await inFlightCheck(client);
    checks.push(inFlight.check);
    checks.push(await outboxBacklog(client, options.outboxAgeMaxMs));
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
  let overdraftCount = 0;
  let after = '00000000-0000-0000-0000-000000000000';
  let done = 0;
  for (;;) {
    const page = await client.query(
      `SELECT a.id, a.balance, a.seq, a.overdraft_limit,
              coalesce(e.total, 0) AS entries_total, coalesce(e.n, 0) AS entries_n, coalesce(e.max_seq, 0) AS max_seq,
              coalesce(e.last_after, 0) AS last_after
         FROM (SELECT * FROM accounts WHERE id > $1 ORDER BY id LIMIT $2) a
         LEFT JOIN LATERAL (
           SELECT sum(amount) AS total, count(*) AS n, max(seq) AS max_seq,
                  (SELECT balance_after FROM entries x WHERE x.account_id = a.id ORDER BY seq DESC LIMIT 1) AS last_after
             FROM entries WHERE account_id = a.id) e ON true
        ORDER BY a.id`,
      [after, step],
    );
    if (page.rows.length === 0) break;
    for (const row of page.rows) {
      if (row.balance !== row.entries_total || (row.entries_n !== '0' && row.last_after !== row.balance)) {
        balanceCount++;
        balance.push({ example: `${row.id}: balance ${row.balance}, entries sum ${row.entries_total}` });
      }
      if (row.entries_n !== row.max_seq || row.seq !== row.max_seq) {
        gapCount++;
        gaps.push({ example: `${row.id}: ${row.entries_n} entries, max seq ${row.max_seq}, account seq ${row.seq}` });
      }
      if (row.overdraft_limit !== null && BigInt(row.balance) < -BigInt(row.overdraft_limit)) {
        overdraftCount++;
        overdraft.push({ example: `${row.id}: balance ${row.balance} below -${row.overdraft_limit}` });
      }
    }
    after = page.rows[page.rows.length - 1].id;
    done += page.rows.length;
    options.onProgress?.(done, total);
  }
  return [
    result('balance-equals-entries', "every account's balance equals the sum of its entries", balance, balanceCount),
    result('seq-contiguous', "each account's entry seq runs 1..n without gaps", gaps, gapCount),
    result('no-overdraft', 'no balance is below its overdraft limit', overdraft, overdraftCount),
  ];
}

async function transfersBalanced(client: PoolClient): Promise<CheckResult> {
  const rows = await client.query(
    `SELECT transfer_id || ' nets ' || sum(amount) AS example FROM entries GROUP BY transfer_id HAVING sum(amount) <> 0`,
  );
  return result('transfer-balanced', "each transfer's entries net to zero", rows.rows);
}

async function legsAgreeWithStatus(client: PoolClient): Promise<CheckResult> {
  const rows = await client.query(
    `SELECT t.id || ' is ' || t.status || ' with legs ' || coalesce(string_agg(l.leg || ':' || l.outcome, ','), 'none') AS example
       FROM transfers t LEFT JOIN transfer_legs l ON l.transfer_id = t.id
      WHERE t.kind = 'TRANSFER'
      GROUP BY t.id, t.status
     HAVING (t.status = 'COMPLETED' AND bool_or(l.leg = 'CREDIT') AND NOT bool_or(l.leg = 'CREDIT' AND l.outcome = 'APPLIED'))
         OR (t.status = 'REJECTED' AND bool_or(l.leg = 'CREDIT') AND NOT bool_or(l.leg = 'REFUND' AND l.outcome = 'APPLIED'))
         OR (t.status = 'PROCESSING' AND (bool_or(l.leg = 'CREDIT' AND l.outcome = 'APPLIED') OR bool_or(l.leg = 'REFUND')))
         OR (bool_or(l.leg = 'REFUND') AND NOT bool_or(l.leg = 'CREDIT' AND l.outcome = 'REJECTED'))`,
  );
  return result('legs-agree-with-status', "every transfer's saga legs agree with its status", rows.rows);
}

async function transferEntriesAgreeWithStatus(client: PoolClient): Promise<CheckResult> {
  // For the client-facing accounts: COMPLETED moved `amount`, REJECTED moved nothing net,
  // PROCESSING has debited the source and not yet credited the destination.
  const rows = await client.query(
    `WITH moved AS (
       SELECT t.id, t.kind, t.status, t.amount,
              coalesce(sum(e.amount) FILTER (WHERE e.account_id = t.from_account_id), 0) AS from_net,
              coalesce(sum(e.amount) FILTER (WHERE e.account_id = t.to_account_id), 0) AS to_net
         FROM transfers t LEFT JOIN entries e ON e.transfer_id = t.id
        GROUP BY t.id)
     SELECT id || ' ' || status || ': from ' || from_net || ', to ' || to_net || ', amount ' || amount AS example
       FROM moved
      WHERE (status = 'COMPLETED' AND ((kind <> 'DEPOSIT' AND from_net <> -amount) OR (kind <> 'WITHDRAWAL' AND to_net <> amount)))
         OR (status = 'REJECTED' AND (from_net <> 0 OR to_net <> 0))
         OR (status = 'PROCESSING' AND (from_net <> -amount OR to_net <> 0))`,
  );
  return result('entries-agree-with-status', "each transfer's entries on its accounts match its status", rows.rows);
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
    `SELECT 'outbox ' || id || ' (' || topic || ') unpublished since ' || created_at AS example
       FROM outbox WHERE published_at IS NULL AND created_at < now() - make_interval(secs => $1::float8 / 1000)
      ORDER BY id`,
    [ageMaxMs],
  );
  return result('outbox-published', `no outbox row stays unpublished beyond ${ageMaxMs} ms`, rows.rows);
}
