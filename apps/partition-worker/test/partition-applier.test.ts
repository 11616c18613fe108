// Proves that the applier blames a command only for a failure that is the command's: an error
// of the server connection's state (a primary demoted during a failover) or one that comes and
// goes is retried and never rejects a valid transfer, while a command that fails alone every
// time is still isolated; and that a failure after a commit (the consumer's heartbeat) is no
// failed write: nothing committed is written again. Against a fake Postgres that answers the applier's statements as
// ledger_apply_batch does (the fence on epoch and offset included) and refuses the writes a
// test chooses with node-pg's own DatabaseError.
import { createHash, randomUUID } from 'node:crypto';
import { KafkaJSConnectionError } from 'kafkajs';
import { LOCAL_DEFAULTS } from '@ledgerline/config';
import { type ClientCommand, RoutingTable, bucketOf, systemClock } from '@ledgerline/domain';
import type { ConsumedMessage } from '@ledgerline/kafka';
import { type Database, writeBatch } from '@ledgerline/postgres';
import { CommandSeal, encodeCommand, encodeFence } from '@ledgerline/schemas';
import { serverError } from '../../../test/support/pg-errors';
import { type ApplierPorts, type ApplyProgress, PartitionApplier } from '../src/partition-applier';

const TOPIC = 'test.commands';

/** A write ledger_apply_batch was asked for: its offsets and its batch document. */
interface WriteAttempt {
  /** 1 for the first write asked for, counting refused ones. */
  n: number;
  from: bigint;
  to: bigint;
  transfers: { id: string; status: string; reason: string | null }[];
}

type Row = Record<string, unknown>;

/** Postgres as the applier sees it, for partition 0 of TOPIC. */
class FakeLedger {
  epoch = 0n;
  nextOffset = 0n;
  readonly accounts = new Map<string, Row>();
  readonly transfers = new Map<string, { status: string; reason: string | null }>();
  readonly deadLetters: { offset: string; reason: string; sqlstate?: string | null }[] = [];
  /** `from-to` of every write that committed, in order. */
  readonly committed: string[] = [];
  /** Every write asked for, committed or refused. */
  readonly attempts: WriteAttempt[] = [];
  /** The error a write is refused with (before the fence, as a server connection would), or null. */
  refuse: (attempt: WriteAttempt) => Error | null = () => null;
  private outboxIds = 0;

  readonly pool = { query: (config: string | { text: string; values?: unknown[] }, values?: unknown[]) => this.query(config, values) } as unknown as Database;

  openAccount(balance: bigint): string {
    const id = randomUUID();
    const now = new Date();
    this.accounts.set(id, {
      id,
      owner: `owner-${id}`,
      kind: 'USER',
      currency: 'USD',
      overdraft_limit: '0',
      status: 'OPEN',
      metadata: {},
      request_hash: 'test',
      balance: balance.toString(),
      seq: '0',
      held: '0',
      rev: '0',
      created_at: now,
      updated_at: now,
    });
    return id;
  }

  private async query(config: string | { text: string; values?: unknown[] }, values?: unknown[]): Promise<{ rows: Row[] }> {
    const text = typeof config === 'string' ? config : config.text;
    const params = (typeof config === 'string' ? values : config.values) ?? [];
    if (text.includes('ledger_apply_batch(')) return this.applyBatch(params);
    if (text.includes('INSERT INTO partition_state')) {
      this.epoch++;
      return { rows: [{ epoch: String(this.epoch), next_offset: String(this.nextOffset) }] };
    }
    if (text.includes('FROM partition_state')) return { rows: [{ epoch: String(this.epoch) }] };
    if (text.includes('FROM accounts WHERE id = ANY')) return { rows: (params[0] as string[]).flatMap((id) => (this.accounts.has(id) ? [this.accounts.get(id)!] : [])) };
    if (text.includes('ledger_applied_keys(')) {
      return { rows: (params[0] as string[]).filter((id) => this.transfers.has(id)).map((id) => ({ transfer_id: id, leg: null })) };
    }
    throw new Error(`fake ledger: unexpected statement ${text.slice(0, 80)}`);
  }

