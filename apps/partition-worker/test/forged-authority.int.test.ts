// Proves that a command written straight to Kafka gets no privilege it cannot prove (docs/
// security.md "Commands on Kafka"), against a real worker, Kafka, Postgres through PgBouncer
// and Redis: a deposit or credit limit that claims admin in a flag, carries no seal or a seal
// under another key is dead-lettered as forged and changes nothing; a transfer, a capture or a
// reversal from someone else's account is REJECTED FORBIDDEN, and their void or an early
// expiry changes nothing; and the partition keeps applying what follows.
import { randomUUID } from 'node:crypto';
import type { ClientCommand, Command, RoutingTable, UpdateAccountCommand } from '@ledgerline/domain';
import { listDeadLetters, loadRouting, reconcile } from '@ledgerline/postgres';
import { CommandSeal, encodeCommand } from '@ledgerline/schemas';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { TestPublisher, allTerminal, balanceOf, deposit, openAccountOn, transfer, transferStatuses } from '../../../test/support/ledger';
import { startWorker, waitFor } from '../../../test/support/worker';

const PARTITIONS = 1;

describe('a forged Kafka command gets no privilege', () => {
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
    expect(worker.fatal).toEqual([]);
    await publisher.stop();
    await topics.delete();
    await db.drop();
  });

  // As ledgerctl reads them: published or still waiting for Kafka (outbox or dead_letters).
  const deadLetters = async () => (await listDeadLetters(db.pool, { limit: 10_000 })).map((row) => row.letter as { reason: string; value_base64: string });
  const forgedCount = async () => (await worker.metrics.deadLetters.get()).values.find((v) => v.labels.reason === 'forged')?.value ?? 0;
  const transferRows = async (ids: string[]) => (await db.pool.query(`SELECT id FROM transfers WHERE id = ANY($1::uuid[])`, [ids])).rowCount;

  test('deposits that claim admin in a flag, carry no seal, or a seal under another key are dead-lettered and create no money', async () => {
    const account = await openAccountOn(db.pool, routing, 0, 'mallory');
    const before = (await deadLetters()).length;
    const forgedBefore = await forgedCount();

    const flagged = deposit(account, 1_000_000n);
    const flaggedText = JSON.stringify({ ...JSON.parse(encodeCommand({ ...flagged, admin: false } as ClientCommand)), admin: true });
    const unsealed = deposit(account, 1_000_000n);
    const unsealedText = encodeCommand({ ...unsealed, admin: false } as ClientCommand);
    const otherKey = deposit(account, 1_000_000n);
    const otherKeyText = encodeCommand(otherKey, new CommandSeal('an attacker guessed this key....'));
    for (const text of [flaggedText, unsealedText, otherKeyText]) await publisher.publishRaw(0, text);

    // The partition keeps going: a deposit the API sealed applies after them.
    const genuine = deposit(account, 7n);
    await publisher.publish(genuine);
    await waitFor('the sealed deposit', () => allTerminal(db.pool, [genuine.transferId]), 60_000);

    expect(await balanceOf(db.pool, account)).toBe(7n);
    expect(await transferRows([flagged.transferId, unsealed.transferId, otherKey.transferId])).toBe(0);
    const letters = (await deadLetters()).slice(before);
    expect(letters.map((l) => l.reason)).toEqual([
      expect.stringMatching(/^forged: claims admin in a flag/),
      expect.stringMatching(/^forged: a DEPOSIT brings money from outside and needs an operator seal/),
      expect.stringMatching(/^forged: operator_seal does not verify/),
    ]);
    expect(Buffer.from(letters[2]!.value_base64, 'base64').toString()).toBe(otherKeyText);
    expect((await forgedCount()) - forgedBefore).toBe(3);
    const report = await reconcile(db.pool, { outboxAgeMaxMs: 60_000 });
    expect(report.checks.filter((c) => c.violations > 0 && c.name !== 'outbox-published')).toEqual([]);
  });

  test('an unsealed change of credit limit or status is dead-lettered; an owner may still close unsealed', async () => {
    const account = await openAccountOn(db.pool, routing, 0, 'mallory-2');
    const before = (await deadLetters()).length;
    const change = (status: UpdateAccountCommand['status'], overdraftLimit: bigint | null): UpdateAccountCommand => ({
      type: 'UPDATE_ACCOUNT',
      changeId: randomUUID(),
      accountId: account,
      status,
      overdraftLimit,
      principal: 'mallory-2',
      admin: false,
      requestHash: 'b'.repeat(64),
      acceptedAt: new Date().toISOString(),
    });
    await publisher.publishRaw(0, encodeCommand(change(null, 1_000_000_000n)));
    await publisher.publishRaw(0, encodeCommand(change('OPEN', null)));
    const close = change('CLOSED', null);
    await publisher.publish(close);
    await waitFor('the owner closes the account', async () => (await db.pool.query(`SELECT status FROM accounts WHERE id = $1`, [account])).rows[0]?.status === 'CLOSED', 60_000);
    const row = (await db.pool.query(`SELECT overdraft_limit FROM accounts WHERE id = $1`, [account])).rows[0];
    expect(BigInt(row.overdraft_limit)).toBe(0n);
    expect((await deadLetters()).slice(before).map((l) => l.reason)).toEqual([
      expect.stringMatching(/^forged: an UPDATE_ACCOUNT other than the owner closing the account needs an operator seal/),
      expect.stringMatching(/^forged: an UPDATE_ACCOUNT other than the owner closing the account needs an operator seal/),
    ]);
  });

  test("a transfer from someone else's account is REJECTED FORBIDDEN unless an operator sealed it", async () => {
    const victim = await openAccountOn(db.pool, routing, 0, 'victim');
    const thief = await openAccountOn(db.pool, routing, 0, 'thief');
    const funding = deposit(victim, 100n);
    await publisher.publish(funding);
    const stolen = transfer(victim, thief, 'thief', 60n);
    await publisher.publish(stolen);
    const byOperator = { ...transfer(victim, thief, 'ops', 10n), admin: true } as ClientCommand;
    await publisher.publish(byOperator);
    const ids = [funding.transferId, stolen.transferId, byOperator.transferId];
    await waitFor('all three terminal', () => allTerminal(db.pool, ids), 60_000);
    const statuses = await transferStatuses(db.pool, ids);
    expect(statuses.get(stolen.transferId)).toMatchObject({ status: 'REJECTED', reason: 'FORBIDDEN' });
    expect(statuses.get(byOperator.transferId)).toMatchObject({ status: 'COMPLETED' });
    expect(await balanceOf(db.pool, victim)).toBe(90n);
    expect(await balanceOf(db.pool, thief)).toBe(10n);
  });

  test("someone else's hold is not captured, voided or expired early, and someone else's deposit not reversed, unsealed", async () => {
    const victim = await openAccountOn(db.pool, routing, 0, 'holder');
    const thief = await openAccountOn(db.pool, routing, 0, 'taker');
    const funding = deposit(victim, 100n);
    await publisher.publish(funding);
    const common = { currency: 'USD', admin: false, requestHash: 'd'.repeat(64), acceptedAt: new Date().toISOString() };
    const holdId = randomUUID();
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    await publisher.publish({ type: 'HOLD', holdId, accountId: victim, amount: 40n, expiresAt, description: null, principal: 'holder', ...common });
    const holdStatus = async () => (await db.pool.query('SELECT status FROM holds WHERE id = $1', [holdId])).rows[0]?.status as string | undefined;
    await waitFor('the hold placed', async () => (await holdStatus()) === 'HELD', 60_000);

    // The API would answer each of these 403 or 404 before publishing; written straight to
    // Kafka, only the worker stands in the way.
    const capture: Command = { type: 'CAPTURE', transferId: randomUUID(), holdId, accountId: victim, toAccountId: thief, amount: 40n, principal: 'taker', ...common };
    const reversal: Command = { type: 'REVERSAL', transferId: randomUUID(), reverses: funding.transferId, fromAccountId: victim, amount: 50n, description: null, principal: 'taker', ...common };
    const voided: Command = { type: 'VOID_HOLD', holdId, accountId: victim, principal: 'taker', admin: false, acceptedAt: common.acceptedAt };
    const expired: Command = { type: 'EXPIRE_HOLD', holdId, accountId: victim };
    for (const command of [capture, reversal, voided, expired]) await publisher.publish(command);
    const after = deposit(thief, 1n); // applied after all of them: the partition applies in order
    await publisher.publish(after);
    await waitFor('the commands after them', () => allTerminal(db.pool, [after.transferId]), 60_000);

    const statuses = await transferStatuses(db.pool, [capture.transferId, reversal.transferId]);
    expect(statuses.get(capture.transferId)).toEqual({ status: 'REJECTED', reason: 'FORBIDDEN' });
    expect(statuses.get(reversal.transferId)).toEqual({ status: 'REJECTED', reason: 'FORBIDDEN' });
    expect(await holdStatus()).toBe('HELD');
    const row = (await db.pool.query('SELECT balance, held FROM accounts WHERE id = $1', [victim])).rows[0];
    expect(row).toEqual({ balance: '100', held: '40' });
    expect(await balanceOf(db.pool, thief)).toBe(1n);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM transfer_reversals WHERE transfer_id = $1', [funding.transferId])).rows[0].n).toBe(0);
  });
});
