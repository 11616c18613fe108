// Proves that a replay into a database restored from a backup keeps each partition's first
// order when the workers wait for legs' sources (WORKER_LEG_WAIT_FOR_SOURCE_MS,
// docs/operations.md). A cross-partition transfer T (A on partition 0 to B on partition 1) and
// a reversal R of it (applied on partition 1 after T's credit leg) are applied once, then
// replayed from Kafka into a "restored" database that holds neither. Partition 0 is held back
// (a lock on its partition_state row, as a busier source would be), so the leg reaches
// partition 1 before T exists again: dead-lettered there (the default, for a leg no worker
// built), R would find T not COMPLETED and end REJECTED, where it had been COMPLETED (an
// outside disaster-recovery review saw 24-27 such reversals per restore). Waiting, the leg
// completes T once partition 0 has applied it again, and R ends COMPLETED as before. Then the
// Idempotency-Key claims the restore lost are bound again from the rows (ledgerctl keys rebind).
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CreditLegCommand } from '@ledgerline/domain';
import { IdempotencyClaims, insertUserAccount, listDeadLetters, loadRouting, rebindLostClaims } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { ledgerctlFor } from '../../../test/support/ledgerctl';
import { TestPublisher, accountOnPartition, balanceOf, deposit, ownerClose, reversal, transfer, transferStatuses } from '../../../test/support/ledger';
import { startWorker, waitFor } from '../../../test/support/worker';

const hash = (id: string) => createHash('sha256').update(id).digest('hex');

