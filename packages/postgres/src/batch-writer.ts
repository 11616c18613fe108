/**
 * Writes one applied batch in ONE transaction with ONE statement, whatever the batch size:
 * ledger_apply_batch (migrations/0004, extended by 0007) runs the fence, new system accounts, entries,
 * balances, transfers, status changes, legs, fenced moves and outbox rows as multi-row
 * statements over a JSON document of the batch.
 *
 * Why multi-row statements rather than a statement per command: PostgreSQL alone does ~55,000 batched
 * transfers/s this way on 2 cores, against ~3,300/s one transaction per transfer
 * (docs/design.md, "Batching is where the speed comes from"). Why one function call rather than
 * those statements sent one by one: on the live path batches are small, and eleven round
 * trips through PgBouncer, each parsed and planned afresh, cost more than the rows.
 *
 * No row locks are taken on purpose: the partition's single writer is the only one to
 * update these accounts. The balance UPDATE still checks that each account's seq and rev are
 * the ones the writer expected (rev moves with every change, a hold or a freeze too: 0032), so
 * a broken single-writer assumption fails loudly instead of silently overwriting an account.
 */
import type { PoolClient, QueryConfig } from 'pg';
import { type AccountState, type BatchEffects, type LegFacts, bucketOf } from '@ledgerline/domain';
import { utcInstantText } from './instant-text';
import { FencedError, type PartitionClaim } from './partition-state';
import { RefusedWriteError, SQLSTATE_CONCURRENT_WRITE, SQLSTATE_FENCED, sqlStateOf } from './write-errors';

export class ConcurrentWriteError extends RefusedWriteError {
  override readonly name = 'ConcurrentWriteError';
  /** The SQLSTATE it was raised with, so classifyWriteFailure reads it like the raw error. */
  readonly code = SQLSTATE_CONCURRENT_WRITE;
}

/**
 * A message built from nothing but its transfer's row (the domain's creditLegOf and
 * terminalEventOf): its outbox row stores the transfer's id instead of the message, and the
 * sweeper rebuilds the message from the row (migration 0017).
 */
export interface OutboxDerivation {
  as: 'CREDIT_LEG' | 'TERMINAL_EVENT';
  transferId: string;
}

export interface OutboxRowInput {
  topic: 'commands' | 'events' | 'dead-letter';
  targetPartition: number | null;
  key: string | null;
  /** The message, published by the relay from memory; stored only when not derived. */
  payload: string;
  derived?: OutboxDerivation;
}

export interface OutboxRow extends OutboxRowInput {
  id: bigint;
}

/** A batch as written: committed, or inside the caller's transaction. */
export interface WrittenBatch {
  /** Its outbox rows with their ids, in batch order. */
  published: OutboxRow[];
  /**
   * An instant at which the ledger holds the balances the batch wrote, on Postgres's clock,
   * in UTC to the microsecond (`2026-12-06T01:11:37.684123Z`): read after the batch's writes,
   * so at or after its entries' time (their stamp, migration 0019), and before the commit,
   * so before the entries of the partition's next batch (stamped once that batch holds the
   * partition's row, which this commit releases). Given back as `at`, it reads the balances
   * the batch wrote. The worker's clock is not the entries' clock: on another host it can be
   * behind them, or ahead of the next batch's.
   */
  asOf: string;
}

export interface BatchWrite {
  claim: PartitionClaim;
  /** The offset this batch starts at: must equal the stored next_offset. */
  fromOffset: bigint;
  /** One past the batch's last offset. */
  toOffset: bigint;
  effects: BatchEffects;
  /** State of every touched account before the batch (for the seq check). */
  before: ReadonlyMap<string, AccountState>;
  outbox: readonly OutboxRowInput[];
  /** A FENCE marker applied at the end of this batch (bucket moves away from this partition). */
  fenceMoveIds?: readonly bigint[];
}

/** A pool or a checked-out client: one statement needs no transaction of its own. */
export interface Queryable {
  query: PoolClient['query'];
}


/**
 * Writes the batch with one call of ledger_apply_batch: one round trip, one transaction
 * (a single statement commits or rolls back as a whole; inside a caller's BEGIN it joins
 * that transaction instead). Returns the outbox rows with their ids, in batch order, and
 * the instant the balances it wrote stand for. `timeoutMs` (0: none) bounds the wait for its
 * answer.
 */
export async function writeBatch(db: Queryable, write: BatchWrite, timeoutMs = 0): Promise<WrittenBatch> {
  const [written] = await writeBatches(db, [write], timeoutMs);
  if (written instanceof Error) throw written;
  return written!;
}

