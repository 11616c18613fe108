// Proves that a saga leg no worker built cannot stop a partition or move money (docs/design.md
// invariant 10; docs/security.md "Commands on Kafka"), against a real worker, Kafka, Postgres
// through PgBouncer and Redis. A CREDIT_LEG or REFUND_LEG is built from nothing but its
// transfer's row, so the write checks the leg against that row (migration 0021): a leg naming
// a transfer that does not exist, or a real PROCESSING transfer with another amount, or an
// account that does not exist, is dead-lettered as UNPROCESSABLE, and the partition goes on;
// so is a refund whose credit was never refused, or was refused for another reason than the
// refund names (migration 0024), or whose currency is not its account's (refused in memory,
// apply.ts).
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { type CreditLegCommand, type RefundLegCommand, type RoutingTable, creditLegOf } from '@ledgerline/domain';
import { listDeadLetters, loadRouting } from '@ledgerline/postgres';
import { encodeCommand } from '@ledgerline/schemas';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { TestPublisher, accountOnPartition, allTerminal, balanceOf, deposit, openAccountOn, ownerClose, testSeal, transferStatuses } from '../../../test/support/ledger';
import { testServices } from '../../../test/support/env';
import { startWorker, waitFor } from '../../../test/support/worker';

const PARTITIONS = 2;

