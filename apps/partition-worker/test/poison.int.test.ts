// Proves that no command can stop a partition (docs/design.md invariant 10), against a real
// worker, Kafka, Postgres through PgBouncer and Redis: text Postgres cannot store is
// dead-lettered at decode; a balance driven to bigint's edge gets a REJECTED outcome; a
// command whose write fails deterministically is found by bisecting its batch, REJECTED
// UNPROCESSABLE and dead-lettered with its bytes while everything around it is written in
// order; and a failure that even an empty write repeats is retried, never blamed on a command.
import { createHash } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { ClientCommand as Command, RoutingTable } from '@ledgerline/domain';
import { AMOUNT_MAX, USER_BALANCE_MAX, externalAccountId } from '@ledgerline/domain';
import { insertUserAccount, listDeadLetters, loadRouting, reconcile } from '@ledgerline/postgres';
import { DEAD_LETTER_VALUE_BYTES_KEPT, encodeCommand } from '@ledgerline/schemas';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { TestPublisher, accountOnPartition, allTerminal, balanceOf, deposit, openAccountOn, testSeal, transfer, transferStatuses } from '../../../test/support/ledger';
import { testServices } from '../../../test/support/env';
import { startWorker, waitFor } from '../../../test/support/worker';

const PARTITIONS = 2;