/**
 * Writes several partitions' batches in ONE statement, so one transaction: every batch
 * commits, or none does (then it throws). One call of ledger_apply_batch per batch, in the
 * order given; each batch keeps its own fence (epoch and offset of its partition). Returns,
 * in the order of `writes`, each batch as written, or the Error of a batch whose answer
 * did not match it (committed, but its outbox ids are not what it wrote). Used by group
 * commit (group-commit.ts): the batches must be of distinct partitions, which touch distinct
 * accounts (one writer per account).
 */
export async function writeBatches(db: Queryable, writes: readonly BatchWrite[], timeoutMs = 0): Promise<(WrittenBatch | Error)[]> {
  if (writes.length === 0) return [];
  for (const { claim, fromOffset, toOffset } of writes) {
    // ledger_apply_batch sets next_offset to toOffset whenever fromOffset is the stored one: a
    // write ending before it starts would move the partition back, and the commands between
    // would be applied again. Only a bug in the caller asks for one (found by an outside
    // review: a bisection after a failed heartbeat wrote 8-6); refused before anything is sent.
    if (toOffset < fromOffset) {
      throw new Error(`partition ${claim.topic}/${claim.partition}: refusing a write from offset ${fromOffset} to ${toOffset}, which would move next_offset back`);
    }
  }
  const calls = writes.map((_, i) => {
    const at = i * APPLY_PARAMS;
    return `ledger_apply_batch($${at + 1}, $${at + 2}, $${at + 3}, $${at + 4}, $${at + 5}, $${at + 6}::jsonb) AS b${i}`;
  });
  const params = writes.flatMap((write) => [
    write.claim.topic,
    write.claim.partition,
    write.claim.epoch.toString(),
    write.fromOffset.toString(),
    write.toOffset.toString(),
    batchDocument(write),
  ]);
  let row: Record<string, string[]> & { as_of: string };
  try {
    // The clock is read by the outer query, once the subquery (kept apart by OFFSET 0) has
    // returned its row, so after every batch's writes: the instant of WrittenBatch.asOf.
    const text = `SELECT w.*, ${utcInstantText('clock_timestamp()')} AS as_of FROM (SELECT ${calls.join(', ')} OFFSET 0) AS w`;
    // pg's client-side read timeout: the promise fails with "Query read timeout" and, through
    // a pool, the connection is closed. No SQLSTATE, so an operating error (retried); had the
    // statement committed all the same, the retry meets its fence (LL001).
    const result = await db.query(timeoutMs > 0 ? ({ text, values: params, query_timeout: timeoutMs } as QueryConfig) : { text, values: params });
    row = result.rows[0];
  } catch (error) {
    throw typedWriteError(error);
  }
  const asOf = row.as_of;
  return writes.map((write, i) => {
    const ids = row[`b${i}`] ?? [];
    if (ids.length !== write.outbox.length) {
      return new Error(`ledger_apply_batch returned ${ids.length} outbox ids for ${write.outbox.length} rows`);
    }
    return { published: write.outbox.map((out, n) => ({ ...out, id: BigInt(ids[n]!) })), asOf };
  });
}

/** Parameters per ledger_apply_batch call: topic, partition, epoch, from, to, the batch document. */
const APPLY_PARAMS = 6;

function typedWriteError(error: unknown): unknown {
  const code = sqlStateOf(error);
  const message = (error as Error).message;
  if (code === SQLSTATE_FENCED) return new FencedError(message);
  if (code === SQLSTATE_CONCURRENT_WRITE) return new ConcurrentWriteError(message);
  return error;
}

/**
 * The JSON document ledger_apply_batch reads (its keys are listed in migration 0004; the
 * outbox rows' `transfer_id` and `derived_as` in 0017).
 * Bigints travel as strings, so no amount is ever squeezed through a float; outbox payloads
 * are already JSON and are spliced in as they are rather than escaped into strings. A derived
 * outbox row sends its transfer's id instead of its payload and key.
 */
