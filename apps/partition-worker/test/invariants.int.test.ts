// Proves the invariants of docs/design.md hold when real workers apply real Kafka commands to Postgres
// through PgBouncer: conservation, balances = entries, append-only entries, per-account
// order, no overdraft under a storm, exactly-once across a crash, and poison messages.
import { randomUUID } from 'node:crypto';
import type { ClientCommand as Command, CreditLegCommand, RoutingTable } from '@ledgerline/domain';
import { listDeadLetters, loadRouting, reconcile } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import {
  TestPublisher,
  allTerminal,
  balanceOf,
  deposit,
  openAccountOn,
  transfer,
  transferStatuses,
  withdrawal,
} from '../../../test/support/ledger';
import { exited, spawnWorker, startWorker, waitFor } from '../../../test/support/worker';

const PARTITIONS = 4;

describe('partition workers against real Kafka, Postgres and Redis', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let routing: RoutingTable;
  let publisher: TestPublisher;
  let target: { databaseUrl: string; topicPrefix: string; redisKeyPrefix: string };

  beforeAll(async () => {
    db = await createTestDatabase(PARTITIONS);
    topics = await createTestTopics(PARTITIONS);
    routing = await loadRouting(db.pool);
    publisher = await TestPublisher.create(topics, db.pool);
    target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
  });

  afterAll(async () => {
    await publisher.stop();
    await topics.delete();
    await db.drop();
  });

  async function sendAll(commands: Command[]): Promise<string[]> {
    await Promise.all(commands.map((c) => publisher.publish(c)));
    return commands.map((c) => c.transferId);
  }

  /** The credit leg of a TRANSFER, as its source partition sends it (and the sweeper again). */
  function creditLegOf(transferId: string, from: string, to: string, amount: bigint, sourcePartition: number): CreditLegCommand {
    return { type: 'CREDIT_LEG', transferId, kind: 'TRANSFER', reverses: null, holdId: null, fromAccountId: from, toAccountId: to, amount, currency: 'USD', sourcePartition };
  }

  async function settle(ids: string[], timeoutMs = 60_000): Promise<void> {
    await waitFor(`${ids.length} transfers terminal`, () => allTerminal(db.pool, ids), timeoutMs);
  }

  /**
   * Dead letters written so far. A copy of an applied command is a DUPLICATE (invariant 3), not
   * a command that cannot apply: isolated, it would be dead-lettered, and its balances and
   * statuses alone would not show it.
   */
  const deadLetterCount = async () => (await listDeadLetters(db.pool, { limit: 10_000 })).length;

  async function expectReconciled(): Promise<void> {
    await waitFor('outbox drained', async () => {
      const r = await db.pool.query('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL');
      return r.rows[0].n === '0';
    });
    const report = await reconcile(db.pool, { outboxAgeMaxMs: 60_000 });
    const broken = report.checks.filter((c) => c.violations > 0);
    expect(broken).toEqual([]);
  }

  describe('with one in-process worker', () => {
    let worker: Awaited<ReturnType<typeof startWorker>>;
    beforeAll(async () => {
      // Small fetches (a few messages each): the worker must move its fetch position on
      // after every batch, or it would re-read the same messages forever. Batches of at most
      // 2 commands: most fetches hold several, so a batch is prepared (read, applied in
      // memory) while the one before it is still being written.
      worker = await startWorker(target, { WORKER_FETCH_BYTES_MAX: '2048', WORKER_BATCH_COMMANDS_MAX: '2' });
    });
    afterAll(async () => {
      await worker.stop();
      expect(worker.fatal).toEqual([]);
    });

    test('a mixed load conserves money and every balance equals its entries', async () => {
      const accounts = await Promise.all(
        Array.from({ length: 12 }, (_, i) => openAccountOn(db.pool, routing, i % PARTITIONS, `owner-${i % PARTITIONS}`)),
      );
      const funding = await sendAll(accounts.map((a) => deposit(a, 10_000n)));
      await settle(funding);
      const moves: Command[] = [];
      for (let i = 0; i < 200; i++) {
        const from = accounts[i % accounts.length]!;
        const to = accounts[(i * 7 + 3) % accounts.length]!;
        if (from === to) continue;
        const owner = `owner-${accounts.indexOf(from) % PARTITIONS}`;
        moves.push(i % 10 === 0 ? withdrawal(from, owner, 50n) : transfer(from, to, owner, BigInt(100 + (i % 17) * 37)));
      }
      // A transfer to an account that does not exist is refunded through the saga.
      moves.push(transfer(accounts[0]!, randomUUID(), 'owner-0', 123n));
      await settle(await sendAll(moves));

      const totals = await db.pool.query('SELECT currency, sum(balance)::text AS total FROM accounts GROUP BY currency');
      expect(totals.rows).toEqual([{ currency: 'USD', total: '0' }]);
      const mismatched = await db.pool.query(
        `SELECT a.id FROM accounts a LEFT JOIN (SELECT account_id, sum(amount) AS s FROM entries GROUP BY account_id) e
           ON e.account_id = a.id WHERE a.balance <> coalesce(e.s, 0)`,
      );
      expect(mismatched.rows).toEqual([]);
      const transit = await db.pool.query(`SELECT coalesce(sum(balance), 0)::text AS held FROM accounts WHERE kind = 'TRANSIT'`);
      expect(transit.rows[0].held).toBe('0');
      const refunded = await transferStatuses(db.pool, [moves[moves.length - 1]!.transferId]);
      expect([...refunded.values()]).toEqual([{ status: 'REJECTED', reason: 'DESTINATION_NOT_FOUND' }]);
      await expectReconciled();
    });

    test('a command or a saga leg delivered again at a later offset is applied once, and the partition moves on', async () => {
      const from = await openAccountOn(db.pool, routing, 1, 'owner-dup');
      const to = await openAccountOn(db.pool, routing, 2, 'owner-dup-to');
      await settle(await sendAll([deposit(from, 1_000n)]));
      const first = transfer(from, to, 'owner-dup', 100n);
      const lettersBefore = await deadLetterCount();
      // The API publishes again when a retry finds its key claimed but nothing to show. With
      // batches of 2, the copies land in the same batch and in the batch after it.
      await Promise.all([publisher.publish(first), publisher.publish(first), publisher.publish(first)]);
      await settle([first.transferId]);
      // The sweeper republishes a credit leg a crash left undeleted: the same leg, a new offset
      // (the relay deleted the row once published, so the test sends what it held again).
      await publisher.publish(creditLegOf(first.transferId, from, to, 100n, 1));
      // Later commands on both partitions still apply: nothing is stuck behind the duplicates.
      const later = [transfer(from, to, 'owner-dup', 50n), deposit(to, 7n)];
      await settle(await sendAll(later));
      expect(await balanceOf(db.pool, from)).toBe(850n);
      expect(await balanceOf(db.pool, to)).toBe(157n);
      const entries = await db.pool.query('SELECT count(*) AS n FROM entries WHERE transfer_id = $1', [first.transferId]);
      expect(entries.rows[0].n).toBe('4'); // debit, transit credit; transit debit, credit
      expect(await deadLetterCount()).toBe(lettersBefore);
    });

    test('a refund leg delivered again at a later offset is applied once: the REJECTED status is its record', async () => {
      const from = await openAccountOn(db.pool, routing, 1, 'owner-refund-dup');
      await settle(await sendAll([deposit(from, 1_000n)]));
      // A destination that does not exist, routed to another partition: the credit leg is
      // refused there and a refund comes home.
      let missing = randomUUID();
      while (routing.partitionOf(missing) === 1) missing = randomUUID();
      const refused = transfer(from, missing, 'owner-refund-dup', 300n);
      await settle(await sendAll([refused]));
      expect([...(await transferStatuses(db.pool, [refused.transferId])).values()]).toEqual([{ status: 'REJECTED', reason: 'DESTINATION_NOT_FOUND' }]);
      // Only the refused credit leg has a row; the applied refund left none.
      const legRows = await db.pool.query('SELECT leg, outcome FROM transfer_legs WHERE transfer_id = $1', [refused.transferId]);
      expect(legRows.rows).toEqual([{ leg: 'CREDIT', outcome: 'REJECTED' }]);

      const lettersBefore = await deadLetterCount();
      await publisher.publish({
        type: 'REFUND_LEG',
        transferId: refused.transferId,
        kind: 'TRANSFER',
        reverses: null,
        holdId: null,
        fromAccountId: from,
        toAccountId: missing,
        amount: 300n,
        currency: 'USD',
        reason: 'DESTINATION_NOT_FOUND',
        sourcePartition: routing.partitionOf(missing),
      });
      await settle(await sendAll([deposit(from, 7n)]));
      expect(await balanceOf(db.pool, from)).toBe(1_007n);
      const entries = await db.pool.query('SELECT count(*) AS n FROM entries WHERE transfer_id = $1', [refused.transferId]);
      expect(entries.rows[0].n).toBe('4'); // debit, transit credit; transit debit, refund
      expect(await deadLetterCount()).toBe(lettersBefore);
      await expectReconciled();
    });

    test('a copy of an applied credit leg that its destination would now refuse is a duplicate: no refund, nothing stuck', async () => {
      const from = await openAccountOn(db.pool, routing, 1, 'owner-late-copy');
      const to = await openAccountOn(db.pool, routing, 2, 'owner-late-copy-to');
      const elsewhere = await openAccountOn(db.pool, routing, 2, 'owner-late-copy-other');
      await settle(await sendAll([deposit(from, 1_000n)]));
      const first = transfer(from, to, 'owner-late-copy', 100n);
      await settle(await sendAll([first]));
      // The destination empties and closes its account: from now on it refuses credits.
      await settle(await sendAll([withdrawal(to, 'owner-late-copy-to', 100n)]));
      await publisher.publish({
        type: 'UPDATE_ACCOUNT',
        changeId: randomUUID(),
        accountId: to,
        status: 'CLOSED',
        overdraftLimit: null,
        principal: 'owner-late-copy-to',
        admin: false,
        requestHash: 'c'.repeat(64),
        acceptedAt: new Date().toISOString(),
      });
      await waitFor('the destination closed', async () => (await db.pool.query('SELECT status FROM accounts WHERE id = $1', [to])).rows[0]?.status === 'CLOSED');
      // The sweeper sends the credit leg again, long after it applied.
      const lettersBefore = await deadLetterCount();
      await publisher.publish(creditLegOf(first.transferId, from, to, 100n, 1));
      // Both partitions move on: the copy neither records a refusal nor sends money home.
      await settle(await sendAll([deposit(elsewhere, 5n), deposit(from, 7n)]));
      expect([...(await transferStatuses(db.pool, [first.transferId])).values()]).toEqual([{ status: 'COMPLETED', reason: null }]);
      expect(await balanceOf(db.pool, from)).toBe(907n);
      expect(await balanceOf(db.pool, to)).toBe(0n);
      const legRows = await db.pool.query('SELECT leg, outcome FROM transfer_legs WHERE transfer_id = $1', [first.transferId]);
      expect(legRows.rows).toEqual([]);
      expect(await deadLetterCount()).toBe(lettersBefore);
      await expectReconciled();
    });

    test('the database refuses to update, delete or truncate entries', async () => {
      const account = await openAccountOn(db.pool, routing, 0, 'owner-append');
      await settle(await sendAll([deposit(account, 5n)]));
      await expect(db.pool.query('UPDATE entries SET amount = amount + 1 WHERE account_id = $1', [account])).rejects.toThrow(/append-only/);
      await expect(db.pool.query('DELETE FROM entries WHERE account_id = $1', [account])).rejects.toThrow(/append-only/);
      await expect(db.pool.query('TRUNCATE entries CASCADE')).rejects.toThrow(/append-only/);
      expect(await balanceOf(db.pool, account)).toBe(5n);
    });

    test('sequential sends of 60, 60 and 40 from 100 end COMPLETED, REJECTED, COMPLETED', async () => {
      const from = await openAccountOn(db.pool, routing, 1, 'owner-order');
      const to = await openAccountOn(db.pool, routing, 2, 'owner-other');
      await settle(await sendAll([deposit(from, 100n)]));
      const sends = [60n, 60n, 40n].map((amount) => transfer(from, to, 'owner-order', amount));
      for (const command of sends) await publisher.publish(command); // each acked before the next is sent
      const ids = sends.map((c) => c.transferId);
      await settle(ids);
      const statuses = await transferStatuses(db.pool, ids);
      expect(ids.map((id) => statuses.get(id))).toEqual([
        { status: 'COMPLETED', reason: null },
        { status: 'REJECTED', reason: 'INSUFFICIENT_FUNDS' },
        { status: 'COMPLETED', reason: null },
      ]);
      expect(await balanceOf(db.pool, from)).toBe(0n);
      expect(await balanceOf(db.pool, to)).toBe(100n);
    });

    test('a concurrent storm on one account never overdraws it', async () => {
      const hot = await openAccountOn(db.pool, routing, 3, 'owner-hot');
      const sinks = await Promise.all([0, 1, 2, 3].map((p) => openAccountOn(db.pool, routing, p, `sink-${p}`)));
      await settle(await sendAll([deposit(hot, 1_000n)]));
      const storm: Command[] = Array.from({ length: 300 }, (_, i) =>
        i % 3 === 0 ? withdrawal(hot, 'owner-hot', BigInt(5 + (i % 13))) : transfer(hot, sinks[i % 4]!, 'owner-hot', BigInt(5 + (i % 29))),
      );
      const ids = await sendAll(storm);
      await settle(ids);
      const balance = await balanceOf(db.pool, hot);
      expect(balance).toBeGreaterThanOrEqual(0n);
      const statuses = await transferStatuses(db.pool, ids);
      const spent = storm
        .filter((c) => statuses.get(c.transferId)?.status === 'COMPLETED')
        .reduce((sum, c) => sum + c.amount, 0n);
      expect(spent).toBe(1_000n - balance);
      expect([...statuses.values()].some((s) => s.reason === 'INSUFFICIENT_FUNDS')).toBe(true);
      await expectReconciled();
    });

    test('a poison message goes to the dead-letter topic and the partition keeps moving', async () => {
      const account = await openAccountOn(db.pool, routing, 2, 'owner-poison');
      // Only this test's letters: the file's earlier tests may have left some (they say they do not).
      const earlier = new Set((await listDeadLetters(db.pool, { limit: 10_000 })).map((r) => r.id));
      const lettersNow = async () => (await listDeadLetters(db.pool, { limit: 10_000 })).filter((r) => !earlier.has(r.id));
      await publisher.publishRaw(2, '{"v":1,"type":"TRANSFER","amount":12.5}');
      await publisher.publishRaw(2, 'not json at all');
      const after = deposit(account, 7n);
      await settle(await sendAll([after]));
      expect(await balanceOf(db.pool, account)).toBe(7n);
      const letters = await lettersNow();
      expect(letters.map((r) => r.letter.reason)).toEqual([expect.stringMatching(/^schema: /), expect.stringMatching(/^not JSON/)]);
      expect(Buffer.from(String(letters[1]!.letter.value_base64), 'base64').toString()).toBe('not json at all');
      await waitFor('dead letters published', async () => (await lettersNow()).filter((r) => r.publishedAt !== null).length === 2);
    });
  });

  test('a worker killed after its Postgres commit and before its Kafka offset commit applies nothing twice', async () => {
    const accounts = await Promise.all([0, 1, 2, 3].map((p) => openAccountOn(db.pool, routing, p, `crash-${p}`)));
    const commands = accounts.flatMap((a) => [deposit(a, 1_000n), deposit(a, 1n)]);
    const before = await db.pool.query('SELECT coalesce(sum(next_offset), 0)::text AS applied FROM partition_state');
    await sendAll(commands);

    const crashing = spawnWorker(target, { FAULT_INJECT: 'crash-after-commit', WORKER_ID: 'crashing-worker' });
    const ended = await exited(crashing);
    expect(ended.signal).toBe('SIGKILL');
    const afterCrash = await db.pool.query('SELECT coalesce(sum(next_offset), 0)::text AS applied FROM partition_state');
    expect(BigInt(afterCrash.rows[0].applied)).toBeGreaterThan(BigInt(before.rows[0].applied)); // it did commit first
    // The crash window is real: on some partition Postgres is ahead of the group's Kafka
    // offset, so the next owner is handed messages that were already applied.
    const committed = await topics.admin.groupOffsets(`${topics.prefix}.partition-workers`, topics.names.commands);
    const stored = await db.pool.query('SELECT partition, next_offset FROM partition_state WHERE topic = $1', [topics.names.commands]);
    const ahead = stored.rows.filter((row) => {
      return BigInt(row.next_offset) > (committed.get(row.partition) ?? 0n);
    });
    expect(ahead.length).toBeGreaterThan(0);

    // Fetches of a few messages: its first ones hold only messages the crashed worker
    // already applied, and it must skip past them rather than fetch them again forever.
    const survivor = await startWorker(target, { WORKER_FETCH_BYTES_MAX: '1024' });
    try {
      await settle(commands.map((c) => c.transferId));
      // ...and it moves past the redelivered messages instead of tripping over them.
      const high = [...(await topics.admin.highWatermarks(topics.names.commands)).values()].reduce((sum, h) => sum + h, 0n);
      await waitFor('the survivor applied up to the end of every partition', async () => {
        const r = await db.pool.query('SELECT coalesce(sum(next_offset), 0)::text AS applied FROM partition_state WHERE topic = $1', [topics.names.commands]);
        return BigInt(r.rows[0].applied) === high;
      });
      for (const account of accounts) expect(await balanceOf(db.pool, account)).toBe(1_001n);
      // And it keeps going: commands sent now, behind the redelivered ones, are applied.
      const later = accounts.map((a) => deposit(a, 5n));
      await settle(await sendAll(later));
      for (const account of accounts) expect(await balanceOf(db.pool, account)).toBe(1_006n);
      const entries = await db.pool.query('SELECT transfer_id, count(*)::int AS n FROM entries WHERE transfer_id = ANY($1::uuid[]) GROUP BY transfer_id', [
        commands.map((c) => c.transferId),
      ]);
      expect(entries.rows).toHaveLength(commands.length);
      expect(entries.rows.every((r) => r.n === 2)).toBe(true);
      await expectReconciled();
    } finally {
      await survivor.stop();
    }
  });
});