  private applyBatch(params: unknown[]): { rows: Row[] } {
    const [, , epoch, from, to, document] = params as [string, number, string, string, string, string];
    const doc = JSON.parse(document) as {
      created: { id: string }[];
      balances: { id: string; balance: string; seq: string; held: string; rev: string; status: string }[];
      transfers: { id: string; status: string; reason: string | null }[];
      statuses: { id: string; status: string; reason: string | null }[];
      outbox: { topic: string; payload: { offset: string; reason: string; sqlstate?: string | null } | null }[];
    };
    const attempt: WriteAttempt = { n: this.attempts.length + 1, from: BigInt(from), to: BigInt(to), transfers: doc.transfers };
    this.attempts.push(attempt);
    const refused = this.refuse(attempt);
    if (refused) throw refused;
    if (BigInt(epoch) !== this.epoch || BigInt(from) !== this.nextOffset) {
      throw serverError('LL001', `partition ${TOPIC}/0: epoch ${epoch} at offset ${from} is no longer current`);
    }
    this.nextOffset = BigInt(to);
    this.committed.push(`${from}-${to}`);
    for (const b of doc.balances) {
      const row = this.accounts.get(b.id);
      if (row) this.accounts.set(b.id, { ...row, balance: b.balance, seq: b.seq, held: b.held, rev: b.rev, status: b.status });
    }
    for (const t of [...doc.transfers, ...doc.statuses]) this.transfers.set(t.id, { status: t.status, reason: t.reason });
    for (const o of doc.outbox) if (o.topic === 'dead-letter' && o.payload) this.deadLetters.push(o.payload);
    return { rows: [{ b0: doc.outbox.map(() => String(++this.outboxIds)), as_of: new Date().toISOString() }] };
  }
}

function transferOf(from: string, to: string, owner: string, amount: bigint): ClientCommand {
  const transferId = randomUUID();
  return {
    type: 'TRANSFER',
    transferId,
    fromAccountId: from,
    toAccountId: to,
    amount,
    currency: 'USD',
    principal: owner,
    admin: false,
    requestHash: createHash('sha256').update(transferId).digest('hex'),
    description: null,
    acceptedAt: new Date().toISOString(),
  };
}

const messagesOf = (commands: readonly ClientCommand[], firstOffset = 0): ConsumedMessage[] =>
  commands.map((c, i) => ({ offset: String(firstOffset + i), key: Buffer.from(c.type === 'TRANSFER' ? c.fromAccountId : ''), value: Buffer.from(encodeCommand(c)) }));

function applierOn(ledger: FakeLedger, batchCommandsMax: number, accountCacheMax: number | (() => number) = 1_000) {
  const routing = RoutingTable.initial(1); // every account on partition 0
  const log: string[] = [];
  const ports: ApplierPorts = {
    pool: ledger.pool,
    // Group commit writes each batch with writeBatch, alone or beside other partitions'.
    writer: { write: (write) => writeBatch(ledger.pool, write) },
    routing: () => routing,
    refreshRouting: async () => routing,
    postCommit: { refreshBalances: async () => undefined, markApplied: async () => undefined, publishTerminal: async () => undefined, relay: () => undefined, resumeRelay: async () => undefined },
    clock: systemClock,
    seal: new CommandSeal(LOCAL_DEFAULTS.commandKey),
    log: (line) => log.push(line),
  };
  return { applier: new PartitionApplier(TOPIC, 0, 'worker-test', ports, accountCacheMax, batchCommandsMax), ports, log };
}

/** Four valid transfers between two accounts of partition 0 (one batch of four). */
function fourTransfers(ledger: FakeLedger) {
  const from = ledger.openAccount(1_000n);
  const to = ledger.openAccount(0n);
  const commands = [1n, 2n, 3n, 4n].map((amount) => transferOf(from, to, `owner-${from}`, amount));
  return { commands, messages: messagesOf(commands) };
}