describe('a replay into a restored database, waiting for legs’ sources', () => {
  let live: TestDatabase;
  let restored: TestDatabase;
  let topics: TestTopics;

  beforeAll(async () => {
    [live, restored] = await Promise.all([createTestDatabase(2), createTestDatabase(2)]);
    topics = await createTestTopics(2);
  });

  afterAll(async () => {
    await topics.delete();
    await Promise.all([live.drop(), restored.drop()]);
  });

  test('a reversal applied after its transfer’s credit leg is COMPLETED again, and no leg is dead-lettered', async () => {
    const routing = await loadRouting(live.pool);
    const [a, b, c] = [accountOnPartition(routing, 0), accountOnPartition(routing, 1), accountOnPartition(routing, 1)];
    expect([(await loadRouting(restored.pool)).partitionOf(a), (await loadRouting(restored.pool)).partitionOf(b)]).toEqual([0, 1]);
    for (const db of [live, restored]) {
      await insertUserAccount(db.pool, { id: a, owner: 'ann', currency: 'USD', overdraftLimit: 0n, metadata: {}, requestHash: 'test' });
      await insertUserAccount(db.pool, { id: b, owner: 'ben', currency: 'USD', overdraftLimit: 0n, metadata: {}, requestHash: 'test' });
      await insertUserAccount(db.pool, { id: c, owner: 'cat', currency: 'USD', overdraftLimit: 0n, metadata: {}, requestHash: 'test' });
    }
    // The backup: both partitions claimed once, nothing applied.
    for (const partition of [0, 1]) {
      await restored.pool.query('INSERT INTO partition_state (topic, partition, next_offset, epoch) VALUES ($1, $2, 0, 1)', [topics.names.commands, partition]);
    }
    const publisher = await TestPublisher.create(topics, live.pool);
    const target = { topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
    const t = transfer(a, b, 'ann', 60n);
    const r = reversal(t.transferId, b, 'ben', 60n);
    // An account change (its owner closing it) is a command with an Idempotency-Key too.
    const close = ownerClose(c, 'cat');
    try {
      const first = await startWorker({ ...target, databaseUrl: live.url });
      try {
        // Ahead of T on its partition, more than one small fetch holds (WORKER_FETCH_BYTES_MAX
        // below): partition 0 needs further fetches to reach T while partition 1 waits for it.
        for (let i = 0; i < 10; i++) await publisher.publish(deposit(a, 10n));
        await publisher.publish(close);
        await publisher.publish(t);
        await waitFor('T completed', async () => (await transferStatuses(live.pool, [t.transferId])).get(t.transferId)?.status === 'COMPLETED');
        await publisher.publish(r);
        await waitFor('R completed', async () => (await transferStatuses(live.pool, [r.transferId])).get(r.transferId)?.status === 'COMPLETED');
      } finally {
        await first.stop();
      }

      // Partition 0 held back: its claim and writes wait for this lock.
      const lock = await restored.pool.connect();
      await lock.query('BEGIN');
      await lock.query('SELECT 1 FROM partition_state WHERE topic = $1 AND partition = 0 FOR UPDATE', [topics.names.commands]);
      const second = await startWorker({ ...target, databaseUrl: restored.url }, { WORKER_LEG_WAIT_FOR_SOURCE_MS: '60000', WORKER_WRITE_RETRY_DELAY_MAX_MS: '500', WORKER_FETCH_BYTES_MAX: '1024' });
      try {
        // Partition 1 has met the leg before T exists again (claimed, next_offset still 0).
        await waitFor('partition 1 claimed', async () => (await restored.pool.query(`SELECT epoch > 1 AS claimed FROM partition_state WHERE topic = $1 AND partition = 1`, [topics.names.commands])).rows[0]?.claimed === true);
        await sleep(1_500);
        await lock.query('COMMIT');
        await waitFor('R replayed', async () => {
          const status = (await transferStatuses(restored.pool, [r.transferId])).get(r.transferId)?.status;
          return status === 'COMPLETED' || status === 'REJECTED';
        });
        const statuses = await transferStatuses(restored.pool, [t.transferId, r.transferId]);
        expect(statuses.get(t.transferId)).toEqual({ status: 'COMPLETED', reason: null });
        expect(statuses.get(r.transferId)).toEqual({ status: 'COMPLETED', reason: null });
        expect([await balanceOf(restored.pool, a), await balanceOf(restored.pool, b)]).toEqual([100n, 0n]);
        expect(await listDeadLetters(restored.pool, { limit: 10 })).toEqual([]);
        expect(second.fatal).toEqual([]);

        // The keys' claims were lost with the restore: bound again from the rows (ledgerctl
        // keys rebind), a retry of R's key with another body is refused, with its own replays.
        const claims = new IdempotencyClaims(restored.pool);
        expect((await restored.pool.query('SELECT outcome FROM account_changes WHERE id = $1', [close.changeId])).rows).toEqual([{ outcome: 'APPLIED' }]);
        // As an operator runs it (docs/operations.md), with Kafka out of reach: it needs only Postgres.
        const rebind = await ledgerctlFor({ databaseUrl: restored.url, topicPrefix: topics.prefix })(['keys', 'rebind', '--since', '2000-01-01t00:00:00z'], { KAFKA_BROKERS: '127.0.0.1:1' });
        // The ten deposits, T, R and the change.
        expect({ code: rebind.code, out: rebind.out }).toEqual({ code: 0, out: 'keys rebind: 13 Idempotency-Key claims bound again to the transfers, holds and account changes written since 2000-01-01T00:00:00Z\n' });
        expect((await claims.claim(r.transferId, 'ben', hash('another body'))).kind).toBe('reused');
        expect((await claims.claim(r.transferId, 'ben', r.requestHash)).kind).toBe('replay');
        expect((await claims.claim(close.changeId, 'cat', hash('another body'))).kind).toBe('reused');
        expect((await claims.claim(close.changeId, 'cat', close.requestHash)).kind).toBe('replay');
        expect(await rebindLostClaims(restored.pool, '2000-01-01T00:00:00Z')).toBe(0);
      } finally {
        lock.release();
        await second.stop();
      }
    } finally {
      await publisher.stop();
    }
  }, 120_000);

  test('a first-run leg whose transfer the replay applied again on another source partition is dead-lettered at once, and the new leg completes it', async () => {
    // After a bucket move made since the backup, the restored routing sends the first run's
    // transfer to another source partition than the one its first leg names (an outside
    // operator review: each such leg held its partition for the whole wait, ten minutes, 149
    // of them on one restore). Here: the first-run leg names partition 2, the replay applies
    // the transfer on partition 0, and both legs reach partition 1, the old one first.
    const [db, own] = await Promise.all([createTestDatabase(3), createTestTopics(3)]);
    const routing = await loadRouting(db.pool);
    const [a, b] = [accountOnPartition(routing, 0), accountOnPartition(routing, 1)];
    for (const [id, owner] of [[a, 'ann'], [b, 'ben']] as const) {
      await insertUserAccount(db.pool, { id, owner, currency: 'USD', overdraftLimit: 0n, metadata: {}, requestHash: 'test' });
    }
    for (const partition of [0, 1, 2]) {
      await db.pool.query('INSERT INTO partition_state (topic, partition, next_offset, epoch) VALUES ($1, $2, 0, 1)', [own.names.commands, partition]);
    }
    const publisher = await TestPublisher.create(own, db.pool);
    const t = transfer(a, b, 'ann', 60n);
    const firstRunLeg: CreditLegCommand = { type: 'CREDIT_LEG', transferId: t.transferId, kind: 'TRANSFER', reverses: null, holdId: null, fromAccountId: a, toAccountId: b, amount: 60n, currency: 'USD', sourcePartition: 2 };
    // The first-run leg reaches partition 1 first and waits there for its source (T does not
    // exist yet); then the replay applies T on partition 0, whose relay sends T's new leg behind
    // it. No lock holds a partition back: a claim waiting on one held the worker's whole fetch
    // (a CI run's first fetch carried the leg alone, and T never came).
    const worker = await startWorker({ databaseUrl: db.url, topicPrefix: own.prefix, redisKeyPrefix: `${own.prefix}:` }, { WORKER_LEG_WAIT_FOR_SOURCE_MS: '60000', WORKER_WRITE_RETRY_DELAY_MAX_MS: '500' });
    try {
      await publisher.publish(firstRunLeg);
      await publisher.publish(deposit(a, 100n));
      await publisher.publish(t);
      // Well within the 60 s wait: once T exists with other facts, the first-run leg is not waited for.
      await waitFor('T completed by its new leg', async () => (await transferStatuses(db.pool, [t.transferId])).get(t.transferId)?.status === 'COMPLETED', 20_000);
      expect([await balanceOf(db.pool, a), await balanceOf(db.pool, b)]).toEqual([40n, 60n]);
      const letters = await listDeadLetters(db.pool, { limit: 10 });
      expect(letters.map((l) => [l.sourcePartition, l.letter.sqlstate])).toEqual([[1, 'LL003']]);
      expect(worker.fatal).toEqual([]);
    } finally {
      await worker.stop();
      await publisher.stop();
      await own.delete();
      await db.drop();
    }
  }, 60_000);
});