describe('poison commands cannot stop a partition', () => {
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
    // Batches of up to 500 commands: a burst published at once is written as one batch, so a
    // poison command in it fails the whole batch's write and must be bisected out.
    worker = await startWorker(
      { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` },
      { WORKER_BATCH_COMMANDS_MAX: '500' },
    );
  });

  afterAll(async () => {
    await worker.stop();
    expect(worker.fatal).toEqual([]);
    await publisher.stop();
    await topics.delete();
    await db.drop();
  });

  const settle = (ids: string[], timeoutMs = 60_000) => waitFor(`${ids.length} transfers terminal`, () => allTerminal(db.pool, ids), timeoutMs);
  const sendAll = async (commands: Command[]) => {
    await Promise.all(commands.map((c) => publisher.publish(c)));
    return commands.map((c) => c.transferId);
  };
  // What `ledgerctl dead-letters` lists.
  const deadLetters = async () => (await listDeadLetters(db.pool, { limit: 10_000 })).map((row) => row.letter);

  test('a forged message with a lone surrogate in its description or principal is dead-lettered and the partition keeps applying', async () => {
    const account = await openAccountOn(db.pool, routing, 0, 'owner-text');
    const other = await openAccountOn(db.pool, routing, 0, 'owner-text-2');
    const before = (await deadLetters()).length;
    // JSON.stringify escapes the lone surrogate as \udc00: valid JSON, but no Unicode text,
    // and Postgres's jsonb refuses it.
    const badDescription = encodeCommand({ ...transfer(account, other, 'owner-text', 1n), description: 'x\udc00y' } as Command);
    const badPrincipal = encodeCommand({ ...transfer(account, other, 'owner-\udc00', 1n) } as Command);
    expect(badDescription).toContain('\\udc00');
    await publisher.publishRaw(0, badDescription);
    await publisher.publishRaw(0, badPrincipal);
    const after = deposit(account, 7n);
    await settle(await sendAll([after]));
    expect(await balanceOf(db.pool, account)).toBe(7n);
    const letters = (await deadLetters()).slice(before);
    expect(letters.map((l) => l.reason)).toEqual([
      expect.stringMatching(/description: must be well-formed Unicode/),
      expect.stringMatching(/principal: must be well-formed Unicode/),
    ]);
    expect(Buffer.from(letters[0]!.value_base64 as string, 'base64').toString()).toBe(badDescription);
  });

  test('a command whose bytes are not UTF-8 is dead-lettered as malformed, never applied with U+FFFD, and the partition keeps applying', async () => {
    // The API refuses such a body (400); something else writing to the topic is not refused
    // there. FF is no UTF-8 byte, ED A0 80 encodes a surrogate: a lenient decoder reads both
    // as U+FFFD and the transfer would apply with a description nobody sent.
    const account = await openAccountOn(db.pool, routing, 0, 'owner-bytes');
    const other = await openAccountOn(db.pool, routing, 0, 'owner-bytes-2');
    await settle(await sendAll([deposit(account, 10n)]));
    const before = (await deadLetters()).length;
    const payment = transfer(account, other, 'owner-bytes', 3n);
    const [head, tail] = encodeCommand({ ...payment, description: 'HERE' } as Command).split('HERE') as [string, string];
    const bytes = Buffer.concat([Buffer.from(head), Buffer.from([0xff, 0xed, 0xa0, 0x80]), Buffer.from(tail)]);
    await publisher.publishRaw(0, bytes);
    await settle(await sendAll([deposit(account, 7n)]));
    // Never applied: no transfer row, no money moved; the deposit behind it applied.
    expect(await transferStatuses(db.pool, [payment.transferId])).toEqual(new Map());
    expect(await balanceOf(db.pool, account)).toBe(17n);
    expect(await balanceOf(db.pool, other)).toBe(0n);
    const letters = (await deadLetters()).slice(before);
    expect(letters.map((l) => l.reason)).toEqual([expect.stringMatching(/^not UTF-8: /)]);
    expect(Buffer.from(letters[0]!.value_base64 as string, 'base64').equals(bytes)).toBe(true);
  });

  test('a command stamped with an instant Postgres refuses (year 0000) is dead-lettered at decode, not bisected out of a failed write', async () => {
    // It passed the schema once: its write failed (22008) every time, it was bisected out and
    // dead-lettered as UNPROCESSABLE, and its REJECTED row failed the same way.
    const account = await openAccountOn(db.pool, routing, 0, 'owner-instant');
    const other = await openAccountOn(db.pool, routing, 0, 'owner-instant-2');
    await settle(await sendAll([deposit(account, 10n)]));
    const before = (await deadLetters()).length;
    const payment = { ...transfer(account, other, 'owner-instant', 3n), acceptedAt: '0000-01-01T00:00:00Z' } as Command;
    await publisher.publishRaw(0, encodeCommand(payment));
    await settle(await sendAll([deposit(account, 7n)]));
    expect(await transferStatuses(db.pool, [payment.transferId])).toEqual(new Map());
    expect(await balanceOf(db.pool, account)).toBe(17n);
    const letters = (await deadLetters()).slice(before);
    expect(letters.map((l) => [l.reason, l.sqlstate])).toEqual([[expect.stringMatching(/^schema: accepted_at: must be an instant from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59\.999999Z/), undefined]]);
  });

  test('a FENCE naming a move that is not digits is dead-lettered, and the partition keeps applying', async () => {
    // Found by an outside review: its decode threw (BigInt('x') in the schema's bound), the
    // worker took the throw for an operating error and retried the batch forever. A FENCE
    // needs no seal: anyone who can write to the topic could stop a partition with one.
    const account = await openAccountOn(db.pool, routing, 0, 'owner-fence');
    await settle(await sendAll([deposit(account, 10n)]));
    const before = (await deadLetters()).length;
    const fence = JSON.stringify({ v: 1, type: 'FENCE', move_ids: ['x'], from_partition: 0 });
    await publisher.publishRaw(0, fence);
    await settle(await sendAll([deposit(account, 7n)]));
    expect(await balanceOf(db.pool, account)).toBe(17n);
    const letters = (await deadLetters()).slice(before);
    expect(letters.map((l) => l.reason)).toEqual([expect.stringMatching(/^schema: move_ids\.0: /)]);
  });

  test("another client's transactional write (its commit marker an offset no consumer is given) does not stop the partition", async () => {
    // Kafka Connect or an exactly-once Java producer writing to the topic leaves a commit
    // marker after its message. The worker dead-letters the message and its next offset is the
    // marker's; the next fetch, read from there, starts one past it. Seeking back to the
    // marker fetched the same answer forever: the partition applied nothing more, silently
    // (an outside review, on a stack).
    const account = await openAccountOn(db.pool, routing, 1, 'owner-transactional');
    const before = (await deadLetters()).length;
    const commands = topics.names.commands;
    const start = (await topics.admin.highWatermarks(commands)).get(1)!;
    const foreign = new Kafka({ brokers: testServices().kafkaBrokers, clientId: `${topics.prefix}-tx`, logLevel: logLevel.NOTHING });
    const producer = foreign.producer({ transactionalId: `${topics.prefix}-tx`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const tx = await producer.transaction();
      await tx.send({ topic: commands, messages: [{ partition: 1, key: 'foreign', value: 'not a command, in a transaction' }] });
      await tx.commit();
    } finally {
      await producer.disconnect();
    }
    // The message at `start`, its marker at start + 1 (written just after the commit returns).
    await waitFor('the commit marker written', async () => (await topics.admin.highWatermarks(commands)).get(1)! >= start + 2n, 30_000);
    await waitFor('the message dead-lettered', async () => (await deadLetters()).length > before, 30_000);
    const after = deposit(account, 5n);
    await settle(await sendAll([after]));
    expect(await balanceOf(db.pool, account)).toBe(5n);
    expect((await deadLetters()).slice(before).map((l) => l.offset)).toEqual([String(start)]);
  });

  test("a row at a system account's id that the ledger did not make fails the command that needs it, not the partition", async () => {
    // Written with the API's credentials (the API picks an account's id): a USER account at
    // partition 0's external account id for EUR. Used as the external account, it broke an
    // invariant and the worker stopped on every restart (an outside security review). EUR:
    // no other test here uses it, so the worker's cached copy of the row misleads none.
    const account = accountOnPartition(routing, 0);
    await insertUserAccount(db.pool, { id: account, owner: 'owner-squatted', currency: 'EUR', overdraftLimit: 0n, metadata: {}, requestHash: 'test' });
    await insertUserAccount(db.pool, { id: externalAccountId(0, 'EUR'), owner: 'mallory', currency: 'EUR', overdraftLimit: 0n, metadata: {}, requestHash: 'squat' });
    const before = (await deadLetters()).length;
    const refused: Command = { ...deposit(account, 5n), currency: 'EUR' };
    const after = deposit(await openAccountOn(db.pool, routing, 0, 'owner-squatted-2'), 3n);
    await settle(await sendAll([refused, after]));
    expect(await transferStatuses(db.pool, [refused.transferId, after.transferId])).toEqual(
      new Map([
        [refused.transferId, { status: 'REJECTED', reason: 'UNPROCESSABLE' }],
        [after.transferId, { status: 'COMPLETED', reason: null }],
      ]),
    );
    expect((await deadLetters()).slice(before).map((l) => l.reason)).toEqual([expect.stringMatching(/not one this ledger made/)]);
    expect(await balanceOf(db.pool, account)).toBe(0n);
  });

  test("an operator's sealed command that reaches the partition its account's bucket left is forwarded with its seal and applied by the owner", async () => {
    // A produce that timed out during a bucket move can still land on the old partition
    // after the fence; the old owner forwards it. Forwarding an operator command must keep
    // its authority (a seal over the forwarded bytes), not fail the old partition's batch.
    const moved = await openAccountOn(db.pool, routing, 1, 'owner-moved');
    const stayed = await openAccountOn(db.pool, routing, 0, 'owner-stayed');
    const before = (await deadLetters()).length;
    const late = deposit(moved, 5n);
    await publisher.publishRaw(0, encodeCommand(late, testSeal));
    const behind = deposit(stayed, 3n);
    await settle([late.transferId, ...(await sendAll([behind]))]);
    expect(await transferStatuses(db.pool, [late.transferId, behind.transferId])).toEqual(
      new Map([
        [late.transferId, { status: 'COMPLETED', reason: null }],
        [behind.transferId, { status: 'COMPLETED', reason: null }],
      ]),
    );
    expect(await balanceOf(db.pool, moved)).toBe(5n);
    expect(await balanceOf(db.pool, stayed)).toBe(3n);
    expect((await deadLetters()).slice(before)).toEqual([]);
  });

  test("a message near the broker's size limit is dead-lettered with its first bytes, its length and its hash, and the dead letter is published", async () => {
    // In base64 the whole message would make a dead letter over the broker's 1 MiB limit: the
    // relay would resend it forever, and every later outbox message of the worker would wait.
    const account = await openAccountOn(db.pool, routing, 0, 'owner-huge');
    const before = (await deadLetters()).length;
    const huge = `{"v":1,"type":"${'x'.repeat(900_000)}"}`;
    await publisher.publishRaw(0, huge);
    await settle(await sendAll([deposit(account, 9n)]));
    expect(await balanceOf(db.pool, account)).toBe(9n);
    const rows = (await listDeadLetters(db.pool, { limit: 10_000 })).slice(before);
    expect(rows).toHaveLength(1);
    const letter = rows[0]!.letter;
    expect(letter.value_bytes).toBe(Buffer.byteLength(huge));
    expect(letter.value_sha256).toBe(createHash('sha256').update(huge).digest('hex'));
    expect(Buffer.from(letter.value_base64 as string, 'base64').toString()).toBe(huge.slice(0, DEAD_LETTER_VALUE_BYTES_KEPT));
    await waitFor('the dead letter published', async () => (await listDeadLetters(db.pool, { limit: 10_000 })).slice(before)[0]!.publishedAt !== null, 30_000);
  });

  test('deposits that would take a balance past its bound are REJECTED BALANCE_LIMIT_EXCEEDED and the next command applies', async () => {
    const account = await openAccountOn(db.pool, routing, 1, 'owner-rich');
    const fits = USER_BALANCE_MAX / AMOUNT_MAX; // 4,611 deposits of AMOUNT_MAX fit
    const filling = Array.from({ length: Number(fits) }, () => deposit(account, AMOUNT_MAX));
    const over = deposit(account, AMOUNT_MAX);
    const small = deposit(account, 1n);
    await settle(await sendAll(filling), 120_000);
    await publisher.publish(over);
    await publisher.publish(small);
    await settle([over.transferId, small.transferId]);
    const statuses = await transferStatuses(db.pool, [over.transferId, small.transferId]);
    expect(statuses.get(over.transferId)).toEqual({ status: 'REJECTED', reason: 'BALANCE_LIMIT_EXCEEDED' });
    expect(statuses.get(small.transferId)).toEqual({ status: 'COMPLETED', reason: null });
    expect(await balanceOf(db.pool, account)).toBe(fits * AMOUNT_MAX + 1n);
  });

  test('a command whose write fails deterministically is bisected out: REJECTED UNPROCESSABLE, dead-lettered, everything else applied in order', async () => {
    // The test's own way to make the write path fail deterministically on one chosen command,
    // in real Postgres: a trigger that refuses one description (SQLSTATE 22023).
    await db.pool.query(`CREATE FUNCTION test_refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.description = 'poison-me' THEN RAISE EXCEPTION 'test: poison description refused' USING ERRCODE = '22023'; END IF;
        RETURN NEW;
      END $$`);
    await db.pool.query('CREATE TRIGGER test_refuse_poison BEFORE INSERT ON transfers FOR EACH ROW EXECUTE FUNCTION test_refuse_poison()');
    try {
      const from = await openAccountOn(db.pool, routing, 0, 'owner-bisect');
      const to = await openAccountOn(db.pool, routing, 0, 'owner-bisect-to');
      const before = (await deadLetters()).length;
      const offsetsBefore = await db.pool.query('SELECT next_offset FROM partition_state WHERE topic = $1 AND partition = 0', [topics.names.commands]);
      const head = Array.from({ length: 6 }, (_, i) => deposit(from, BigInt(i + 1)));
      const poison = { ...transfer(from, to, 'owner-bisect', 5n), description: 'poison-me' } as Command;
      const tail = Array.from({ length: 7 }, (_, i) => deposit(from, BigInt(100 + i)));
      const burst = [...head, poison, ...tail];
      // One produce request: the burst reaches the worker as one fetch, one batch.
      await settle(await sendAll(burst));

      const statuses = await transferStatuses(db.pool, burst.map((c) => c.transferId));
      expect(statuses.get(poison.transferId)).toEqual({ status: 'REJECTED', reason: 'UNPROCESSABLE' });
      for (const c of [...head, ...tail]) expect(statuses.get(c.transferId)).toEqual({ status: 'COMPLETED', reason: null });
      // In order: the account's entries follow the burst's order, seq by seq.
      const entries = await db.pool.query('SELECT amount::text AS amount FROM entries WHERE account_id = $1 ORDER BY entries.seq', [from]);
      expect(entries.rows.map((r) => r.amount)).toEqual([...head, ...tail].map((c) => c.amount.toString()));
      expect(await balanceOf(db.pool, from)).toBe([...head, ...tail].reduce((sum, c) => sum + c.amount, 0n));
      expect(await balanceOf(db.pool, to)).toBe(0n);

      const letters = (await deadLetters()).slice(before);
      expect(letters).toHaveLength(1);
      const letter = letters[0]!;
      expect(letter.reason).toMatch(/^UNPROCESSABLE: test: poison description refused/);
      expect(letter.sqlstate).toBe('22023');
      expect(letter.partition).toBe(0);
      expect(BigInt(letter.offset as string)).toBe(BigInt(offsetsBefore.rows[0].next_offset) + BigInt(head.length));
      expect(JSON.parse(Buffer.from(letter.value_base64 as string, 'base64').toString())).toMatchObject({ transfer_id: poison.transferId, description: 'poison-me' });

      // The partition's stored offset is past the burst, and it keeps applying.
      const later = deposit(from, 1_000n);
      await settle(await sendAll([later]));
      const report = await reconcile(db.pool, { outboxAgeMaxMs: 60_000 });
      expect(report.checks.filter((c) => c.violations > 0 && c.name !== 'outbox-published')).toEqual([]);
    } finally {
      await db.pool.query('DROP TRIGGER IF EXISTS test_refuse_poison ON transfers');
    }
  });

  test('a failure that even an empty write repeats is the database, not a command: retried, nothing dead-lettered, applied once it heals', async () => {
    // Every write of the partition fails, whatever its commands: like a broken deploy.
    await db.pool.query(`CREATE FUNCTION test_refuse_progress() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'test: partition_state is read-only' USING ERRCODE = '22023'; END $$`);
    const account = await openAccountOn(db.pool, routing, 1, 'owner-broken-db');
    const before = (await deadLetters()).length;
    await db.pool.query('CREATE TRIGGER test_refuse_progress BEFORE UPDATE ON partition_state FOR EACH ROW EXECUTE FUNCTION test_refuse_progress()');
    let healed = false;
    try {
      const commands = [deposit(account, 3n), deposit(account, 4n)];
      await sendAll(commands);
      // Several attempts fail meanwhile; none is allowed to blame (and drop) a command.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(await allTerminal(db.pool, commands.map((c) => c.transferId))).toBe(false);
      expect((await deadLetters()).length).toBe(before);
      await db.pool.query('DROP TRIGGER test_refuse_progress ON partition_state');
      healed = true;
      await settle(commands.map((c) => c.transferId));
      expect(await balanceOf(db.pool, account)).toBe(7n);
      expect((await deadLetters()).length).toBe(before);
    } finally {
      if (!healed) await db.pool.query('DROP TRIGGER IF EXISTS test_refuse_progress ON partition_state');
    }
  });
});