/** What the consumer loop (applyGuarded) does: apply, and on an operating error apply again. */
async function applyUntilWritten(applier: PartitionApplier, messages: readonly ConsumedMessage[], progress?: ApplyProgress) {
  const failures: unknown[] = [];
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      return { result: await applier.apply(messages, progress), failures };
    } catch (error) {
      failures.push(error);
    }
  }
  throw new Error(`not written after 10 attempts: ${failures.map((f) => (f as Error).message).join('; ')}`);
}

const statusesOf = (ledger: FakeLedger, commands: readonly ClientCommand[]) => commands.map((c) => ledger.transfers.get(c.transferId) ?? null);
const COMPLETED = { status: 'COMPLETED', reason: null };

describe('PartitionApplier: only a command that fails alone, every time, is blamed', () => {
  test('writes refused with 25006 by a primary demoted during a failover are retried; no valid transfer is REJECTED', async () => {
    // Found by an outside review. PgBouncer still holds server connections to the old primary:
    // the writes that land there are refused read-only, the others go through (reads pass on
    // both). Two server connections taken in turn: every other write fails.
    const ledger = new FakeLedger();
    const { commands, messages } = fourTransfers(ledger);
    ledger.refuse = (w) => (w.n % 2 === 1 ? serverError('25006', 'cannot execute SELECT ledger_apply_batch in a read-only transaction') : null);
    const { applier, log } = applierOn(ledger, 4);

    const { result, failures } = await applyUntilWritten(applier, messages);

    expect(result).toEqual({ kind: 'applied', nextOffset: 4n });
    expect(statusesOf(ledger, commands)).toEqual([COMPLETED, COMPLETED, COMPLETED, COMPLETED]);
    expect(ledger.deadLetters).toEqual([]);
    // Thrown to the consumer loop as an operating error (retried with backoff), not bisected.
    expect(failures.map((f) => (f as { code?: string }).code)).toEqual(['25006']);
    expect(ledger.committed).toEqual(['0-4']);
    expect(log.filter((l) => /bisecting|isolated/.test(l))).toEqual([]);
  });

  // A failure the classification takes for data (P0001, here a trigger an operator switches on
  // and off) that comes and goes: bisection finds a "culprit" that is none.
  // Before the fix, the first transfer was blamed: REJECTED UNPROCESSABLE when the error was
  // gone by its REJECTED write, dead-lettered without a status (never written) when it was
  // gone only by the dead letter's.
  test.each([
    // The command failed alone, an empty write passed, and it passes alone now: applied.
    ['passes the empty write before bisection, then fails the next three writes', [1, 3, 4, 5], []],
    // The empty write before a blame fails: the database's error, retried by the consumer loop.
    ['passes the empty write before bisection, then fails the next four writes', [1, 3, 4, 5, 6], ['DatabaseWriteError']],
  ])('an error that %s rejects no valid transfer', async (_, failing, thrown) => {
    const ledger = new FakeLedger();
    const { commands, messages } = fourTransfers(ledger);
    ledger.refuse = (w) => (failing.includes(w.n) ? serverError('P0001', 'writes are suspended for maintenance') : null);
    const { applier } = applierOn(ledger, 4);

    const { result, failures } = await applyUntilWritten(applier, messages);

    expect(result).toEqual({ kind: 'applied', nextOffset: 4n });
    expect(failures.map((f) => (f as Error).name)).toEqual(thrown);
    expect(statusesOf(ledger, commands)).toEqual([COMPLETED, COMPLETED, COMPLETED, COMPLETED]);
    expect(ledger.deadLetters).toEqual([]);
  });

  test('a transfer whose write fails alone every time is still isolated: REJECTED UNPROCESSABLE, dead-lettered, the rest written in order', async () => {
    const ledger = new FakeLedger();
    const { commands, messages } = fourTransfers(ledger);
    const poison = commands[2]!;
    // Refused whenever it is applied (its REJECTED row is not).
    ledger.refuse = (w) => (w.transfers.some((t) => t.id === poison.transferId && t.status === 'COMPLETED') ? serverError('22023', 'test: poison refused') : null);
    const { applier } = applierOn(ledger, 4);

    const { result } = await applyUntilWritten(applier, messages);

    expect(result).toEqual({ kind: 'applied', nextOffset: 4n });
    expect(statusesOf(ledger, commands)).toEqual([COMPLETED, COMPLETED, { status: 'REJECTED', reason: 'UNPROCESSABLE' }, COMPLETED]);
    expect(ledger.deadLetters).toEqual([expect.objectContaining({ offset: '2', reason: 'UNPROCESSABLE: test: poison refused', sqlstate: '22023' })]);
    // An empty write proves the batch's failure a command's, and another each time offset 2
    // fails alone (it is written alone twice); offsets only ever move forward.
    expect(ledger.committed).toEqual(['0-0', '0-2', '2-2', '2-2', '2-3', '3-4']);
  });
});

