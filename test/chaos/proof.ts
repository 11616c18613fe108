/**
 * The proof: after the faults, once the system is quiet, the books are held against
 * Postgres (read directly, not through the API).
 *
 *   lost                acknowledged (2xx) but not terminal in Postgres (absent or still
 *                       PROCESSING); and a request of unknown outcome that Postgres has but
 *                       did not finish
 *   duplicated          a (transfer, account, leg) with more than one entry (a cross-partition
 *                       refund is a REFUND leg, so it never looks like one), plus accounts whose
 *                       balance differs from what the transfers Postgres applied imply when
 *                       computed from the books' own bodies (deposits - withdrawals - outgoing
 *                       + incoming), which is how a double application shows on money
 *   order_violations    for the sequential clients: entries on their account in the order the
 *                       requests were acknowledged (strictly increasing seq), and outcomes
 *                       that match an in-order replay of the 100/60/60/40 rounds
 *   invariant_violations  every reconcile check (conservation, balances = entries, seq gaps,
 *                       no overdraft, saga legs, transit = in flight, outbox drained), plus the
 *                       API's own promises: a transfer row that differs from the acknowledged
 *                       body, a transfer nobody asked for, a refused request that was applied
 *                       anyway, a bad request answered 2xx, a replay (same key and body) not
 *                       answered with the same transfer, a terminal status read that later
 *                       changed, a 500 to a valid request, a 429 or 503 without a
 *                       Retry-After, a worker that stopped on a broken invariant, and a cached
 *                       balance still behind (or ahead of) the ledger once the system is quiet
 *                       (a worker killed between a commit and its refresh leaves one for the
 *                       partition's next owner to catch up: docs/design.md, invariant 9)
 *   server_errors_on_bad_input  bad requests answered with a 5xx (a 503 + Retry-After is
 *                       the documented answer only for the ones that need a dependency)
 */
import type { KafkaAdmin } from '@ledgerline/kafka';
import type { BalanceCache } from '@ledgerline/redis';
import type { Pool } from 'pg';
import type { HoldBook } from './hold-load';
import { listDeadLetters, reconcile } from '@ledgerline/postgres';
import type { LedgerBooks, MovementRecord } from './ledger-books';
import { OVERFLOW_CLIENT, type SequentialClient } from './load';
import { sleep } from './random';

/** Requests per sequential round: deposit 100, transfer 60, 60, 40 (load.ts). */
const SEQUENTIAL_ROUND_STEPS = 4;

export interface Finding {
  name: string;
  count: number;
  examples: string[];
}

export interface ProofResult {
  accepted: number;
  lost: Finding[];
  duplicated: Finding[];
  orderViolations: Finding[];
  invariantViolations: Finding[];
  serverErrorsOnBadInput: Finding[];
  /** Worth reading, not counted: how the run went. */
  notes: string[];
}

export const total = (findings: readonly Finding[]) => findings.reduce((sum, f) => sum + f.count, 0);

const EXAMPLES_MAX = 5;

class FindingSet {
  private readonly map = new Map<string, Finding>();

  add(name: string, example: string, count = 1): void {
    let finding = this.map.get(name);
    if (!finding) {
      finding = { name, count: 0, examples: [] };
      this.map.set(name, finding);
    }
    finding.count += count;
    if (finding.examples.length < EXAMPLES_MAX) finding.examples.push(example);
  }