export function batchDocument(write: BatchWrite): string {
  const { effects, before } = write;
  const created = effects.accounts
    .filter((a) => effects.createdAccountIds.has(a.id))
    .map((a) => ({ id: a.id, owner: a.owner, kind: a.kind, currency: a.currency }));
  const entries = effects.entries.map((e) => ({
    account_id: e.accountId,
    seq: e.seq.toString(),
    transfer_id: e.transferId,
    leg: e.step, // the column keeps its name: entries.leg holds the movement step
    amount: e.amount.toString(),
    balance_after: e.balanceAfter.toString(),
    currency: e.currency,
  }));
  const balances = effects.accounts.map((a) => ({
    id: a.id,
    balance: a.balance.toString(),
    seq: a.seq.toString(),
    expected_seq: effects.createdAccountIds.has(a.id) ? '0' : (before.get(a.id)?.seq ?? 0n).toString(),
    // Every change moves rev, a hold or a freeze too (seq moves with entries only): a second
    // writer of any change fails (LL002, migration 0032).
    expected_rev: effects.createdAccountIds.has(a.id) ? '0' : (before.get(a.id)?.rev ?? 0n).toString(),
    held: a.held.toString(),
    rev: a.rev.toString(),
    status: a.status,
    overdraft_limit: a.overdraftLimit === null ? null : a.overdraftLimit.toString(),
  }));
  const transfers = effects.newTransfers.map((t) => ({
    id: t.id,
    kind: t.kind,
    status: t.status,
    reason: t.reason,
    from_account_id: t.fromAccountId,
    to_account_id: t.toAccountId,
    amount: t.amount.toString(),
    currency: t.currency,
    principal: t.principal,
    request_hash: t.requestHash,
    description: t.description,
    source_partition: t.sourcePartition,
    created_at: t.createdAt,
    completed_at: t.completedAt,
    hold_id: t.holdId,
    reverses: t.reverses,
  }));
  const statuses = effects.transferStatuses.map((s) => ({ id: s.id, status: s.status, reason: s.reason, completed_at: s.completedAt, ...legFactsDocument(s.leg) }));
  // Only refused legs have a row; an applied one is recorded by the status it sets.
  const legs = effects.refusedLegs.map((l) => ({ transfer_id: l.transferId, leg: l.leg, partition: l.partition, outcome: 'REJECTED', reason: l.reason, ...legFactsDocument(l.facts) }));
  const outbox = write.outbox
    .map((o) => {
      const head = `{"topic":${JSON.stringify(o.topic)},"target_partition":${o.targetPartition === null ? 'null' : String(o.targetPartition)},`;
      if (o.derived) return `${head}"message_key":null,"payload":null,"transfer_id":${JSON.stringify(o.derived.transferId)},"derived_as":"${o.derived.as}"}`;
      return `${head}"message_key":${o.key === null ? 'null' : JSON.stringify(o.key)},"payload":${o.payload}}`;
    })
    .join(',');
  const holdsNew = effects.newHolds.map((h) => ({
    id: h.id,
    account_id: h.accountId,
    bucket: bucketOf(h.accountId),
    amount: h.amount.toString(),
    currency: h.currency,
    status: h.status,
    reason: h.reason,
    principal: h.principal,
    request_hash: h.requestHash,
    description: h.description,
    partition: h.partition,
    expires_at: h.expiresAt,
    created_at: h.createdAt,
    completed_at: h.completedAt,
  }));
  const holdEnds = effects.holdEnds.map((h) => ({
    id: h.id,
    status: h.status,
    captured_amount: h.capturedAmount.toString(),
    capture_id: h.captureId,
    completed_at: h.completedAt,
  }));
  const reversalTotals = effects.reversalTotals.map((r) => ({
    transfer_id: r.transferId,
    reversed_amount: r.reversedAmount.toString(),
    expected: r.before.toString(),
  }));
  const accountChanges = effects.accountChanges.map((c) => ({
    id: c.id,
    account_id: c.accountId,
    status: c.status,
    overdraft_limit: c.overdraftLimit === null ? null : c.overdraftLimit.toString(),
    outcome: c.outcome,
    reason: c.reason,
    principal: c.principal,
    request_hash: c.requestHash,
    seq_at: c.seqAt.toString(),
    created_at: c.createdAt,
    applied_at: c.appliedAt,
  }));
  const fenceMoveIds = (write.fenceMoveIds ?? []).map(String);
  const rest = JSON.stringify({
    created,
    entries,
    balances,
    transfers,
    statuses,
    legs,
    holds_new: holdsNew,
    hold_ends: holdEnds,
    reversal_totals: reversalTotals,
    account_changes: accountChanges,
    fence_move_ids: fenceMoveIds,
  });
  return `${rest.slice(0, -1)},"outbox":[${outbox}]}`;
}

/** A leg's facts as ledger_apply_batch compares them with its transfer's row (migration 0021). */
function legFactsDocument(facts: LegFacts) {
  return {
    kind: facts.kind,
    from_account_id: facts.fromAccountId,
    to_account_id: facts.toAccountId,
    amount: facts.amount.toString(),
    currency: facts.currency,
    hold_id: facts.holdId,
    reverses: facts.reverses,
    source_partition: facts.sourcePartition,
  };
}
