// Group commit (src/group-commit.ts) against the real database: small batches of different
// partitions that wait behind a write in flight go together in one statement, each gets its
// own outbox rows back, and a failure stays the failing batch's own: the statement is all or
// nothing, so the others are written again alone and commit; a statement whose answer was
// lost after it committed is refused by each batch's fence when written again.
import { applyBatch, externalAccountId } from '@ledgerline/domain';
import type { Pool, QueryConfig } from 'pg';
import {
  type BatchWrite,
  FencedError,
  GroupCommitWriter,
  classifyWriteFailure,
  type PartitionClaim,
  type Queryable,
  claimPartition,
  loadAccountStates,
  loadRouting,
} from '../src';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { balanceOf, deposit, openAccountOn } from '../../../test/support/ledger';

/** The real pool, recording each statement's number of ledger_apply_batch calls; a statement can be held back. */
function recordingDb(pool: Pool) {
  const statements: number[] = [];
  const gates: (() => void)[] = [];
  let holdNext = false;
  const db: Queryable = {
    query: (async (config: QueryConfig) => {
      statements.push(config.text.split('ledger_apply_batch(').length - 1);
      if (holdNext) {
        holdNext = false;
        await new Promise<void>((release) => gates.push(release));
      }
      return pool.query(config);
    }) as unknown as Queryable['query'],
  };
  return {
    db,
    statements,
    holdNextStatement: () => {
      holdNext = true;
    },
    releaseHeld: () => gates.splice(0).forEach((release) => release()),
  };
}