  list(): Finding[] {
    return [...this.map.values()].filter((f) => f.count > 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Quiescence
// ---------------------------------------------------------------------------------------------

export interface QuietState {
  /** Commands in Kafka not yet applied (high watermark - stored next_offset, summed). */
  lag: number;
  /** Partitions behind: "p<partition>@<stored next_offset>/<high watermark>". */
  behind: string[];
  processing: number;
  unpublishedOutbox: number;
  acknowledgedNotTerminal: number;
}

const isQuiet = (s: QuietState) => s.lag === 0 && s.processing === 0 && s.unpublishedOutbox === 0 && s.acknowledgedNotTerminal === 0;

export async function quietState(pool: Pool, admin: KafkaAdmin, topic: string, acknowledgedIds: readonly string[]): Promise<QuietState> {
  const watermarks = await admin.highWatermarks(topic);
  const stored = await pool.query('SELECT partition, next_offset FROM partition_state WHERE topic = $1', [topic]);
  const next = new Map<number, bigint>(stored.rows.map((r) => [Number(r.partition), BigInt(r.next_offset)]));
  let lag = 0n;
  const behind: string[] = [];
  for (const [partition, high] of [...watermarks].sort((a, b) => a[0] - b[0])) {
    const stored = next.get(partition) ?? 0n;
    if (high > stored) {
      lag += high - stored;
      behind.push(`p${partition}@${stored}/${high}`);
    }
  }
  const counts = await pool.query(
    `SELECT (SELECT count(*) FROM transfers WHERE status = 'PROCESSING') AS processing,
            (SELECT count(*) FROM outbox WHERE published_at IS NULL) AS unpublished,
            (SELECT count(*) FROM unnest($1::uuid[]) AS a(id)
              WHERE NOT EXISTS (SELECT 1 FROM transfers t WHERE t.id = a.id AND t.status IN ('COMPLETED', 'REJECTED'))) AS not_terminal`,
    [acknowledgedIds],
  );
  const row = counts.rows[0];
  return {
    lag: Number(lag),
    behind,
    processing: Number(row.processing),
    unpublishedOutbox: Number(row.unpublished),
    acknowledgedNotTerminal: Number(row.not_terminal),
  };
}

/**
 * Waits until every acknowledged transfer is terminal, nothing is in flight or unpublished
 * and the workers have applied everything Kafka holds, twice in a row; at most `timeoutMs`.
 */
export async function waitForQuiet(options: {
  pool: Pool;
  admin: KafkaAdmin;
  topic: string;
  acknowledgedIds: readonly string[];
  timeoutMs: number;
  log(line: string): void;
}): Promise<{ quiet: boolean; waitedMs: number; state: QuietState | null }> {
  const started = Date.now();
  let state: QuietState | null = null;
  let quietInARow = 0;
  let lastLog = 0;
  while (Date.now() - started < options.timeoutMs) {
    try {
      state = await quietState(options.pool, options.admin, options.topic, options.acknowledgedIds);
      quietInARow = isQuiet(state) ? quietInARow + 1 : 0;
      if (quietInARow >= 2) return { quiet: true, waitedMs: Date.now() - started, state };
      if (Date.now() - lastLog > 5_000) {
        lastLog = Date.now();
        options.log(`waiting for quiet: ${JSON.stringify(state)}`);
      }
    } catch (error) {
      options.log(`quiet check failed (retrying): ${(error as Error).message}`);
      quietInARow = 0;
    }
    await sleep(500);
  }
  return { quiet: false, waitedMs: Date.now() - started, state };
}

// ---------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------

interface TransferRow {
  id: string;
  kind: string;
  status: string;
  reason: string | null;
  from: string | null;
  to: string | null;
  amount: bigint;
  currency: string;
}

export interface ProofInput {
  pool: Pool;
  books: LedgerBooks;
  sequential: readonly SequentialClient[];
  /** Workers that stopped themselves on a broken invariant (exit code 70). */
  workerFatalExits: string[];
  /** Holds, captures, voids and reversals the hold load sent (issue 13). */
  holdBook?: HoldBook;
  /** The run's balance cache: no cached balance may stay behind the ledger. */
  cache?: BalanceCache;
}

export async function prove(input: ProofInput): Promise<ProofResult> {
  const { pool, books } = input;
  const transfers = await loadTransfers(pool);
  const notes: string[] = [];
  const lost = checkLost(books, transfers);
  const invariant = new FindingSet();
  await checkReconcile(pool, invariant);
  await checkNothingIsolated(pool, transfers, invariant);
  if (input.cache) await checkCacheCaughtUp(pool, input.cache, invariant, notes);
  checkRowsMatchBooks(books, transfers, invariant, input.holdBook);
  const heldLost = input.holdBook ? await checkHolds(pool, input.holdBook, transfers, invariant) : [];
  checkApiPromises(books, transfers, invariant, notes);
  checkOverflows(books, transfers, invariant, notes);
  for (const exit of input.workerFatalExits) invariant.add('worker-stopped-on-broken-invariant', exit);
  const duplicated = await checkDuplicates(pool, books, transfers, input.holdBook);
  const order = await checkOrder(pool, books, input.sequential, transfers);
  const badInput = checkBadInput(books, notes);
  notes.push(...runNotes(books, transfers));
  return {
    accepted: books.acknowledged().length,
    lost: [...lost.list(), ...heldLost],
    duplicated: duplicated.list(),
    orderViolations: order.list(),
    invariantViolations: invariant.list(),
    serverErrorsOnBadInput: badInput.list(),
    notes,
  };
}

/**
 * Every acknowledged deposit into the brim account must end REJECTED BALANCE_LIMIT_EXCEEDED:
 * the result would not fit the balance's range (docs/design.md invariant 10).
 */
function checkOverflows(books: LedgerBooks, transfers: Map<string, TransferRow>, findings: FindingSet, notes: string[]): void {
  let refused = 0;
  for (const record of books.movements) {
    if (record.client !== OVERFLOW_CLIENT || record.outcome !== 'acknowledged') continue;
    const row = transfers.get(record.transferId);
    if (!row || !terminal(row.status)) continue; // checkLost reports it
    if (row.status === 'REJECTED' && row.reason === 'BALANCE_LIMIT_EXCEEDED') refused++;
    else findings.add('overflow-not-refused', describe(record, `ended ${row.status} ${row.reason ?? ''}`));
  }
  notes.push(`overflow deposits refused with BALANCE_LIMIT_EXCEEDED: ${refused}`);
}

async function loadTransfers(pool: Pool): Promise<Map<string, TransferRow>> {
  const result = await pool.query('SELECT id, kind, status, reason, from_account_id, to_account_id, amount, currency FROM transfers');
  return new Map(
    result.rows.map((r) => [
      r.id as string,
      { id: r.id, kind: r.kind, status: r.status, reason: r.reason, from: r.from_account_id, to: r.to_account_id, amount: BigInt(r.amount), currency: r.currency.trim() },
    ]),
  );
}

const terminal = (status: string | undefined) => status === 'COMPLETED' || status === 'REJECTED';

function checkLost(books: LedgerBooks, transfers: Map<string, TransferRow>): FindingSet {
  const lost = new FindingSet();
  for (const record of books.movements) {
    const row = transfers.get(record.transferId);
    if (record.outcome === 'acknowledged') {
      if (!row) lost.add('acknowledged-never-applied', describe(record, `acknowledged at t=${ms(record.ackedAtMs)}, no transfer row`));
      else if (!terminal(row.status)) lost.add('acknowledged-not-terminal', describe(record, `still ${row.status}`));
    } else if (record.outcome === 'unknown' && row && !terminal(row.status)) {
      lost.add('unknown-outcome-applied-not-terminal', describe(record, `still ${row.status}`));
    }
  }
  return lost;
}

async function checkReconcile(pool: Pool, findings: FindingSet): Promise<void> {
  const report = await reconcile(pool, { outboxAgeMaxMs: 10_000 });
  for (const check of report.checks) {
    if (check.violations > 0) findings.add(`reconcile:${check.name}`, check.examples.join('; ') || check.description, check.violations);
  }
}

/** Long enough for owed refreshes (5 s backoff at most) and a few rounds of the cache mark and the sweeper. */
const CACHE_CATCH_UP_WAIT_MS = 20_000;

/**
 * Once the system is quiet, every cached balance is the ledger's (or absent): one a worker
 * killed between a commit and its refresh left behind is caught up by the partition's next
 * owner from its cache mark (cache-mark.ts). Read again until none is behind or the wait is
 * over; what is still behind (or ahead, or differs at the same revision) is a finding.
 */
async function checkCacheCaughtUp(pool: Pool, cache: BalanceCache, findings: FindingSet, notes: string[]): Promise<void> {
  const started = Date.now();
  for (;;) {
    const accounts = (await pool.query('SELECT id, balance, held, rev FROM accounts ORDER BY id')).rows as { id: string; balance: string; held: string; rev: string }[];
    let cached: Awaited<ReturnType<BalanceCache['read']>>[];
    try {
      cached = await Promise.all(accounts.map((a) => cache.read(a.id)));
    } catch (error) {
      // The harness's own connection (Redis was restarted by a fault): read again.
      if (Date.now() - started > CACHE_CATCH_UP_WAIT_MS) {
        findings.add('cache-behind-the-ledger', `the cache could not be read: ${(error as Error).message}`);
        return;
      }
      await sleep(1_000);
      continue;
    }
    const wrong: string[] = [];
    for (const [i, figure] of cached.entries()) {
      const account = accounts[i]!;
      if (figure === null) continue;
      const rev = BigInt(account.rev);
      const same = figure.rev === rev && figure.balance === BigInt(account.balance) && figure.held === BigInt(account.held);
      if (!same) wrong.push(`${account.id}: cached ${figure.balance} (held ${figure.held}) rev ${figure.rev}, ledger ${account.balance} (held ${account.held}) rev ${rev}`);
    }
    if (wrong.length === 0) {
      notes.push(`cache: every cached balance is the ledger's (${cached.filter((f) => f !== null).length} of ${accounts.length} accounts cached), ${((Date.now() - started) / 1000).toFixed(1)} s after quiet`);
      return;
    }
    if (Date.now() - started > CACHE_CATCH_UP_WAIT_MS) {
      for (const line of wrong) findings.add('cache-behind-the-ledger', line);
      return;
    }
    await sleep(1_000);
  }
}

/**
 * The load sends only commands the API validated, so a dead letter, or a transfer REJECTED
 * UNPROCESSABLE, means a fault was taken for a command's own failure and a valid command was
 * isolated (docs/design.md invariant 10: only operating errors are retried, and a fault is
 * one). Not counted by the books: a refusal is a terminal status, and moves no money.
 */
async function checkNothingIsolated(pool: Pool, transfers: Map<string, TransferRow>, findings: FindingSet): Promise<void> {
  for (const letter of await listDeadLetters(pool, { limit: EXAMPLES_MAX * 20 })) {
    findings.add('command-isolated-by-a-fault', `dead letter ${letter.id} (partition ${letter.sourcePartition}, offset ${String(letter.letter.offset)}): ${String(letter.letter.reason).slice(0, 200)}`);
  }
  for (const row of transfers.values()) {
    if (row.status === 'REJECTED' && row.reason === 'UNPROCESSABLE') findings.add('command-isolated-by-a-fault', `transfer ${row.id} REJECTED UNPROCESSABLE`);
  }
}

/** What Postgres applied must be what was acknowledged, and nothing nobody asked for. */
function checkRowsMatchBooks(books: LedgerBooks, transfers: Map<string, TransferRow>, findings: FindingSet, holdBook?: HoldBook): void {
  const holdLoadIds = holdBook?.sentTransferIds() ?? new Set<string>();
  for (const row of transfers.values()) {
    // Captures and reversals are the hold load's (checkHolds), never the main books'.
    if ((row.kind === 'CAPTURE' || row.kind === 'REVERSAL') && holdLoadIds.has(row.id)) continue;
    const record = books.find(row.id);
    if (!record) {
      findings.add('transfer-nobody-sent', `${row.id} ${row.kind} ${row.status} amount ${row.amount} from ${row.from} to ${row.to}`);
      continue;
    }
    const body = record.body;
    const expected = {
      kind: record.kind,
      amount: BigInt(body.amount!),
      currency: body.currency,
      from: record.kind === 'TRANSFER' ? body.from_account_id : record.kind === 'WITHDRAWAL' ? body.account_id : null,
      to: record.kind === 'TRANSFER' ? body.to_account_id : record.kind === 'DEPOSIT' ? body.account_id : null,
    };
    if (row.kind !== expected.kind || row.amount !== expected.amount || row.currency !== expected.currency || row.from !== expected.from || row.to !== expected.to) {
      findings.add(
        'transfer-differs-from-request',
        describe(record, `postgres has ${row.kind} ${row.amount} ${row.currency} ${row.from} -> ${row.to}, the books ${expected.kind} ${expected.amount} ${expected.currency} ${expected.from} -> ${expected.to}`),
      );
    }
    if (record.outcome === 'refused') {
      findings.add('refused-but-applied', describe(record, `answered ${record.refusal?.status} ${record.refusal?.code ?? ''}, postgres has it ${row.status}`));
    }
  }
}

/** Idempotency (invariant 7), ids, bad input accepted, terminal statuses that change. */
function checkApiPromises(books: LedgerBooks, transfers: Map<string, TransferRow>, findings: FindingSet, notes: string[]): void {
  for (const record of books.movements) {
    for (const attempt of record.attempts) {
      if (attempt.id !== undefined && attempt.id !== record.transferId) {
        findings.add('answered-with-another-transfer-id', describe(record, `answer named ${attempt.id}`));
      }
      // A fault is never a bug's answer: a dependency down is a 503 (docs/api.md, "Errors").
      if (attempt.status === 500) findings.add('answered-500-to-a-valid-request', describe(record, `answered 500 ${attempt.code ?? ''} at t=${ms(attempt.atMs)}`));
    }
    for (const replay of record.replays) {
      if (replay.status === null || replay.status === 429 || replay.status >= 500) continue;
      if (replay.status >= 300) findings.add('replay-not-answered-with-the-transfer', describe(record, `replay (same key, same body) answered ${replay.status} ${replay.code ?? ''}`));
      else if (replay.id !== record.transferId) findings.add('replay-not-answered-with-the-transfer', describe(record, `replay answered id ${replay.id}`));
    }
  }
  // Every 429 and 503 tells the client when to retry (found by an outside review: a 503
  // without it passed every chaos run). Valid and bad requests, first attempts and replays.
  const attempts = [...books.movements.flatMap((m) => [...m.attempts, ...m.replays]), ...books.bad.flatMap((b) => b.attempts)];
  for (const attempt of attempts) {
    if ((attempt.status === 429 || attempt.status === 503) && !/^[1-9][0-9]*$/.test(attempt.retryAfter ?? '')) {
      findings.add('retry-after-missing', `${attempt.status} ${attempt.code ?? ''} at t=${ms(attempt.atMs)}: Retry-After ${attempt.retryAfter === undefined ? 'absent' : JSON.stringify(attempt.retryAfter)}`);
    }
  }
  for (const bad of books.bad) {
    if (bad.outcome === 'acknowledged') {
      const applied = bad.transferId ? ` (postgres: ${transfers.get(bad.transferId)?.status ?? 'absent'})` : '';
      findings.add('bad-request-accepted', `${bad.category} by ${bad.principal} key ${bad.key}: answered ${bad.finalStatus}, expected ${bad.expected.join('/')}${applied}`);
    }
  }
  let notFoundAfterAck = 0;
  for (const seen of books.observations) {
    const row = transfers.get(seen.transferId);
    if (seen.status === 404) notFoundAfterAck++;
    if (!terminal(seen.resourceStatus) || !row) continue;
    if (row.status !== seen.resourceStatus || (row.reason ?? undefined) !== seen.reason) {
      findings.add('terminal-status-changed', `${seen.transferId}: read ${seen.resourceStatus} ${seen.reason ?? ''} at t=${ms(seen.atMs)}, postgres ends ${row.status} ${row.reason ?? ''}`);
    }
  }
  if (notFoundAfterAck > 0) {
    notes.push(`${notFoundAfterAck} status reads of acknowledged transfers answered 404 (ACCEPTED record gone with Redis, worker not done yet)`);
  }
}

/**
 * Double application: entries repeated for one (transfer, account, leg), and balances that
 * differ from the books. The balance a user account must have is computed from the books'
 * bodies and Postgres's statuses only, never from Postgres's entries.
 */
async function checkDuplicates(pool: Pool, books: LedgerBooks, transfers: Map<string, TransferRow>, holdBook?: HoldBook): Promise<FindingSet> {
  const findings = new FindingSet();
  const repeated = await pool.query(
    `SELECT transfer_id, account_id, leg, count(*)::int AS n FROM entries GROUP BY transfer_id, account_id, leg HAVING count(*) > 1`,
  );
  const duplicatedTransfers = new Set<string>();
  const touched = new Set<string>();
  for (const r of repeated.rows) {
    touched.add(r.account_id);
    if (duplicatedTransfers.has(r.transfer_id)) continue;
    duplicatedTransfers.add(r.transfer_id);
    const record = books.find(r.transfer_id);
    findings.add('entries-applied-twice', `${record ? describe(record, '') : r.transfer_id}: ${r.n} ${r.leg} entries on ${r.account_id}`);
  }

  const expected = new Map<string, bigint>();
  const add = (account: string | undefined, amount: bigint) => {
    if (account) expected.set(account, (expected.get(account) ?? 0n) + amount);
  };
  for (const record of books.movements) {
    const row = transfers.get(record.transferId);
    if (!row) continue;
    const amount = BigInt(record.body.amount!);
    const { body } = record;
    if (record.kind === 'DEPOSIT' && row.status === 'COMPLETED') add(body.account_id, amount);
    if (record.kind === 'WITHDRAWAL' && row.status === 'COMPLETED') add(body.account_id, -amount);
    if (record.kind === 'TRANSFER' && (row.status === 'COMPLETED' || row.status === 'PROCESSING')) add(body.from_account_id, -amount);
    if (record.kind === 'TRANSFER' && row.status === 'COMPLETED') add(body.to_account_id, amount);
  }
  // The hold load's captures and reversals move money the main books do not know about:
  // counted by their entries (checkHolds and reconcile prove those were applied once).
  const holdLoadIds = [...(holdBook?.sentTransferIds() ?? [])];
  if (holdLoadIds.length > 0) {
    const moved = await pool.query('SELECT account_id, sum(amount) AS amount FROM entries WHERE transfer_id = ANY($1::uuid[]) GROUP BY account_id', [holdLoadIds]);
    for (const m of moved.rows) add(m.account_id, BigInt(m.amount));
  }
  const accounts = await pool.query(`SELECT id, balance FROM accounts WHERE kind = 'USER'`);
  for (const a of accounts.rows) {
    const want = expected.get(a.id) ?? 0n;
    const have = BigInt(a.balance);
    if (want !== have && !touched.has(a.id)) findings.add('balance-differs-from-books', `${a.id}: postgres ${have}, books imply ${want} (off by ${have - want})`);
  }
  return findings;
}

/**
 * Per-account order for the clients that send one request at a time: their requests'
 * entries on their account must carry increasing seq in send (= acknowledgement) order,
 * and each round's outcomes must be what applying it in that order gives. A round is the
 * four requests deposit 100, transfer 60, 60, 40; it is replayed from the balance the
 * account really had before its deposit (that entry's balance_after - 100), so a violation
 * counts once for its round and does not spill into the next ones.
 */
async function checkOrder(pool: Pool, books: LedgerBooks, clients: readonly SequentialClient[], transfers: Map<string, TransferRow>): Promise<FindingSet> {
  const findings = new FindingSet();
  const accountIds = clients.map((c) => c.account.id);
  const entries = await pool.query(
    `SELECT account_id, transfer_id, seq, balance_after FROM entries WHERE account_id = ANY($1::uuid[]) AND leg <> 'REFUND'`,
    [accountIds],
  );
  const entryOf = new Map<string, { seq: bigint; balanceAfter: bigint }>(
    entries.rows.map((r) => [`${r.account_id}/${r.transfer_id}`, { seq: BigInt(r.seq), balanceAfter: BigInt(r.balance_after) }]),
  );
  for (const client of clients) {
    const stream = books.movements.filter((m) => m.client === client.name).sort((a, b) => a.sequence! - b.sequence!);
    let lastSeq = 0n;
    let lastRecord: MovementRecord | null = null;
    for (const record of stream) {
      const entry = entryOf.get(`${client.account.id}/${record.transferId}`);
      if (!entry) continue;
      if (entry.seq <= lastSeq) {
        findings.add('applied-out-of-order', `${client.name}: #${record.sequence} ${record.kind} ${record.body.amount} has seq ${entry.seq}, after #${lastRecord?.sequence} with seq ${lastSeq}`);
      }
      if (entry.seq > lastSeq) {
        lastSeq = entry.seq;
        lastRecord = record;
      }
    }
    const rounds = new Map<number, MovementRecord[]>();
    for (const record of stream) {
      const round = Math.floor(record.sequence! / SEQUENTIAL_ROUND_STEPS);
      rounds.set(round, [...(rounds.get(round) ?? []), record]);
    }
    for (const [round, steps] of rounds) {
      const deposit = steps[0]!;
      const depositEntry = entryOf.get(`${client.account.id}/${deposit.transferId}`);
      if (deposit.kind !== 'DEPOSIT' || !depositEntry) continue; // never applied: lost or unknown, counted there
      let balance = depositEntry.balanceAfter - BigInt(deposit.body.amount!);
      const seen: string[] = [];
      let broken = false;
      for (const record of steps) {
        const row = transfers.get(record.transferId);
        if (!row) continue;
        const amount = BigInt(record.body.amount!);
        seen.push(`${record.kind === 'DEPOSIT' ? '+' : '-'}${amount}:${row.status}${row.reason ? `/${row.reason}` : ''}`);
        if (record.kind === 'DEPOSIT') {
          if (row.status !== 'COMPLETED') broken = true;
          balance += amount;
          continue;
        }
        const debited = row.status === 'COMPLETED' || row.status === 'PROCESSING';
        const expectDebit = balance >= amount;
        if (debited !== expectDebit || (!debited && row.reason !== 'INSUFFICIENT_FUNDS')) broken = true;
        if (expectDebit) balance -= amount;
      }
      if (broken) findings.add('outcome-not-in-order', `${client.name} round ${round} (from balance ${depositEntry.balanceAfter - BigInt(deposit.body.amount!)}): ${seen.join(' ')}`);
    }
  }
  return findings;
}

function checkBadInput(books: LedgerBooks, notes: string[]): FindingSet {
  const findings = new FindingSet();
  const unexpected = new Map<string, number>();
  for (const bad of books.bad) {
    const serverError = bad.attempts.find((a) => a.status !== null && a.status >= 500 && (!bad.stateful || a.status !== 503));
    if (serverError) {
      findings.add(`5xx-on-${bad.category}`, `${bad.category} by ${bad.principal}: answered ${serverError.status} ${serverError.code ?? ''} at t=${ms(serverError.atMs)}`);
    }
    if (bad.finalStatus !== null && bad.outcome === 'refused' && !bad.expected.includes(bad.finalStatus)) {
      const label = `${bad.category} answered ${bad.finalStatus} (expected ${bad.expected.join('/')})`;
      unexpected.set(label, (unexpected.get(label) ?? 0) + 1);
    }
  }
  for (const [label, n] of unexpected) notes.push(`bad request ${label}: ${n}x`);
  return findings;
}

/** How the run went: retries, unknowns, unexpected answers to valid requests. */
function runNotes(books: LedgerBooks, transfers: Map<string, TransferRow>): string[] {
  const notes: string[] = [];
  const counts = books.counts();
  notes.push(`movements: ${counts.acknowledged} acknowledged, ${counts.refused} refused, ${counts.unknown} unknown at the end, ${counts['in-flight']} in flight`);
  const unknownApplied = books.movements.filter((m) => m.outcome === 'unknown' && transfers.has(m.transferId)).length;
  if (counts.unknown > 0) notes.push(`unknown-outcome requests: ${unknownApplied} of ${counts.unknown} are in postgres (all must be terminal, see lost)`);
  const byStatus = new Map<string, number>();
  let retried = 0;
  for (const m of books.movements) {
    if (m.attempts.length > 1) retried++;
    for (const a of m.attempts) {
      if (a.status !== null && a.status < 300) continue;
      const label = a.status === null ? `no answer (${a.error})` : `${a.status} ${a.code ?? ''}`.trim();
      byStatus.set(label, (byStatus.get(label) ?? 0) + 1);
    }
  }
  notes.push(`valid requests retried with the same key: ${retried}`);
  const sorted = [...byStatus].sort((a, b) => b[1] - a[1]);
  for (const [label, n] of sorted.slice(0, 12)) notes.push(`  answers to valid requests: ${label}: ${n}x`);
  const refusals = new Map<string, number>();
  for (const m of books.movements) {
    if (m.outcome !== 'refused') continue;
    const label = `${m.kind} ${m.refusal?.status} ${m.refusal?.code ?? ''}`;
    refusals.set(label, (refusals.get(label) ?? 0) + 1);
  }
  for (const [label, n] of refusals) notes.push(`WARNING: valid request refused: ${label}: ${n}x`);
  const statuses = new Map<string, number>();
  for (const m of books.acknowledged()) {
    const row = transfers.get(m.transferId);
    const label = row ? `${row.kind} ${row.status}${row.reason ? ` ${row.reason}` : ''}` : 'absent';
    statuses.set(label, (statuses.get(label) ?? 0) + 1);
  }
  notes.push(`acknowledged outcomes: ${[...statuses].sort().map(([l, n]) => `${l}=${n}`).join(', ')}`);
  return notes;
}

function describe(record: MovementRecord, what: string): string {
  const route = record.kind === 'TRANSFER' ? `${record.body.from_account_id} -> ${record.body.to_account_id}` : record.body.account_id;
  const tries = record.attempts.map((a) => (a.status === null ? 'x' : String(a.status))).join(',');
  return `${record.kind} ${record.transferId} (${record.principal} key ${record.key}, ${record.body.amount} ${route}, answers ${tries})${what ? `: ${what}` : ''}`;
}

const ms = (value: number | null) => (value === null ? '?' : `${(value / 1000).toFixed(1)}s`);

/**
 * Issue 13 under chaos: every acknowledged hold, capture and reversal was applied; no hold is
 * still HELD 5 s past its expiry (the expiry kept working through every fault); a CAPTURED
 * hold was captured by the capture the books sent. The money itself (held = HELD holds,
 * reversals within the original, one capture per hold) is reconcile's.
 */
async function checkHolds(pool: Pool, book: HoldBook, transfers: Map<string, TransferRow>, findings: FindingSet): Promise<Finding[]> {
  const lost = new FindingSet();
  const rows = await pool.query('SELECT id, status, capture_id, expires_at < now() - make_interval(secs => 5) AS overdue FROM holds');
  const holds = new Map(rows.rows.map((r) => [r.id as string, r as { status: string; capture_id: string | null; overdue: boolean }]));
  for (const hold of book.holds) {
    if (hold.outcome === 'acknowledged' && !holds.has(hold.id)) lost.add('hold-acknowledged-never-applied', `${hold.key} (${hold.id})`);
  }
  const sent = book.sentTransferIds();
  for (const [id, hold] of holds) {
    if (hold.status === 'HELD' && hold.overdue) findings.add('hold-not-released-5s-after-expiry', id);
    if (hold.status === 'CAPTURED' && !sent.has(hold.capture_id ?? '')) findings.add('hold-captured-by-nobody-sent', `${id} by ${hold.capture_id}`);
  }
  for (const follow of book.follows) {
    if (follow.outcome !== 'acknowledged' || follow.kind === 'VOID') continue;
    const row = transfers.get(follow.id);
    if (!row) lost.add(`${follow.kind.toLowerCase()}-acknowledged-never-applied`, `${follow.key} (${follow.id})`);
    else if (row.status !== 'COMPLETED' && row.status !== 'REJECTED') lost.add(`${follow.kind.toLowerCase()}-acknowledged-not-terminal`, `${follow.key}: ${row.status}`);
  }
  const counts = { holds: book.holds.length, acknowledged: book.holds.filter((h) => h.outcome === 'acknowledged').length };
  const ended = [...holds.values()].reduce<Record<string, number>>((acc, h) => ({ ...acc, [h.status]: (acc[h.status] ?? 0) + 1 }), {});
  process.stdout.write(`  holds: ${JSON.stringify(counts)} ended ${JSON.stringify(ended)}; follow-ups ${JSON.stringify(countBy(book.follows))}\n`);
  return lost.list();
}

function countBy(follows: readonly { kind: string; outcome: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const f of follows) counts[`${f.kind}:${f.outcome}`] = (counts[`${f.kind}:${f.outcome}`] ?? 0) + 1;
  return counts;
}