describe('PartitionApplier: a command whose apply breaks an invariant in memory', () => {
  test('is isolated (REJECTED UNPROCESSABLE, dead-lettered, said loudly), nothing of it written, and the rest of its batch applies: it never stops the partition', async () => {
    // An outside review found a forged refund that reached such a bug (fixed in apply.ts):
    // the check refused the batch, and the worker stopped, as did every owner after it. Here
    // the bug is an account read back below its own limit (no row Postgres would keep: its
    // check constraint refuses it), so any credit into it leaves it below its limit.
    const ledger = new FakeLedger();
    const from = ledger.openAccount(1_000n);
    const to = ledger.openAccount(0n);
    const broken = ledger.openAccount(0n);
    ledger.accounts.get(broken)!.balance = '-100';
    const commands = [transferOf(from, to, `owner-${from}`, 1n), transferOf(from, to, `owner-${from}`, 2n), transferOf(from, broken, `owner-${from}`, 3n), transferOf(from, to, `owner-${from}`, 4n)];
    const { applier, ports, log } = applierOn(ledger, 4);
    const counted: string[] = [];
    ports.onDeadLetter = (_partition, reason) => counted.push(reason);

    const { result, failures } = await applyUntilWritten(applier, messagesOf(commands));

    expect(failures).toEqual([]);
    expect(result).toEqual({ kind: 'applied', nextOffset: 4n });
    expect(statusesOf(ledger, commands)).toEqual([COMPLETED, COMPLETED, { status: 'REJECTED', reason: 'UNPROCESSABLE' }, COMPLETED]);
    expect(ledger.deadLetters).toEqual([expect.objectContaining({ offset: '2', reason: expect.stringMatching(/^UNPROCESSABLE: broke an invariant in memory: .*below its limit/) })]);
    expect(ledger.accounts.get(broken)!.balance).toBe('-100');
    expect(log.filter((line) => /isolated as UNPROCESSABLE.*broke an invariant in memory/.test(line))).toHaveLength(1);
    expect(counted).toEqual(['invariant']);
  });
});