describe('group commit of several partitions', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(4);
  });
  afterAll(async () => {
    await db.drop();
  });

  /** A deposit into a new account of `partition`, as that partition's owner would write it. */
  async function depositWrite(topic: string, partition: number, amount: bigint, options: { messages?: bigint; claim?: PartitionClaim } = {}) {
    const routing = await loadRouting(db.pool);
    const account = await openAccountOn(db.pool, routing, partition, `group-${topic}-${partition}`);
    const claim = options.claim ?? (await claimPartition(db.pool, topic, partition, 'owner'));
    const accounts = await loadAccountStates(db.pool, [account, externalAccountId(partition, 'USD')]);
    const effects = applyBatch({ partition, now: new Date().toISOString(), accounts, partitionOf: (id) => routing.partitionOf(id), alreadyApplied: new Set() }, [
      deposit(account, amount),
    ]);
    const write: BatchWrite = {
      claim,
      fromOffset: 0n,
      toOffset: options.messages ?? 1n,
      effects,
      before: accounts,
      outbox: [{ topic: 'events', targetPartition: null, key: `${topic}-${partition}`, payload: JSON.stringify({ partition }) }],
    };
    return { account, write };
  }

  /** Another session holds `partition`'s state row (an open transaction) until `release`. */
  async function holdStateRow(topic: string, partition: number): Promise<{ release(): Promise<void> }> {
    const holder = await db.pool.connect();
    await holder.query('BEGIN');
    await holder.query('UPDATE partition_state SET next_offset = next_offset WHERE topic = $1 AND partition = $2', [topic, partition]);
    return {
      async release() {
        await holder.query('ROLLBACK');
        holder.release();
      },
    };
  }

  test('batches that wait behind the write in flight go together, each with its own outbox rows', async () => {
    const recording = recordingDb(db.pool);
    const writer = new GroupCommitWriter(recording.db, { groupMessagesMax: 64 });
    const batches = await Promise.all([0, 1, 2].map((p) => depositWrite('together', p, BigInt(10 + p))));

    // All three ready at once: the first goes alone at once, the two others wait and go together.
    const rows = (await Promise.all(batches.map((b) => writer.write(b.write)))).map((w) => w.published);

    expect(recording.statements).toEqual([1, 2]);
    rows.forEach((written, p) => {
      expect(written).toHaveLength(1);
      expect(written[0]!.key).toBe(`together-${p}`);
      expect(JSON.parse(written[0]!.payload)).toEqual({ partition: p });
    });
    const stored = await db.pool.query('SELECT id, message_key FROM outbox WHERE message_key LIKE $1', ['together-%']);
    expect(new Map(stored.rows.map((r) => [r.message_key, BigInt(r.id)]))).toEqual(new Map(rows.map((written) => [written[0]!.key, written[0]!.id])));
    for (const [p, b] of batches.entries()) expect(await balanceOf(db.pool, b.account)).toBe(BigInt(10 + p));
    const offsets = await db.pool.query(`SELECT partition, next_offset FROM partition_state WHERE topic = 'together' ORDER BY partition`);
    expect(offsets.rows).toEqual([0, 1, 2].map((p) => ({ partition: p, next_offset: '1' })));
  });

  test('a batch that fails fails alone: the others of its statement are written again and commit', async () => {
    const recording = recordingDb(db.pool);
    const writer = new GroupCommitWriter(recording.db, { groupMessagesMax: 64 });
    const first = await depositWrite('alone', 0, 5n);
    // Partition 1's owner was superseded: its write is fenced (LL001).
    const zombie = await claimPartition(db.pool, 'alone', 1, 'zombie');
    await claimPartition(db.pool, 'alone', 1, 'newer');
    const fenced = await depositWrite('alone', 1, 7n, { claim: zombie });
    const healthy = await depositWrite('alone', 2, 9n);

    const outcomes = await Promise.allSettled([first, fenced, healthy].map((b) => writer.write(b.write)));

    // The first alone; the group of two refused whole; then each of the two alone.
    expect(recording.statements).toEqual([1, 2, 1, 1]);
    expect(outcomes[0]!.status).toBe('fulfilled');
    expect(outcomes[1]!.status).toBe('rejected');
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(FencedError);
    expect(outcomes[2]!.status).toBe('fulfilled');
    expect(await balanceOf(db.pool, fenced.account)).toBe(0n);
    expect(await balanceOf(db.pool, healthy.account)).toBe(9n);
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM outbox WHERE message_key = 'alone-1'`)).rows[0].n).toBe(0);
  });

  test('a batch larger than the group bound is written at once, beside the statement in flight', async () => {
    const recording = recordingDb(db.pool);
    const writer = new GroupCommitWriter(recording.db, { groupMessagesMax: 1 });
    const small = await depositWrite('large', 0, 3n);
    const large = await depositWrite('large', 1, 4n, { messages: 5n });

    recording.holdNextStatement();
    const smallWritten = writer.write(small.write);
    const largeWritten = writer.write(large.write);
    await largeWritten; // sent and committed while the small batch's statement is held back
    expect(recording.statements).toEqual([1, 1]);
    expect(await balanceOf(db.pool, small.account)).toBe(0n);
    recording.releaseHeld();
    await smallWritten;
    expect(await balanceOf(db.pool, small.account)).toBe(3n);
    expect(await balanceOf(db.pool, large.account)).toBe(4n);
  });

  test('a write not answered within the timeout fails as an operating error and frees the lane; it is never applied twice', async () => {
    const writer = new GroupCommitWriter(db.pool, { groupMessagesMax: 64, timeoutMs: 300 });
    const stuck = await depositWrite('timeout', 0, 6n);
    const behind = await depositWrite('timeout', 1, 8n);
    // Another session holds partition 0's state row: its owner's write waits on the lock.
    const held = await holdStateRow('timeout', 0);
    try {
      const stuckWritten = writer.write(stuck.write);
      const behindWritten = writer.write(behind.write); // waits behind the stuck statement in the lane

      const failure = await stuckWritten.then(
        () => null,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(Error);
      expect(classifyWriteFailure(failure)).toBe('operating');
      await behindWritten; // committed while the lock is still held
      expect(await balanceOf(db.pool, behind.account)).toBe(8n);
    } finally {
      await held.release();
    }
    // The abandoned statement may still commit once the lock is gone; wait until no call of
    // ledger_apply_batch runs, then write the batch again, as the applier's retry does: it
    // commits, or is refused by the fence because the abandoned one did. Never both.
    for (let i = 0; i < 100; i++) {
      const running = await db.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%ledger_apply_batch%' AND pid <> pg_backend_pid()`);
      if (running.rows[0].n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const retried = await writer.write(stuck.write).then(
      () => 'committed',
      (error: unknown) => (error instanceof FencedError ? 'fenced' : error),
    );
    expect(['committed', 'fenced']).toContain(retried);
    expect(await balanceOf(db.pool, stuck.account)).toBe(6n);
    const offsets = await db.pool.query(`SELECT next_offset FROM partition_state WHERE topic = 'timeout' ORDER BY partition`);
    expect(offsets.rows.map((r) => r.next_offset)).toEqual(['1', '1']);
  });

  test('in a group, a call stuck on a lock gives up within lock_timeout and takes the group\'s locks with it: the other batch commits alone', async () => {
    const recording = recordingDb(db.pool);
    // A client deadline longer than ledger_apply_batch's lock_timeout (5 s, migration 0014).
    const writer = new GroupCommitWriter(recording.db, { groupMessagesMax: 64, timeoutMs: 8_000 });
    const first = await depositWrite('locked', 2, 1n);
    const innocent = await depositWrite('locked', 1, 2n);
    const stuck = await depositWrite('locked', 0, 3n);
    const held = await holdStateRow('locked', 0);
    try {
      // The first write is held in flight, so the two others go together: [partition 1, partition 0].
      recording.holdNextStatement();
      const outcomes = Promise.allSettled([first, innocent, stuck].map((b) => writer.write(b.write)));
      await new Promise((resolve) => setTimeout(resolve, 50));
      recording.releaseHeld();
      const [firstDone, innocentDone, stuckDone] = await outcomes;
      // Without the lock_timeout the group's statement would hold partition 1's row until the
      // client deadline, and partition 1's write alone would then wait on it and time out too.
      expect(recording.statements).toEqual([1, 2, 1, 1]);
      expect(firstDone!.status).toBe('fulfilled');
      expect(innocentDone!.status).toBe('fulfilled');
      expect(stuckDone!.status).toBe('rejected');
      const failure = (stuckDone as PromiseRejectedResult).reason;
      expect((failure as { code?: string }).code).toBe('55P03');
      expect(classifyWriteFailure(failure)).toBe('operating');
      expect(await balanceOf(db.pool, innocent.account)).toBe(2n);
      expect(await balanceOf(db.pool, stuck.account)).toBe(0n);
    } finally {
      await held.release();
    }
  }, 30_000);

  /** The recording db, whose statements of several batches fail with `lost` before (or, with `afterCommit`, after) running. */
  function losingGroups(recording: ReturnType<typeof recordingDb>, lost: Error, afterCommit: boolean): Queryable {
    return {
      query: (async (config: QueryConfig) => {
        if (config.text.split('ledger_apply_batch(').length - 1 > 1) {
          recording.statements.push(afterCommit ? 2 : -1);
          if (afterCommit) await db.pool.query(config);
          throw lost;
        }
        return recording.db.query(config);
      }) as unknown as Queryable['query'],
    };
  }

  test('a group refused with an operating error is written again batch by batch, and each commits', async () => {
    const recording = recordingDb(db.pool);
    const lost = Object.assign(new Error('could not read block: I/O error'), { code: '58030' });
    const writer = new GroupCommitWriter(losingGroups(recording, lost, false), { groupMessagesMax: 64 });
    const batches = await Promise.all([0, 1, 2].map((p) => depositWrite('operating', p, 1n)));

    const outcomes = await Promise.allSettled(batches.map((b) => writer.write(b.write)));

    // An operating error one batch's data may cause does not fail the batches beside it.
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(recording.statements).toEqual([1, -1, 1, 1]);
    for (const b of batches) expect(await balanceOf(db.pool, b.account)).toBe(1n);
  });

  test('a group whose answer was lost after it committed: each batch alone meets its fence, nothing is applied twice', async () => {
    const recording = recordingDb(db.pool);
    const lost = Object.assign(new Error('Connection terminated unexpectedly'), { code: '08006' });
    const writer = new GroupCommitWriter(losingGroups(recording, lost, true), { groupMessagesMax: 64 });
    const batches = await Promise.all([0, 1, 2].map((p) => depositWrite('lost', p, 4n)));

    const outcomes = await Promise.allSettled(batches.map((b) => writer.write(b.write)));

    expect(outcomes[0]!.status).toBe('fulfilled');
    for (const o of outcomes.slice(1)) {
      expect(o.status).toBe('rejected');
      expect((o as PromiseRejectedResult).reason).toBeInstanceOf(FencedError);
    }
    expect(recording.statements).toEqual([1, 2, 1, 1]);
    for (const b of batches) expect(await balanceOf(db.pool, b.account)).toBe(4n);
    const offsets = await db.pool.query(`SELECT next_offset FROM partition_state WHERE topic = 'lost' ORDER BY partition`);
    expect(offsets.rows.map((r) => r.next_offset)).toEqual(['1', '1', '1']);
  });
});