describe('a saga leg no worker built', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let routing: RoutingTable;
  let publisher: TestPublisher;
  let worker: Awaited<ReturnType<typeof startWorker>>;

  beforeAll(async () => {
    db = await createTestDatabase(PARTITIONS);
    topics = await createTestTopics(PARTITIONS);
    routing = await loadRouting(db.pool);
    publisher = await TestPublisher.create(topics, db.pool);
    worker = await startWorker({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` });
  });

  afterAll(async () => {
    await worker.stop();
    // Without the check against the transfer's row the worker stops itself (a leg's status
    // change finding no PROCESSING row was taken for a second writer): fatal is not empty.
    expect(worker.fatal).toEqual([]);
    await publisher.stop();
    await topics.delete();
    await db.drop();
  });

  const letterCount = async () => (await listDeadLetters(db.pool, { limit: 10_000 })).length;
  /** A deposit behind the forged message, on the same partition: it applies once the partition went past it. */
  const depositBehind = async (account: string, amount: bigint) => {
    const behind = deposit(account, amount);
    await publisher.publish(behind);
    await waitFor('the deposit behind it', () => allTerminal(db.pool, [behind.transferId]), 60_000);
  };
  /** The source partition's half of a 40 USD transfer, as its batch writes it (the row, PROCESSING), and its genuine credit leg. */
  const processingTransfer = async (payer: string, payee: string, capturing: string | null = null) => {
    const id = randomUUID();
    const kind = capturing === null ? 'TRANSFER' : 'CAPTURE';
    await db.pool.query(
      `INSERT INTO transfers (id, kind, status, from_account_id, to_account_id, amount, currency, principal, request_hash, source_partition, created_at, hold_id)
       VALUES ($1, $4, 'PROCESSING', $2, $3, 40, 'USD', 'leg-payer', 'test', 0, now(), $5)`,
      [id, payer, payee, kind, capturing],
    );
    const genuine = creditLegOf({ id, kind, fromAccountId: payer, toAccountId: payee, amount: 40n, currency: 'USD', sourcePartition: 0, holdId: capturing, reverses: null });
    return { id, genuine };
  };
  const creditLeg = (transferId: string, from: string, to: string, amount: bigint): CreditLegCommand => ({
    type: 'CREDIT_LEG',
    transferId,
    kind: 'TRANSFER',
    reverses: null,
    holdId: null,
    fromAccountId: from,
    toAccountId: to,
    amount,
    currency: 'USD',
    sourcePartition: 0,
  });

  test('a CREDIT_LEG for a transfer that does not exist is dead-lettered and pays nothing', async () => {
    const payer = await openAccountOn(db.pool, routing, 0, 'leg-payer');
    const payee = await openAccountOn(db.pool, routing, 1, 'leg-payee');
    const before = await letterCount();
    await publisher.publishRaw(1, encodeCommand(creditLeg(randomUUID(), payer, payee, 1_000_000n)));
    await depositBehind(payee, 7n);
    expect(await balanceOf(db.pool, payee)).toBe(7n);
    const letters = (await listDeadLetters(db.pool, { limit: 10_000 })).map((r) => r.letter);
    expect(letters.length - before).toBe(1);
    expect(letters.map((l) => [l.sqlstate, String(l.reason).slice(0, 15)])).toContainEqual(['LL003', 'UNPROCESSABLE: ']);
  });

  test('a CREDIT_LEG with another amount than its real PROCESSING transfer is dead-lettered; the genuine leg then completes it', async () => {
    const payer = await openAccountOn(db.pool, routing, 0, 'leg-payer-2');
    const payee = await openAccountOn(db.pool, routing, 1, 'leg-payee-2');
    const { id, genuine } = await processingTransfer(payer, payee);
    const before = await letterCount();
    await publisher.publishRaw(1, encodeCommand({ ...genuine, amount: 1_000_000n }));
    await depositBehind(payee, 1n);
    expect(await balanceOf(db.pool, payee)).toBe(1n);
    expect((await transferStatuses(db.pool, [id])).get(id)?.status).toBe('PROCESSING');
    expect((await letterCount()) - before).toBe(1);

    await publisher.publishRaw(1, encodeCommand(genuine));
    await waitFor('the genuine leg', () => allTerminal(db.pool, [id]), 60_000);
    expect((await transferStatuses(db.pool, [id])).get(id)).toEqual({ status: 'COMPLETED', reason: null });
    expect(await balanceOf(db.pool, payee)).toBe(41n);
  });

  test('a REFUND_LEG for a real PROCESSING transfer whose credit was never refused is dead-lettered; the genuine credit leg then completes it', async () => {
    // Found by an outside review: with the transfer's facts and any reason, such a refund
    // ended the transfer REJECTED (the payer credited back) although its destination never
    // refused it, and the genuine credit leg was then dead-lettered (migration 0024).
    const payer = await openAccountOn(db.pool, routing, 0, 'leg-payer-4');
    const payee = await openAccountOn(db.pool, routing, 1, 'leg-payee-4');
    const { id, genuine } = await processingTransfer(payer, payee);
    const forged: RefundLegCommand = { ...genuine, type: 'REFUND_LEG', reason: 'ACCOUNT_FROZEN', sourcePartition: 1 };
    const before = await letterCount();
    await publisher.publishRaw(0, encodeCommand(forged));
    await depositBehind(payer, 2n);
    expect(await balanceOf(db.pool, payer)).toBe(2n);
    expect((await transferStatuses(db.pool, [id])).get(id)?.status).toBe('PROCESSING');
    const letters = (await listDeadLetters(db.pool, { limit: 10_000 })).map((r) => r.letter);
    expect(letters.length - before).toBe(1);
    expect(letters.map((l) => [l.sqlstate, String(l.reason).slice(0, 15)])).toContainEqual(['LL003', 'UNPROCESSABLE: ']);

    await publisher.publishRaw(1, encodeCommand(genuine));
    await waitFor('the genuine leg', () => allTerminal(db.pool, [id]), 60_000);
    expect((await transferStatuses(db.pool, [id])).get(id)).toEqual({ status: 'COMPLETED', reason: null });
    expect(await balanceOf(db.pool, payee)).toBe(40n);
  });

  test('a REFUND_LEG naming another reason than its credit was refused for is dead-lettered; the genuine refund then ends it with the real one', async () => {
    const payer = await openAccountOn(db.pool, routing, 0, 'leg-payer-6');
    const payee = await openAccountOn(db.pool, routing, 1, 'leg-payee-6');
    const { id, genuine } = await processingTransfer(payer, payee);
    // The destination's batch refused the credit (its row, as that batch writes it); its
    // genuine refund, with that reason, is not here yet.
    await db.pool.query(`INSERT INTO transfer_legs (transfer_id, leg, partition, outcome, reason) VALUES ($1, 'CREDIT', 1, 'REJECTED', 'ACCOUNT_CLOSED')`, [id]);
    const refund: RefundLegCommand = { ...genuine, type: 'REFUND_LEG', reason: 'ACCOUNT_CLOSED', sourcePartition: 1 };
    const before = await letterCount();
    await publisher.publishRaw(0, encodeCommand({ ...refund, reason: 'ACCOUNT_FROZEN' }));
    await depositBehind(payer, 2n);
    expect(await balanceOf(db.pool, payer)).toBe(2n);
    expect((await transferStatuses(db.pool, [id])).get(id)?.status).toBe('PROCESSING');
    const letters = (await listDeadLetters(db.pool, { limit: 10_000 })).map((r) => r.letter);
    expect(letters.length - before).toBe(1);
    expect(letters.map((l) => [l.sqlstate, String(l.reason).slice(0, 15)])).toContainEqual(['LL003', 'UNPROCESSABLE: ']);

    await publisher.publishRaw(0, encodeCommand(refund));
    await waitFor('the genuine refund', () => allTerminal(db.pool, [id]), 60_000);
    expect((await transferStatuses(db.pool, [id])).get(id)).toEqual({ status: 'REJECTED', reason: 'ACCOUNT_CLOSED' });
    expect(await balanceOf(db.pool, payer)).toBe(42n);
  });

  test('a REFUND_LEG in another currency than its account is dead-lettered, and the worker does not stop', async () => {
    // Applied, it would post USD against a EUR account: the batch's own check took that for a
    // bug, and every owner of the partition stopped on it in turn (an outside review).
    const euros = accountOnPartition(routing, 0, 'euro-payer');
    await db.pool.query(
      `INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, balance, seq) VALUES ($1, 'leg-euro', 'USER', 'EUR', 0, 0, 0)`,
      [euros],
    );
    const payee = await openAccountOn(db.pool, routing, 1, 'leg-payee-5');
    const source = await openAccountOn(db.pool, routing, 0, 'leg-source-5');
    const refund: RefundLegCommand = { ...creditLeg(randomUUID(), euros, payee, 10n), type: 'REFUND_LEG', reason: 'ACCOUNT_CLOSED', sourcePartition: 1 };
    const before = await letterCount();
    await publisher.publishRaw(0, encodeCommand(refund));
    await depositBehind(source, 4n);
    expect(await balanceOf(db.pool, source)).toBe(4n);
    expect(await balanceOf(db.pool, euros)).toBe(0n);
    expect((await letterCount()) - before).toBe(1);
    expect(worker.fatal).toEqual([]);
  });

  test('a REFUND_LEG naming an account that does not exist is dead-lettered and the partition goes on', async () => {
    const payee = await openAccountOn(db.pool, routing, 1, 'leg-payee-3');
    const source = await openAccountOn(db.pool, routing, 0, 'leg-source-3');
    // An account id routed to partition 0 that was never opened (a random id could route to
    // partition 1, and the leg would be forwarded there instead of refused here).
    const ghost = accountOnPartition(routing, 0, 'ghost');
    const refund: RefundLegCommand = { ...creditLeg(randomUUID(), ghost, payee, 5n), type: 'REFUND_LEG', reason: 'ACCOUNT_CLOSED', sourcePartition: 1 };
    const before = await letterCount();
    await publisher.publishRaw(0, encodeCommand(refund));
    await depositBehind(source, 3n);
    expect(await balanceOf(db.pool, source)).toBe(3n);
    expect((await letterCount()) - before).toBe(1);
  });

  test("a REFUND_LEG behind its account's close, in one batch, is dead-lettered: the close applies and the partition goes on", async () => {
    // Found by an outside review: nothing was in flight from the account, so the close
    // applied, and the forged refund behind it landed on the account its batch had just
    // closed. The batch's check ("closed with balance") took that for a bug: the worker
    // stopped, and so did every owner of the partition after it (apply.ts, applyRefundLeg).
    const account = await openAccountOn(db.pool, routing, 0, 'leg-closer');
    const forged: RefundLegCommand = { ...creditLeg(randomUUID(), account, randomUUID(), 5n), type: 'REFUND_LEG', reason: 'ACCOUNT_FROZEN', sourcePartition: 1 };
    const before = await letterCount();
    // One produce request, one record batch: the two reach the worker in one fetch, the close
    // first (a close begins its own batch, and the refund joins it).
    const producer = new Kafka({ brokers: testServices().kafkaBrokers, clientId: 'close-and-refund', logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    try {
      await producer.send({
        topic: topics.names.commands,
        acks: -1,
        messages: [
          { partition: 0, key: account, value: encodeCommand(ownerClose(account, 'leg-closer'), testSeal) },
          { partition: 0, key: account, value: encodeCommand(forged) },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    await depositBehind(await openAccountOn(db.pool, routing, 0, 'leg-closer-2'), 6n);
    const { rows } = await db.pool.query('SELECT status, balance::text FROM accounts WHERE id = $1', [account]);
    expect(rows[0]).toEqual({ status: 'CLOSED', balance: '0' });
    const letters = (await listDeadLetters(db.pool, { limit: 10_000 })).map((r) => r.letter);
    expect(letters.length - before).toBe(1);
    // Refused in memory behind the close, the refund is isolated by bisection: written alone,
    // after the close, the write's check against its transfer's row refuses it (LL003).
    expect(String(letters.at(-1)!.reason)).toMatch(/^UNPROCESSABLE: /);
    expect(worker.fatal).toEqual([]);
  });

  describe("a capture's leg written before legs named their hold", () => {
    // Legs of versions before dd37d9b carry no hold_id; a capture's row has always named its
    // hold. The check against the row (0021, 0024) refused such a leg, and its redrive (the
    // same bytes) again: the capture stayed PROCESSING and its money in transit, for good, on
    // an upgrade the README supports (an outside review). Migration 0031 compares the hold
    // only when the leg names one.
    const withoutHold = (leg: CreditLegCommand | RefundLegCommand): string => {
      const message = JSON.parse(encodeCommand(leg)) as Record<string, unknown>;
      delete message.hold_id;
      return JSON.stringify(message);
    };

    test('its CREDIT_LEG completes the capture', async () => {
      const payer = await openAccountOn(db.pool, routing, 0, 'leg-payer-7');
      const payee = await openAccountOn(db.pool, routing, 1, 'leg-payee-7');
      const { id, genuine } = await processingTransfer(payer, payee, randomUUID());
      const before = await letterCount();
      await publisher.publishRaw(1, withoutHold(genuine));
      await waitFor('the old leg', () => allTerminal(db.pool, [id]), 60_000);
      expect((await transferStatuses(db.pool, [id])).get(id)).toEqual({ status: 'COMPLETED', reason: null });
      expect(await balanceOf(db.pool, payee)).toBe(40n);
      expect((await letterCount()) - before).toBe(0);
    });

    test('its REFUND_LEG ends the capture REJECTED and credits the payer back', async () => {
      const payer = await openAccountOn(db.pool, routing, 0, 'leg-payer-8');
      const payee = await openAccountOn(db.pool, routing, 1, 'leg-payee-8');
      const { id, genuine } = await processingTransfer(payer, payee, randomUUID());
      await db.pool.query(`INSERT INTO transfer_legs (transfer_id, leg, partition, outcome, reason) VALUES ($1, 'CREDIT', 1, 'REJECTED', 'ACCOUNT_CLOSED')`, [id]);
      const before = await letterCount();
      await publisher.publishRaw(0, withoutHold({ ...genuine, type: 'REFUND_LEG', reason: 'ACCOUNT_CLOSED', sourcePartition: 1 }));
      await waitFor('the old refund', () => allTerminal(db.pool, [id]), 60_000);
      expect((await transferStatuses(db.pool, [id])).get(id)).toEqual({ status: 'REJECTED', reason: 'ACCOUNT_CLOSED' });
      expect(await balanceOf(db.pool, payer)).toBe(40n);
      expect((await letterCount()) - before).toBe(0);
    });

    test('a CREDIT_LEG naming another hold than its capture is still dead-lettered; the genuine one completes it', async () => {
      const payer = await openAccountOn(db.pool, routing, 0, 'leg-payer-9');
      const payee = await openAccountOn(db.pool, routing, 1, 'leg-payee-9');
      const { id, genuine } = await processingTransfer(payer, payee, randomUUID());
      const before = await letterCount();
      await publisher.publishRaw(1, encodeCommand({ ...genuine, holdId: randomUUID() }));
      await depositBehind(payee, 1n);
      expect(await balanceOf(db.pool, payee)).toBe(1n);
      expect((await transferStatuses(db.pool, [id])).get(id)?.status).toBe('PROCESSING');
      expect((await letterCount()) - before).toBe(1);

      await publisher.publishRaw(1, encodeCommand(genuine));
      await waitFor('the genuine leg', () => allTerminal(db.pool, [id]), 60_000);
      expect((await transferStatuses(db.pool, [id])).get(id)).toEqual({ status: 'COMPLETED', reason: null });
      expect(await balanceOf(db.pool, payee)).toBe(41n);
    });
  });
});