describe("PartitionApplier: a claim whose previous owner's leftovers could not be read is not used", () => {
  test("the first write waits for a claim that queued them: the previous owner's rows go out before this owner's", async () => {
    // Found by an outside review: the relay's resume swallowed a failed read, the claim was
    // used, and the new owner's first events (a hold's void) could be published before the
    // old owner's (its placement), which the sweeper sent later.
    const ledger = new FakeLedger();
    const { commands, messages } = fourTransfers(ledger);
    const { applier, ports } = applierOn(ledger, 4);
    const resumes: string[] = [];
    ports.postCommit.resumeRelay = async () => {
      if (resumes.length === 0) {
        resumes.push('failed');
        throw new Error('test: connection terminated while reading the leftovers');
      }
      resumes.push(`queued with ${ledger.committed.length} writes committed`);
    };

    const { result, failures } = await applyUntilWritten(applier, messages);

    expect(failures.map((f) => (f as Error).message)).toEqual(['test: connection terminated while reading the leftovers']);
    expect(resumes).toEqual(['failed', 'queued with 0 writes committed']);
    expect(result).toEqual({ kind: 'applied', nextOffset: 4n });
    expect(statusesOf(ledger, commands)).toEqual([COMPLETED, COMPLETED, COMPLETED, COMPLETED]);
  });
});

describe('PartitionApplier: what fails after a commit is not the write', () => {
  // Found by an outside review: the heartbeat's KafkaJSConnectionError carries code 'EPIPE',
  // which was read as a SQLSTATE (deterministic): the committed batch was taken for a failed
  // one and the next was bisected from offsets already committed. The writes were 0-4, 4-4,
  // 4-8, 8-6 (next_offset moved back), 6-8: commands 4..7 applied twice (deduped as
  // DUPLICATE, but a dead letter among them would have been written twice).
  test('a heartbeat failing with EPIPE after a commit is an operating error; offsets only move forward', async () => {
    const ledger = new FakeLedger();
    const from = ledger.openAccount(1_000n);
    const to = ledger.openAccount(0n);
    const commands = [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n].map((amount) => transferOf(from, to, `owner-${from}`, amount));
    const { applier } = applierOn(ledger, 4);
    let heartbeats = 0;
    const progress: ApplyProgress = {
      isActive: () => true,
      beforeCommit: async () => undefined,
      committed: async () => {
        // The broker connection drops and comes back: the first two heartbeats fail.
        if (++heartbeats <= 2) throw new KafkaJSConnectionError('Connection error: write EPIPE', { broker: '127.0.0.1:19092', code: 'EPIPE' });
      },
    };

    const { result, failures } = await applyUntilWritten(applier, messagesOf(commands), progress);

    expect(result).toEqual({ kind: 'applied', nextOffset: 8n });
    expect(ledger.committed).toEqual(['0-4', '4-8']);
    expect(ledger.attempts.every((w) => w.to >= w.from)).toBe(true);
    expect(statusesOf(ledger, commands)).toEqual(commands.map(() => COMPLETED));
    expect(ledger.deadLetters).toEqual([]);
    // Each thrown to the consumer loop (retried with backoff), naming the commit it followed;
    // the kafkajs error is its cause (isGroupRejoin follows causes to tell a rebalance).
    expect(failures.map((f) => (f as Error).message)).toEqual([
      'partition 0: offsets 0..4 committed, then the consumer heartbeat failed: Connection error: write EPIPE',
      'partition 0: offsets 4..8 committed, then the consumer heartbeat failed: Connection error: write EPIPE',
    ]);
    expect((failures[0] as Error).cause).toBeInstanceOf(KafkaJSConnectionError);
  });

  test('a routing reload failing after a FENCE committed is an operating error; the fenced batch is not written again', async () => {
    const ledger = new FakeLedger();
    const from = ledger.openAccount(1_000n);
    const to = ledger.openAccount(0n);
    const commands = [1n, 2n, 3n].map((amount) => transferOf(from, to, `owner-${from}`, amount));
    const [first, second, third] = messagesOf(commands);
    const fence: ConsumedMessage = { offset: '2', key: null, value: Buffer.from(encodeFence({ moveIds: [7n], fromPartition: 0 })) };
    const { applier, ports } = applierOn(ledger, 4);
    let failed = false;
    ports.refreshRouting = async () => {
      // The reload after the fence's commit fails once (the claim's own reload came before it).
      if (ledger.committed.length === 1 && !failed) {
        failed = true;
        throw serverError('57P01', 'terminating connection due to administrator command', 'FATAL');
      }
      return ports.routing();
    };

    const { result, failures } = await applyUntilWritten(applier, [first!, second!, fence, { ...third!, offset: '3' }]);

    expect(result).toEqual({ kind: 'applied', nextOffset: 4n });
    expect(ledger.committed).toEqual(['0-3', '3-4']);
    expect(statusesOf(ledger, commands)).toEqual(commands.map(() => COMPLETED));
    expect(failures.map((f) => (f as Error).message)).toEqual([
      'partition 0: offsets 0..3 committed, then the routing reload failed: terminating connection due to administrator command',
    ]);
  });
});

