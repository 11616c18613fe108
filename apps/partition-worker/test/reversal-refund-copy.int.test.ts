// Proves that a copy of an applied reversal's refund leg (the sweeper's or a crash's resend,
// at a later offset) is read as a copy before anything is bisected: the partition reads which
// commands were applied, takes it for the DUPLICATE it is, and logs that as routine (info).
// Such a copy fails the optimistic apply as UnprocessableCommand (the refund would hand back
// more than the original still has reversed), the domain's word for a command that can never
// apply; without the partition counting it as a possible copy (mayBeACopy), the batch was
// bisected first: a 'write failed deterministically ... bisecting' warning for a routine copy
// and a write of no commands to prove the database sound. The money comes out the same either
// way (the bisection reads the applied commands too), which this test also pins down.
// Against a real worker, Kafka, Postgres through PgBouncer and Redis.
import { randomUUID } from 'node:crypto';
import type { ClientCommand, RefundLegCommand, RoutingTable } from '@ledgerline/domain';
import type { LogFields, Logger } from '@ledgerline/logging';
import { loadRouting } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { TestPublisher, allTerminal, balanceOf, deposit, openAccountOn, transfer, transferStatuses } from '../../../test/support/ledger';
import { startWorker, waitFor } from '../../../test/support/worker';

const PARTITIONS = 2;

interface Line {
  level: 'error' | 'warn' | 'info' | 'debug';
  message: string;
  fields: LogFields;
}

/** A Logger that keeps every line (the worker's partition lines go through lineLog to it). */
function recordingLogger(lines: Line[], bindings: LogFields = {}): Logger {
  const at = (level: Line['level']) => (message: string, fields?: LogFields) => void lines.push({ level, message, fields: { ...bindings, ...fields } });
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    child: (more) => recordingLogger(lines, { ...bindings, ...more }),
    isLevelEnabled: () => true,
  };
}

describe('a copy of an applied reversal refund leg', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let routing: RoutingTable;
  let publisher: TestPublisher;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  const lines: Line[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(PARTITIONS);
    topics = await createTestTopics(PARTITIONS);
    routing = await loadRouting(db.pool);
    publisher = await TestPublisher.create(topics, db.pool);
    worker = await startWorker({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` }, {}, recordingLogger(lines));
  });

  afterAll(async () => {
    await worker?.stop();
    expect(worker?.fatal ?? []).toEqual([]);
    await publisher.stop();
    await topics.delete();
    await db.drop();
  });

  async function settle(...commands: ClientCommand[]): Promise<void> {
    await Promise.all(commands.map((c) => publisher.publish(c)));
    const ids = commands.map((c) => c.transferId);
    await waitFor(`${ids.length} transfers terminal`, () => allTerminal(db.pool, ids), 60_000);
  }

  test('is read as a duplicate before any bisection, logged as routine; nothing moves, nothing is dead-lettered', async () => {
    // The payer on partition 1, the payee on partition 0: the original crosses partitions.
    const payer = await openAccountOn(db.pool, routing, 1, 'owner-payer');
    const payee = await openAccountOn(db.pool, routing, 0, 'owner-payee');
    await settle(deposit(payer, 40n));
    const original = transfer(payer, payee, 'owner-payer', 40n);
    await settle(original);
    // The payer empties into the payee and closes: the reversal's money cannot go home.
    await publisher.publish({
      type: 'UPDATE_ACCOUNT',
      changeId: randomUUID(),
      accountId: payer,
      status: 'CLOSED',
      overdraftLimit: null,
      principal: 'owner-payer',
      admin: false,
      requestHash: 'c'.repeat(64),
      acceptedAt: new Date().toISOString(),
    });
    await waitFor('the payer closed', async () => (await db.pool.query('SELECT status FROM accounts WHERE id = $1', [payer])).rows[0]?.status === 'CLOSED');

    // The payee reverses the original: debited on partition 0, refused on partition 1, and the
    // refund leg comes home to partition 0, handing the 40 back to the original's total.
    const reversal: ClientCommand = {
      type: 'REVERSAL',
      transferId: randomUUID(),
      reverses: original.transferId,
      fromAccountId: payee,
      amount: 40n,
      currency: 'USD',
      principal: 'owner-payee',
      admin: false,
      requestHash: 'e'.repeat(64),
      acceptedAt: new Date().toISOString(),
      description: null,
    };
    await settle(reversal);
    expect([...(await transferStatuses(db.pool, [reversal.transferId])).values()]).toEqual([{ status: 'REJECTED', reason: 'ACCOUNT_CLOSED' }]);
    const reversedAfterRefund = await db.pool.query('SELECT reversed_amount FROM transfer_reversals WHERE transfer_id = $1', [original.transferId]);
    expect(reversedAfterRefund.rows).toEqual([{ reversed_amount: '0' }]);
    const linesBefore = lines.length;

    // The refund leg again, as partition 1's relay or sweeper sends it, at a later offset.
    const copy: RefundLegCommand = {
      type: 'REFUND_LEG',
      transferId: reversal.transferId,
      kind: 'REVERSAL',
      reverses: original.transferId,
      holdId: null,
      fromAccountId: payee,
      toAccountId: payer,
      amount: 40n,
      currency: 'USD',
      reason: 'ACCOUNT_CLOSED',
      sourcePartition: 1,
    };
    await publisher.publish(copy);
    // A later command of partition 0 applied: the partition went past the copy.
    await settle(deposit(payee, 7n));

    // The money: the copy changed nothing.
    expect(await balanceOf(db.pool, payee)).toBe(47n); // 40 in, 40 reversed out, 40 refunded, 7
    expect(await balanceOf(db.pool, payer)).toBe(0n);
    expect([...(await transferStatuses(db.pool, [reversal.transferId])).values()]).toEqual([{ status: 'REJECTED', reason: 'ACCOUNT_CLOSED' }]);
    expect((await db.pool.query('SELECT reversed_amount FROM transfer_reversals WHERE transfer_id = $1', [original.transferId])).rows).toEqual([{ reversed_amount: '0' }]);
    const entries = await db.pool.query('SELECT count(*)::int AS n FROM entries WHERE transfer_id = $1', [reversal.transferId]);
    expect(entries.rows[0].n).toBe(4); // debit, transit credit; transit debit, refund
    const letters = await db.pool.query(`SELECT count(*)::int AS n FROM outbox WHERE topic = 'dead-letter'`);
    expect(letters.rows[0].n).toBe(0);

    // The path: partition 0 read the applied commands at once (an info line naming the
    // refund's refusal), and bisected nothing (no warning).
    const partition0 = lines.slice(linesBefore).filter((l) => l.fields.partition === 0);
    expect(partition0.filter((l) => /may hold a command applied before \(UnprocessableCommand: refund of reversal/.test(l.message)).map((l) => l.level)).toEqual(['info']);
    expect(partition0.filter((l) => l.level !== 'info' && l.level !== 'debug').map((l) => l.message)).toEqual([]);
    expect(partition0.filter((l) => /bisecting|isolated/.test(l.message)).map((l) => l.message)).toEqual([]);
  });
});
