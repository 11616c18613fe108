/**
 * Writes one applied batch in ONE transaction with a fixed number of multi-row statements
 * (unnest arrays), whatever the batch size: the fence, entries, balances, new system
 * accounts, transfers, status changes, legs and outbox rows.
 *
 * Why unnest rather than a statement per command: PostgreSQL alone does ~55,000 batched
 * transfers/s this way on 2 cores, against ~3,300/s one transaction per transfer
 * (DESIGN.md, "Batching is where the speed comes from").
 *
 * No row locks are taken on purpose: the partition's single writer is the only one to
 * update these accounts. The balance UPDATE still checks that each account's seq is the one
 * the writer expected, so a broken single-writer assumption fails loudly instead of
 * silently overwriting a balance.
 */
import type { PoolClient } from 'pg';
import type { AccountState, BatchEffects } from '@ledgerline/domain';
import { markFenced } from './moves';
import { type PartitionClaim, advancePartition } from './partition-state';

export class ConcurrentWriteError extends Error {
  override readonly name = 'ConcurrentWriteError';
}

export interface OutboxRowInput {
  topic: 'commands' | 'events' | 'dead-letter';
  targetPartition: number | null;
  key: string | null;
  payload: string;
}

export interface OutboxRow extends OutboxRowInput {
  id: bigint;
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

export async function writeBatch(client: PoolClient, write: BatchWrite): Promise<OutboxRow[]> {
  // The fence goes first: a zombie learns it is fenced before writing anything else, and
  // the partition_state row lock it takes orders this commit after any newer claim.
  await advancePartition(client, write.claim, write.fromOffset, write.toOffset);
  const partition = write.claim.partition;
  const { effects } = write;
  await insertCreatedAccounts(client, effects);
  await insertEntries(client, effects, partition);
  await updateBalances(client, effects, write.before);
  await insertTransfers(client, effects);
  await updateTransferStatuses(client, effects);
  await insertLegs(client, effects);
  if (write.fenceMoveIds?.length) await markFenced(client, write.fenceMoveIds, partition);
  return insertOutbox(client, partition, write.outbox);
}

async function insertCreatedAccounts(client: PoolClient, effects: BatchEffects): Promise<void> {
  const created = effects.accounts.filter((a) => effects.createdAccountIds.has(a.id));
  if (created.length === 0) return;
  // Inserted at balance 0 / seq 0; updateBalances then moves them like any other account.
  await client.query(
    `INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, status, balance, seq)
     SELECT id, owner, kind, currency, NULL, 'OPEN', 0, 0
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS t(id, owner, kind, currency)`,
    [created.map((a) => a.id), created.map((a) => a.owner), created.map((a) => a.kind), created.map((a) => a.currency)],
  );
}

async function insertEntries(client: PoolClient, effects: BatchEffects, partition: number): Promise<void> {
  const entries = effects.entries;
  if (entries.length === 0) return;
  await client.query(
    `INSERT INTO entries (account_id, seq, transfer_id, leg, amount, balance_after, currency, partition)
     SELECT account_id, seq, transfer_id, leg, amount, balance_after, currency, $8
       FROM unnest($1::uuid[], $2::int8[], $3::uuid[], $4::text[], $5::int8[], $6::int8[], $7::text[])
         AS t(account_id, seq, transfer_id, leg, amount, balance_after, currency)`,
    [
      entries.map((e) => e.accountId),
      entries.map((e) => e.seq.toString()),
      entries.map((e) => e.transferId),
      entries.map((e) => e.leg),
      entries.map((e) => e.amount.toString()),
      entries.map((e) => e.balanceAfter.toString()),
      entries.map((e) => e.currency),
      partition,
    ],
  );
}

async function updateBalances(
  client: PoolClient,
  effects: BatchEffects,
  before: ReadonlyMap<string, AccountState>,
): Promise<void> {
  const moved = effects.accounts;
  if (moved.length === 0) return;
  const result = await client.query(
    `UPDATE accounts AS a SET balance = u.balance, seq = u.seq, updated_at = now()
       FROM unnest($1::uuid[], $2::int8[], $3::int8[], $4::int8[]) AS u(id, balance, seq, expected_seq)
      WHERE a.id = u.id AND a.seq = u.expected_seq`,
    [
      moved.map((a) => a.id),
      moved.map((a) => a.balance.toString()),
      moved.map((a) => a.seq.toString()),
      moved.map((a) => (effects.createdAccountIds.has(a.id) ? '0' : (before.get(a.id)?.seq ?? 0n).toString())),
    ],
  );
  if (result.rowCount !== moved.length) {
    throw new ConcurrentWriteError(
      `expected to move ${moved.length} balances, moved ${result.rowCount}: another writer touched this partition's accounts`,
    );
  }
}

async function insertTransfers(client: PoolClient, effects: BatchEffects): Promise<void> {
  const rows = effects.newTransfers;
  if (rows.length === 0) return;
  await client.query(
    `INSERT INTO transfers (id, kind, status, reason, from_account_id, to_account_id, amount, currency,
                            principal, request_hash, description, source_partition, created_at, completed_at)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::uuid[], $7::int8[],
                          $8::text[], $9::text[], $10::text[], $11::text[], $12::int[], $13::timestamptz[], $14::timestamptz[])`,
    [
      rows.map((t) => t.id),
      rows.map((t) => t.kind),
      rows.map((t) => t.status),
      rows.map((t) => t.reason),
      rows.map((t) => t.fromAccountId),
      rows.map((t) => t.toAccountId),
      rows.map((t) => t.amount.toString()),
      rows.map((t) => t.currency),
      rows.map((t) => t.principal),
      rows.map((t) => t.requestHash),
      rows.map((t) => t.description),
      rows.map((t) => t.sourcePartition),
      rows.map((t) => t.createdAt),
      rows.map((t) => t.completedAt),
    ],
  );
}

async function updateTransferStatuses(client: PoolClient, effects: BatchEffects): Promise<void> {
  const rows = effects.transferStatuses;
  // `(...) IS TRUE` keeps the planner off the partial index transfers_processing_idx: on a
  // hot partition, where PROCESSING rows pile up, it hash-joined the batch against all of
  // them (92 ms per call, 43% of Postgres time in the hot drain); by primary key it is a
  // nested loop over the batch's own rows.
  if (rows.length === 0) return;
  const result = await client.query(
    `UPDATE transfers AS t SET status = u.status, reason = u.reason, completed_at = u.completed_at
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) AS u(id, status, reason, completed_at)
      WHERE t.id = u.id AND (t.status = 'PROCESSING') IS TRUE`,
    [rows.map((r) => r.id), rows.map((r) => r.status), rows.map((r) => r.reason), rows.map((r) => r.completedAt)],
  );
  if (result.rowCount !== rows.length) {
    throw new ConcurrentWriteError(`expected ${rows.length} PROCESSING transfers to finish, found ${result.rowCount}`);
  }
}

async function insertLegs(client: PoolClient, effects: BatchEffects): Promise<void> {
  const rows = effects.legs;
  if (rows.length === 0) return;
  await client.query(
    `INSERT INTO transfer_legs (transfer_id, leg, partition, outcome, reason)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::text[])`,
    [rows.map((r) => r.transferId), rows.map((r) => r.leg), rows.map((r) => r.partition), rows.map((r) => r.outcome), rows.map((r) => r.reason)],
  );
}

async function insertOutbox(client: PoolClient, partition: number, rows: readonly OutboxRowInput[]): Promise<OutboxRow[]> {
  if (rows.length === 0) return [];
  // WITH ORDINALITY + ORDER BY: ids are drawn in the batch's order, so publishing by id
  // keeps legs to one partition in the order they were applied.
  const result = await client.query(
    `INSERT INTO outbox (source_partition, topic, target_partition, message_key, payload)
     SELECT $1, topic, target_partition, message_key, payload::jsonb
       FROM unnest($2::text[], $3::int[], $4::text[], $5::text[]) WITH ORDINALITY
         AS t(topic, target_partition, message_key, payload, n)
      ORDER BY n
     RETURNING id, topic, target_partition, message_key, payload::text AS payload`,
    [partition, rows.map((r) => r.topic), rows.map((r) => r.targetPartition), rows.map((r) => r.key), rows.map((r) => r.payload)],
  );
  return result.rows
    .map((r) => ({
      id: BigInt(r.id),
      topic: r.topic,
      targetPartition: r.target_partition === null ? null : Number(r.target_partition),
      key: r.message_key,
      payload: r.payload,
    }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