// Found by an outside review: a worker decided whether a command was its own from its
// process's routing snapshot, and reloaded it only when a command looked foreign. A snapshot
// from before a bucket's fence says "mine" for that bucket on its old partition, where legs
// and expiries routed before the fence land after it: with a reload failed after the fence
// (retried 100-200 ms later, before the 1 s timer), or a takeover within a second of it, the
// old partition applied them while the new one wrote the same accounts: two writers.
describe('PartitionApplier: a moved bucket is not applied with a snapshot from before its fence', () => {
  /** Every bucket on partition 0, `held` held (a move is on); after the fence, `moved` on partition 1. */
  const tableOf = (version: number, bucket: number, placement: 'before' | 'held' | 'fenced') =>
    RoutingTable.fromRows(
      version,
      RoutingTable.initial(1).rows().map((row) => (row.bucket === bucket ? { bucket, partition: placement === 'fenced' ? 1 : 0, held: placement !== 'before' } : row)),
    );

  function movingApplier(ledger: FakeLedger, snapshot: 'before' | 'held') {
    const { applier, ports } = applierOn(ledger, 4);
    const from = ledger.openAccount(1_000n);
    const to = ledger.openAccount(0n);
    const bucket = bucketOf(from);
    let current = tableOf(2, bucket, snapshot);
    let fenced = false;
    let failNextAfterFence = false;
    const reloads: string[] = [];
    ports.routing = () => current;
    // The database's table: the bucket's row says FENCED once the fence's batch committed.
    ports.refreshRouting = async () => {
      if (fenced && failNextAfterFence) {
        failNextAfterFence = false;
        reloads.push('failed');
        throw serverError('57P01', 'terminating connection due to administrator command', 'FATAL');
      }
      current = fenced ? tableOf(3, bucket, 'fenced') : tableOf(2, bucket, 'held');
      reloads.push(`v${current.version}`);
      return current;
    };
    return {
      applier,
      from,
      to,
      reloads,
      fence: (options: { reloadFails: boolean }) => {
        fenced = true;
        failNextAfterFence = options.reloadFails;
      },
      /** The fence's batch committed (the FakeLedger wrote it): the database's table moves on. */
      fenceOnCommit: (options: { reloadFails: boolean }) => {
        const refuse = ledger.refuse;
        ledger.refuse = (attempt) => {
          const refused = refuse(attempt);
          if (!refused && attempt.from === 0n && attempt.to === 2n) {
            fenced = true;
            failNextAfterFence = options.reloadFails;
          }
          return refused;
        };
      },
    };
  }

  for (const snapshot of ['held', 'before'] as const) {
    test(`a routing reload failing after the fence committed: the retry forwards the bucket's command (snapshot ${snapshot === 'held' ? 'with the bucket held' : 'from before the hold'})`, async () => {
      const ledger = new FakeLedger();
      const { applier, from, to, reloads, fenceOnCommit } = movingApplier(ledger, snapshot);
      const [before, after] = [transferOf(from, to, `owner-${from}`, 1n), transferOf(from, to, `owner-${from}`, 2n)];
      const [first, second] = messagesOf([before, after]);
      const fence: ConsumedMessage = { offset: '1', key: null, value: Buffer.from(encodeFence({ moveIds: [7n], fromPartition: 0 })) };
      fenceOnCommit({ reloadFails: true });

      const { result, failures } = await applyUntilWritten(applier, [first!, fence, { ...second!, offset: '2' }]);

      expect(result).toEqual({ kind: 'applied', nextOffset: 3n });
      expect(ledger.committed).toEqual(['0-2', '2-3']);
      expect(failures.map((f) => (f as Error).message)).toEqual([
        'partition 0: offsets 0..2 committed, then the routing reload failed: terminating connection due to administrator command',
      ]);
      // Before the fence the old partition owns the bucket; after it, partition 1 does.
      expect(ledger.transfers.get(before.transferId)).toEqual(COMPLETED);
      expect(ledger.transfers.get(after.transferId)).toBeUndefined();
      expect(reloads).toContain('v3');
    });
  }

  test("a claim taken again with a snapshot from before the fence: the first batch reloads the table and forwards the bucket's command", async () => {
    const ledger = new FakeLedger();
    const { applier, from, to, reloads, fence } = movingApplier(ledger, 'before');
    const earlier = transferOf(from, to, `owner-${from}`, 1n);
    expect((await applyUntilWritten(applier, messagesOf([earlier]))).result).toEqual({ kind: 'applied', nextOffset: 1n });
    expect(ledger.transfers.get(earlier.transferId)).toEqual(COMPLETED);
    // A rebalance takes the partition away; its new owner applies the fence; a later one gives
    // it back to this process, whose timer has not reloaded the table since.
    applier.reassigned();
    fence({ reloadFails: false });
    const after = transferOf(from, to, `owner-${from}`, 2n);

    const { result } = await applyUntilWritten(applier, messagesOf([after], 1));

    expect(result).toEqual({ kind: 'applied', nextOffset: 2n });
    expect(ledger.transfers.get(after.transferId)).toBeUndefined();
    expect(reloads).toEqual(['v2', 'v3']);
  });
});

describe('PartitionApplier: the account cache keeps to its share of the process budget', () => {
  test('it never holds more accounts than its current share, and gives back what a smaller share no longer allows', async () => {
    // The worker gives each partition budget / partitions applied (partition-worker.ts), so a
    // failover onto many partitions shrinks every share instead of multiplying the budget.
    const ledger = new FakeLedger();
    let share = 3;
    const { applier } = applierOn(ledger, 100, () => share);
    const pairs = Array.from({ length: 4 }, () => [ledger.openAccount(100n), ledger.openAccount(0n)] as const);
    const commands = pairs.map(([from, to]) => transferOf(from, to, `owner-${from}`, 1n));
    await applyUntilWritten(applier, messagesOf(commands));
    expect(statusesOf(ledger, commands)).toEqual(commands.map(() => COMPLETED));
    expect(applier.cachedAccounts).toBe(3); // 8 accounts touched
    share = 1;
    applier.trimAccounts();
    expect(applier.cachedAccounts).toBe(1);
    share = 0;
    applier.trimAccounts();
    expect(applier.cachedAccounts).toBe(0);
  });
});

// Found by an outside review, on a stack: one message from a client writing to the commands
// topic in a Kafka transaction (Kafka Connect, an exactly-once Java producer) is followed by
// its commit marker, an offset no consumer is given. The worker applied up to the marker;
// the next fetch, read from the marker's offset, started one past it, and the applier asked
// to seek back to the marker, which fetched the same answer: the partition applied nothing
// more, silently (/readyz 200, ~60% of a core), its later transfers ACCEPTED forever.
describe('PartitionApplier: offsets that hold no record a consumer is given', () => {
  const fetchedFrom = (offset: bigint): ApplyProgress => ({ isActive: () => true, beforeCommit: async () => undefined, committed: async () => undefined, fetchedFrom: offset });

  test('a fetch read from next_offset that starts past it (a transaction marker between) is applied, not sought back to', async () => {
    const ledger = new FakeLedger();
    ledger.nextOffset = 2n; // offsets 0..1 applied; offset 2 is a commit marker
    const from = ledger.openAccount(1_000n);
    const to = ledger.openAccount(0n);
    const commands = [1n, 2n, 3n].map((amount) => transferOf(from, to, `owner-${from}`, amount));
    const { applier, log } = applierOn(ledger, 10);

    const result = await applier.apply(messagesOf(commands, 3), fetchedFrom(2n));

    expect(result).toEqual({ kind: 'applied', nextOffset: 6n });
    expect(ledger.committed).toEqual(['2-6']);
    expect(statusesOf(ledger, commands)).toEqual([COMPLETED, COMPLETED, COMPLETED]);
    expect(log.filter((l) => l.includes('hold no record'))).toEqual(['partition 0: offsets 2..2 hold no record a consumer is given (transaction markers or aborted records); applying from 3']);
  });

  test('a fetch read from before next_offset (a group offset behind) whose fresh part starts past it is applied too', async () => {
    const ledger = new FakeLedger();
    ledger.nextOffset = 2n; // 0..1 applied; 2 a marker
    const from = ledger.openAccount(1_000n);
    const to = ledger.openAccount(0n);
    const commands = [1n, 2n].map((amount) => transferOf(from, to, `owner-${from}`, amount));
    const { applier } = applierOn(ledger, 10);
    // Read from 0: offsets 0 and 1 (applied before) come again, then nothing at 2, then 3 and 4.
    const applied = [transferOf(from, to, `owner-${from}`, 9n), transferOf(from, to, `owner-${from}`, 9n)];
    const messages = [...messagesOf(applied, 0), ...messagesOf(commands, 3)];

    expect(await applier.apply(messages, fetchedFrom(0n))).toEqual({ kind: 'applied', nextOffset: 5n });
    expect(ledger.committed).toEqual(['2-5']);
    expect(statusesOf(ledger, commands)).toEqual([COMPLETED, COMPLETED]);
  });

  test('a fetch read from past next_offset (the group offset ahead of Postgres) still seeks back', async () => {
    const ledger = new FakeLedger();
    ledger.nextOffset = 2n;
    const from = ledger.openAccount(1_000n);
    const to = ledger.openAccount(0n);
    const commands = [transferOf(from, to, `owner-${from}`, 1n)];
    const { applier } = applierOn(ledger, 10);

    expect(await applier.apply(messagesOf(commands, 3), fetchedFrom(3n))).toEqual({ kind: 'seek', offset: 2n });
    expect(await applier.apply(messagesOf(commands, 3))).toEqual({ kind: 'seek', offset: 2n });
    expect(ledger.committed).toEqual([]);
  });

  test('a command right after such offsets whose write fails alone is isolated from next_offset', async () => {
    const ledger = new FakeLedger();
    ledger.nextOffset = 2n;
    const from = ledger.openAccount(1_000n);
    const to = ledger.openAccount(0n);
    const commands = [1n, 2n, 3n].map((amount) => transferOf(from, to, `owner-${from}`, amount));
    const poison = commands[0]!.transferId;
    ledger.refuse = (w) => (w.transfers.some((t) => t.id === poison && t.status !== 'REJECTED') ? serverError('22003', 'value out of range') : null);
    const { applier } = applierOn(ledger, 10);

    const { result } = await applyUntilWritten(applier, messagesOf(commands, 3), fetchedFrom(2n));

    expect(result).toEqual({ kind: 'applied', nextOffset: 6n });
    // Isolated by a write from next_offset through the command (2-4); the rest after it.
    expect(ledger.committed).toContain('2-4');
    expect(ledger.nextOffset).toBe(6n);
    expect(statusesOf(ledger, commands)).toEqual([{ status: 'REJECTED', reason: 'UNPROCESSABLE' }, COMPLETED, COMPLETED]);
    expect(ledger.deadLetters.map((d) => d.offset)).toEqual(['3']);
  });
});
