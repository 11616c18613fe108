// Proves `ledgerctl dead-letters redrive` gives an operator a way to finish a transfer whose
// credit leg was dead-lettered. A leg has no status of its own to end: isolated as
// UNPROCESSABLE, it is only dead-lettered, and its transfer stays PROCESSING with the money in
// transit. Once the cause is mended (here, a trigger that refused the payee's entries is
// dropped), the leg sent again completes the transfer, once, and the ledger reconciles.
// Letters that must not be sent again (unreadable, not the pipeline's, an account change that
// could undo a later one, a client command already REJECTED) are refused with the reason. Against the real Kafka,
// Postgres through PgBouncer, Redis and a worker.
import type { RoutingTable } from '@ledgerline/domain';
import { listDeadLetters, loadRouting, reconcile } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { ledgerctlFor } from '../../../test/support/ledgerctl';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { CommandSeal, encodeCommand } from '@ledgerline/schemas';
import { TestPublisher, allTerminal, balanceOf, deposit, openAccountOn, testSeal, transfer, transferStatuses } from '../../../test/support/ledger';
import { startWorker, waitFor } from '../../../test/support/worker';


describe('ledgerctl dead-letters redrive', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let routing: RoutingTable;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    routing = await loadRouting(db.pool);
  });
  afterAll(async () => {
    await db.pool.query('DROP TRIGGER IF EXISTS test_refuse_payee ON entries');
    await topics.delete();
    await db.drop();
  });

  const ledgerctl = (args: string[], extra: Record<string, string> = {}) => ledgerctlFor({ databaseUrl: db.url, topicPrefix: topics.prefix })(args, extra);


  test("a transfer whose credit leg was dead-lettered completes once the cause is mended and the leg is sent again", async () => {
    const payer = await openAccountOn(db.pool, routing, 0, 'payer');
    const payee = await openAccountOn(db.pool, routing, 1, 'payee');
    // What a deploy's bug would do: every entry of the payee's account fails to write, for
    // a reason in the data's class (22023), so the worker blames the command, not Postgres.
    await db.pool.query(`CREATE OR REPLACE FUNCTION test_refuse_payee() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.account_id = '${payee}' THEN RAISE EXCEPTION 'test: entries of % refused', NEW.account_id USING ERRCODE = '22023'; END IF;
        RETURN NEW;
      END $$`);
    await db.pool.query('CREATE TRIGGER test_refuse_payee BEFORE INSERT ON entries FOR EACH ROW EXECUTE FUNCTION test_refuse_payee()');
    const worker = await startWorker({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` });
    const publisher = await TestPublisher.create(topics, db.pool);
    try {
      const funding = deposit(payer, 1_000n);
      await publisher.publish(funding);
      await waitFor('the deposit applied', () => allTerminal(db.pool, [funding.transferId]));
      // Only the external account so far: nothing in transit, said so (not left out).
      expect((await ledgerctl(['system-accounts'])).out).toContain('USD: 0 in transit');
      const payment = transfer(payer, payee, 'payer', 300n);
      await publisher.publish(payment);
      const letter = await waitFor('the credit leg dead-lettered', async () => (await listDeadLetters(db.pool, { limit: 10 })).find((row) => row.sourcePartition === 1));
      expect(letter.letter).toMatchObject({ reason: expect.stringMatching(/UNPROCESSABLE|22023|refused/), topic: topics.names.commands });
      // Debited, not credited: the money is in transit, and nothing ends the transfer by itself.
      expect((await transferStatuses(db.pool, [payment.transferId])).get(payment.transferId)?.status).toBe('PROCESSING');
      // What the operator sees of it: the transit accounts hold it.
      const system = await ledgerctl(['system-accounts']);
      expect(system).toMatchObject({ code: 0, err: '' });
      expect(system.out).toContain('USD: 300 in transit');
      expect(system.out).toMatch(/USD +0 +TRANSIT +[0-9a-f-]{36} +300\n/);
      expect(await balanceOf(db.pool, payer)).toBe(700n);
      // The listing names the command and its transfer, what an operator searches for.
      const listed = await ledgerctl(['dead-letters', '--partition', '1']);
      expect(listed.code).toBe(0);
      expect(listed.out).toMatch(new RegExp(`^${letter.id}\\s+1\\s+\\d+\\s+CREDIT_LEG\\s+${payment.transferId}\\s`, 'm'));
      // One letter whole: why, and its command decoded.
      const shown = await ledgerctl(['dead-letters', 'show', String(letter.id)]);
      expect(shown.code).toBe(0);
      expect(shown.out).toMatch(new RegExp(`^command:\\s+CREDIT_LEG ${payment.transferId}$`, 'm'));
      expect(shown.out).toMatch(/^reason:\s+UNPROCESSABLE/m);
      expect(shown.out).toMatch(/^value:\n\{\n {2}"v": 1,\n[\s\S]*"type": "CREDIT_LEG"/m);

      // Not yet mended: sent again, it is dead-lettered again, and still nothing moved.
      const early = await ledgerctl(['dead-letters', 'redrive', String(letter.id)]);
      expect([early.code, early.out]).toEqual([0, expect.stringMatching(/^dead letter \d+ \(CREDIT_LEG, partition 1, offset \d+\) sent again to partition 1 of /)]);
      await waitFor('dead-lettered again', async () => (await listDeadLetters(db.pool, { limit: 10 })).filter((row) => row.sourcePartition === 1).length === 2);
      // The new letter names the first one: the same command, dead-lettered again.
      const again = (await listDeadLetters(db.pool, { limit: 10 })).filter((row) => row.sourcePartition === 1)[1]!;
      const relisted = await ledgerctl(['dead-letters', '--partition', '1']);
      expect(relisted.out).toMatch(new RegExp(`^${letter.id}\\s+1\\s+\\d+\\s+CREDIT_LEG\\s+${payment.transferId}\\s+-\\s`, 'm'));
      expect(relisted.out).toMatch(new RegExp(`^${again.id}\\s+1\\s+\\d+\\s+CREDIT_LEG\\s+${payment.transferId}\\s+${letter.id}\\s`, 'm'));
      // The redrive is on record: the first letter says when, the new one was never redriven.
      expect(relisted.out).toMatch(new RegExp(`^${letter.id}\\s.*\\s1x, last \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\s+-\\s+UNPROCESSABLE`, 'm'));
      expect(relisted.out).toMatch(new RegExp(`^${again.id}\\s.*\\s-\\s+UNPROCESSABLE`, 'm'));

      await db.pool.query('DROP TRIGGER test_refuse_payee ON entries');
      const redriven = await ledgerctl(['dead-letters', 'redrive', String(letter.id)]);
      expect(redriven.code).toBe(0);
      await waitFor('the transfer completed', () => allTerminal(db.pool, [payment.transferId]));
      expect((await transferStatuses(db.pool, [payment.transferId])).get(payment.transferId)?.status).toBe('COMPLETED');
      expect(await balanceOf(db.pool, payee)).toBe(300n);

      // Sent a third time it is a copy of an applied leg: nothing moves twice.
      expect((await ledgerctl(['dead-letters', 'redrive', String(letter.id)])).code).toBe(0);
      const marker = deposit(payee, 1n);
      await publisher.publish(marker); // applied after the copy on the same partition
      await waitFor('the marker applied', () => allTerminal(db.pool, [marker.transferId]));
      expect(await balanceOf(db.pool, payee)).toBe(301n);
      // Three redrives, each with its partition and who sent it.
      const history = await ledgerctl(['dead-letters', 'show', String(letter.id)]);
      expect(history.out).toMatch(/^sqlstate:\s+22023$/m); // the worker's reason for isolating it
      expect(history.out).toMatch(/^again of:\s+-$/m);
      const redriveLines = history.out.match(/\d{4}-\d\d-\d\dT[\d:.]+Z to partition 1 by \S+@\S+/g) ?? [];
      expect(redriveLines).toHaveLength(3);
      expect(history.out).toMatch(new RegExp(`^redriven:\\s+${redriveLines[0]!.replace(/[.]/g, '\\.')}$`, 'm'));
      const json = (await ledgerctl(['dead-letters', '--partition', '1', '--json'])).out.trim().split('\n').map((line) => JSON.parse(line));
      expect(json.map((l: { id: string; redrives: number }) => [l.id, l.redrives])).toEqual([[String(letter.id), 3], [String(again.id), 0]]);
      // --open: the redriven letter is handled; the one dead-lettered again is not, yet.
      const open = await ledgerctl(['dead-letters', '--partition', '1', '--open']);
      expect(open.out).not.toMatch(new RegExp(`^${letter.id}\\s`, 'm'));
      // ...and still names the first letter, though --open leaves that one out.
      expect(open.out).toMatch(new RegExp(`^${again.id}\\s+1\\s+\\d+\\s+CREDIT_LEG\\s+${payment.transferId}\\s+${letter.id}\\s`, 'm'));
      const report = await reconcile(db.pool, { outboxAgeMaxMs: 3_600_000 });
      expect(report.checks.filter((c) => c.violations > 0)).toEqual([]);
      expect(worker.fatal).toEqual([]);
    } finally {
      await publisher.stop();
      await worker.stop();
    }
  }, 180_000);

  test("a deposit an older worker refused for a member it did not know (its description) has no status of its own, and is applied once sent again", async () => {
    // The upgrade window README "Upgrading" warns of: a newer API's deposit with a description
    // reached a worker older than it, which dead-lettered it as malformed. No REJECTED was
    // recorded, so its client reads it ACCEPTED and its Idempotency-Key stays bound: only the
    // letter, sent again to a current worker, ends it.
    const account = await openAccountOn(db.pool, routing, 0, 'wired');
    const wire = { ...deposit(account, 250n), description: 'wire 42' };
    const insert = async (reason: string, key: string, value: string) => {
      const { rows } = await db.pool.query(
        `INSERT INTO outbox (source_partition, topic, target_partition, message_key, payload) VALUES (0, 'dead-letter', 0, NULL, $1::jsonb) RETURNING id`,
        [JSON.stringify({ v: 1, reason, topic: topics.names.commands, partition: 0, offset: 3, key_base64: Buffer.from(key).toString('base64'), value_base64: Buffer.from(value).toString('base64'), dead_lettered_at: new Date().toISOString() })],
      );
      return String(rows[0].id);
    };
    // What a worker of ff0f3f9 wrote for it: the whole sealed message, refused by its schema.
    const letter = await insert('schema: (root): Unrecognized key: "description"', account, encodeCommand(wire, testSeal));
    // A schema refusal this build makes too is still refused: sent again it would be dead-lettered again.
    const unknown = await insert('schema: (root): Unrecognized key: "colour"', account, JSON.stringify({ v: 1, type: 'DEPOSIT', account_id: account, colour: 'red' }));
    const refused = await ledgerctl(['dead-letters', 'redrive', unknown]);
    expect([refused.code, refused.err]).toEqual([2, expect.stringMatching(/was refused before it was applied \(schema: \(root\): Unrecognized key: "colour"\)/)]);
    const worker = await startWorker({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` });
    const publisher = await TestPublisher.create(topics, db.pool);
    try {
      expect((await transferStatuses(db.pool, [wire.transferId])).get(wire.transferId)).toBeUndefined();
      const redriven = await ledgerctl(['dead-letters', 'redrive', letter]);
      expect([redriven.code, redriven.out]).toEqual([0, expect.stringMatching(/^dead letter \d+ \(DEPOSIT, partition 0, offset 3\) sent again to partition 0 of /)]);
      await waitFor('the deposit applied', () => allTerminal(db.pool, [wire.transferId]));
      expect((await transferStatuses(db.pool, [wire.transferId])).get(wire.transferId)?.status).toBe('COMPLETED');
      expect((await db.pool.query('SELECT description FROM transfers WHERE id = $1', [wire.transferId])).rows[0].description).toBe('wire 42');
      // Sent again, it is a copy of an applied deposit: the money arrives once.
      expect((await ledgerctl(['dead-letters', 'redrive', letter])).code).toBe(0);
      const marker = deposit(account, 1n);
      await publisher.publish(marker); // applied after the copy on the same partition
      await waitFor('the marker applied', () => allTerminal(db.pool, [marker.transferId]));
      expect(await balanceOf(db.pool, account)).toBe(251n);
      const report = await reconcile(db.pool, { outboxAgeMaxMs: 3_600_000 });
      expect(report.checks.filter((c) => c.violations > 0)).toEqual([]);
      expect(worker.fatal).toEqual([]);
    } finally {
      await publisher.stop();
      await worker.stop();
    }
  }, 120_000);

  test("a command whose decoding threw in an older build ('undecodable:') is sent again once this build reads it, and stays refused while it does not", async () => {
    // decodeCommand dead-letters what throws inside it (a worker bug): once a build that reads
    // the bytes runs, the command, never applied nor recorded, must be sendable again.
    const account = await openAccountOn(db.pool, routing, 0, 'undecodable');
    const insert = async (value: string) => {
      const { rows } = await db.pool.query(
        `INSERT INTO outbox (source_partition, topic, target_partition, message_key, payload) VALUES (0, 'dead-letter', 0, NULL, $1::jsonb) RETURNING id`,
        [JSON.stringify({ v: 1, reason: 'undecodable: Cannot convert x to a BigInt', topic: topics.names.commands, partition: 0, offset: 5, key_base64: Buffer.from(account).toString('base64'), value_base64: Buffer.from(value).toString('base64'), dead_lettered_at: new Date().toISOString() })],
      );
      return String(rows[0].id);
    };
    const readable = await insert(encodeCommand(deposit(account, 3n), testSeal));
    const unreadable = await insert(JSON.stringify({ v: 1, type: 'DEPOSIT', account_id: account, colour: 'red' }));
    const refused = await ledgerctl(['dead-letters', 'redrive', unreadable]);
    expect([refused.code, refused.err]).toEqual([2, expect.stringMatching(/was refused before it was applied \(undecodable: /)]);
    const redriven = await ledgerctl(['dead-letters', 'redrive', readable]);
    expect([redriven.code, redriven.out]).toEqual([0, expect.stringMatching(/^dead letter \d+ \(DEPOSIT, partition 0, offset 5\) sent again to partition 0 of /)]);
  }, 60_000);

  test('a deposit refused for a seal its worker could not verify (a key rotation done out of order) is applied once sent again to workers that have the key', async () => {
    // Found by an outside review of the runbooks: docs/security.md promised this redrive, and
    // ledgerctl refused every `forged:` letter. The workers judge the seal: sent again to
    // workers without the key, it is dead-lettered again; to workers with it, applied.
    const account = await openAccountOn(db.pool, routing, 0, 'rotated');
    const newKey = 'rotation-new-key-0123456789abcdef';
    const sealed = deposit(account, 70n);
    const { rows } = await db.pool.query(
      `INSERT INTO outbox (source_partition, topic, target_partition, message_key, payload) VALUES (0, 'dead-letter', 0, NULL, $1::jsonb) RETURNING id`,
      [
        JSON.stringify({
          v: 1, reason: 'forged: operator_seal does not verify under any configured LEDGERLINE_COMMAND_KEY', topic: topics.names.commands, partition: 0, offset: 9,
          key_base64: Buffer.from(account).toString('base64'), value_base64: Buffer.from(encodeCommand(sealed, new CommandSeal(newKey))).toString('base64'),
          dead_lettered_at: new Date().toISOString(),
        }),
      ],
    );
    const letter = String(rows[0].id);
    const lettersOf = async () => (await listDeadLetters(db.pool, { limit: 100 })).filter((row) => String(row.letter.reason).startsWith('forged:')).length;
    const before = await lettersOf();
    // The workers without the new key: refused again, as a new letter; nothing moves.
    const old = await startWorker({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` });
    try {
      const early = await ledgerctl(['dead-letters', 'redrive', letter]);
      expect([early.code, early.out]).toEqual([0, expect.stringMatching(/^dead letter \d+ \(DEPOSIT, partition 0, offset 9\) sent again to partition 0 of /)]);
      await waitFor('the deposit dead-lettered again', async () => (await lettersOf()) > before);
      expect((await transferStatuses(db.pool, [sealed.transferId])).get(sealed.transferId)).toBeUndefined();
    } finally {
      await old.stop();
    }
    // Every worker has the key now (as previous or current): the same bytes apply, once.
    const rotated = await startWorker({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` }, { LEDGERLINE_COMMAND_KEY_PREVIOUS: newKey });
    try {
      expect((await ledgerctl(['dead-letters', 'redrive', letter])).code).toBe(0);
      await waitFor('the deposit applied', () => allTerminal(db.pool, [sealed.transferId]));
      expect((await transferStatuses(db.pool, [sealed.transferId])).get(sealed.transferId)?.status).toBe('COMPLETED');
      expect(await balanceOf(db.pool, account)).toBe(70n);
      expect(rotated.fatal).toEqual([]);
    } finally {
      await rotated.stop();
    }
    // A forged account change stays refused: sent late it could undo a later change.
    const { rows: changeRows } = await db.pool.query(
      `INSERT INTO outbox (source_partition, topic, target_partition, message_key, payload) VALUES (0, 'dead-letter', 0, NULL, $1::jsonb) RETURNING id`,
      [JSON.stringify({ v: 1, reason: 'forged: operator_seal does not verify', topic: topics.names.commands, partition: 0, offset: 10, key_base64: Buffer.from(account).toString('base64'), value_base64: Buffer.from('{"v":1,"type":"UPDATE_ACCOUNT"}').toString('base64'), dead_lettered_at: new Date().toISOString() })],
    );
    const change = await ledgerctl(['dead-letters', 'redrive', String(changeRows[0].id)]);
    expect([change.code, change.err]).toEqual([2, expect.stringMatching(/is an account change: sent now it could undo a later one/)]);
  }, 120_000);

  test('ack records once, with its note, who handled a letter; --open then leaves it out; a bad note or id changes nothing', async () => {
    const { rows } = await db.pool.query(
      `INSERT INTO outbox (source_partition, topic, target_partition, message_key, payload) VALUES (0, 'dead-letter', 0, NULL, $1::jsonb) RETURNING id`,
      [JSON.stringify({ v: 1, reason: 'forged: operator_seal does not verify', topic: topics.names.commands, partition: 0, offset: 9, value_base64: Buffer.from('{"v":1,"type":"DEPOSIT"}').toString('base64'), dead_lettered_at: new Date().toISOString() })],
    );
    const id = String(rows[0].id);
    const listedOpen = async () => (await ledgerctl(['dead-letters', '--partition', '0', '--open'])).out;
    expect(await listedOpen()).toMatch(new RegExp(`^${id}\\s`, 'm'));

    // Refused, and nothing written: no note, a note with an escape sequence, a letter that is not there.
    const refused = [
      [['dead-letters', 'ack', id, '--note', '  '], /--note must say why the letter is handled/],
      [['dead-letters', 'ack', id, '--note', 'ok\u001b[31m red'], /--note must be one line of text, without control/],
      [['dead-letters', 'ack', id, '--note', 'x'.repeat(501)], /--note must be at most 500 characters/],
      [['dead-letters', 'ack', '999999999', '--note', 'gone'], /no dead letter 999999999/],
      [['dead-letters', 'ack', id], /required option '--note <text>' not specified/],
    ] as const;
    for (const [args, message] of refused) {
      const answer = await ledgerctl([...args]);
      expect([args.join(' ').slice(0, 60), answer.code, answer.err]).toEqual([args.join(' ').slice(0, 60), 2, expect.stringMatching(message)]);
    }
    expect((await db.pool.query('SELECT count(*)::int AS n FROM dead_letter_acknowledgements')).rows[0].n).toBe(0);

    const acked = await ledgerctl(['dead-letters', 'ack', id, '--note', 'forged by the penetration test; nothing to replay']);
    expect([acked.code, acked.out]).toEqual([0, `dead letter ${id} acknowledged: it no longer shows in dead-letters --open\n`]);
    expect(await listedOpen()).not.toMatch(new RegExp(`^${id}\\s`, 'm'));
    expect((await ledgerctl(['dead-letters', '--partition', '0'])).out).toMatch(new RegExp(`^${id}\\s.*\\s\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\s+forged:`, 'm'));
    const shown = await ledgerctl(['dead-letters', 'show', id]);
    expect(shown.out).toMatch(/^acknowledged:\s+\d{4}-\d\d-\d\dT[\d:.]+Z by \S+@\S+: forged by the penetration test; nothing to replay$/m);
    // Written once: a second word is refused and names the first.
    const again = await ledgerctl(['dead-letters', 'ack', id, '--note', 'another reason']);
    expect([again.code, again.err]).toEqual([2, expect.stringMatching(/is already acknowledged \(.* by \S+@\S+: forged by the penetration test; nothing to replay\)/)]);
    const json = (await ledgerctl(['dead-letters', '--partition', '0', '--json'])).out.trim().split('\n').map((line) => JSON.parse(line));
    expect(json.find((l: { id: string }) => l.id === id).acknowledged).toEqual({ at: expect.any(String), by: expect.stringMatching(/@/), note: 'forged by the penetration test; nothing to replay' });
  }, 60_000);

  test('show escapes the control characters of a letter\'s key, value and reason, as the listing does: none reaches the terminal', async () => {
    // What someone who can write to the commands topic could aim at the operator's terminal:
    // ESC sequences (clear the screen, a CSI colour, an OSC window title ended by BEL), the
    // 8-bit CSI (U+009B, C1), DEL, a carriage return to overwrite the line.
    const hostile = '\u001b[2J\u001b]0;owned\u0007\u009b31m\u007f\rreason: forged';
    const insert = async (letter: Record<string, unknown>) => {
      const { rows } = await db.pool.query(
        `INSERT INTO outbox (source_partition, topic, target_partition, message_key, payload) VALUES (0, 'dead-letter', 0, NULL, $1::jsonb) RETURNING id`,
        [JSON.stringify({ v: 1, topic: topics.names.commands, partition: 0, offset: 11, dead_lettered_at: new Date().toISOString(), ...letter })],
      );
      return String(rows[0].id);
    };
    const base64 = (text: string) => Buffer.from(text).toString('base64');
    // Not JSON (JSON refuses a raw control character in a string): its value is shown as it
    // came, escaped; the reason quotes the bytes, as the decoder's does.
    const malformed = await insert({ reason: `not JSON: ${hostile}`, key_base64: base64(`key${hostile}`), value_base64: base64(`{"v":1,"d":"${hostile}"}`) });
    // JSON whose strings hold C1 controls and DEL (JSON.stringify leaves them raw): pretty-printed, escaped.
    const json = await insert({ reason: 'schema: description: too long', key_base64: base64('00000000-0000-4000-8000-0000000000bb'), value_base64: base64(JSON.stringify({ v: 1, type: 'TRANSFER', description: '\u009b2J\u009d0;owned\u009c\u007f' })) });
    const controls = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

    const shownMalformed = await ledgerctl(['dead-letters', 'show', malformed]);
    expect(shownMalformed.code).toBe(0);
    expect(shownMalformed.out).not.toMatch(controls);
    const escaped = '\\u001b[2J\\u001b]0;owned\\u0007\\u009b31m\\u007f\\u000dreason: forged';
    expect(shownMalformed.out).toContain(`\nreason:                   not JSON: ${escaped}\n`);
    expect(shownMalformed.out).toContain(`\nkey:                      key${escaped}\n`);
    expect(shownMalformed.out).toMatch(/\nvalue:\n\{"v":1,"d":"\\u001b\[2J[^\n]*"\}\n$/);

    const shownJson = await ledgerctl(['dead-letters', 'show', json]);
    expect(shownJson.code).toBe(0);
    expect(shownJson.out).not.toMatch(controls);
    expect(shownJson.out).toContain('\n  "description": "\\u009b2J\\u009d0;owned\\u009c\\u007f"\n');
    // Escaped as JSON escapes them: the value shown still reads as the command it was.
    expect(JSON.parse(shownJson.out.slice(shownJson.out.indexOf('value:\n') + 7))).toEqual({ v: 1, type: 'TRANSFER', description: '\u009b2J\u009d0;owned\u009c\u007f' });

    // A refused redrive quotes the reason and the key: escaped on stderr too.
    const refusedReason = await ledgerctl(['dead-letters', 'redrive', malformed]);
    expect([refusedReason.code, refusedReason.err]).toEqual([2, expect.stringContaining('was refused before it was applied (not JSON: \\u001b[2J')]);
    expect(refusedReason.err).not.toMatch(controls);
    const keyed = await insert({ reason: 'UNPROCESSABLE: test', key_base64: base64(`key${hostile}`), value_base64: base64('{"v":1,"type":"CREDIT_LEG"}') });
    const refusedKey = await ledgerctl(['dead-letters', 'redrive', keyed]);
    expect([refusedKey.code, refusedKey.err]).toEqual([2, expect.stringContaining('is keyed "key\\u001b[2J')]);
    expect(refusedKey.err).not.toMatch(controls);
    // The command's type, read from the letter's bytes, is quoted too (an outside review of
    // ledgerctl: a forged letter's type reached the terminal raw, on stderr and on stdout).
    const typed = await insert({ reason: 'UNPROCESSABLE: test', key_base64: base64('00000000-0000-4000-8000-0000000000bb'), value_base64: base64(JSON.stringify({ v: 1, type: `X${hostile}` })) });
    const refusedType = await ledgerctl(['dead-letters', 'redrive', typed]);
    expect([refusedType.code, refusedType.err]).toEqual([2, expect.stringContaining('is a X\\u001b[2J\\u001b]0;owned\\u0007')]);
    expect(refusedType.err).not.toMatch(controls);
  }, 60_000);

  test('what cannot be sent again is refused with its reason, exit 2', async () => {
    const none = await ledgerctl(['dead-letters', 'redrive', '999999999']);
    expect([none.code, none.err]).toEqual([2, 'ledgerctl: no dead letter 999999999 (ledgerctl dead-letters lists them)\n']);
    const typo = await ledgerctl(['dead-letters', 'redrive', '12a']);
    expect([typo.code, typo.err]).toEqual([2, expect.stringContaining("<id> must be a dead letter's id")]);
    // A mistyped subcommand or a partition the topic does not have is refused, never read
    // as "no dead letters" with exit 0.
    const misspelt = await ledgerctl(['dead-letters', 'redirve', '5']);
    expect([misspelt.code, misspelt.err]).toEqual([2, expect.stringContaining("too many arguments for 'dead-letters'")]);
    const beyond = await ledgerctl(['dead-letters', '--partition', '2']);
    expect([beyond.code, beyond.err]).toEqual([2, expect.stringContaining('--partition must be in 0..1')]);
    const refusedIds: string[] = [];
    const letter = async (reason: string, key: string, value: string) => {
      const { rows } = await db.pool.query(
        `INSERT INTO outbox (source_partition, topic, target_partition, message_key, payload) VALUES (0, 'dead-letter', 0, NULL, $1::jsonb) RETURNING id`,
        [JSON.stringify({ v: 1, reason, topic: topics.names.commands, partition: 0, offset: 7, key_base64: Buffer.from(key).toString('base64'), value_base64: Buffer.from(value).toString('base64'), dead_lettered_at: new Date().toISOString() })],
      );
      refusedIds.push(String(rows[0].id));
      return String(rows[0].id);
    };
    const account = '00000000-0000-4000-8000-0000000000aa';
    // Never a command the worker could read: it would be refused the same way.
    const malformed = await ledgerctl(['dead-letters', 'redrive', await letter('malformed: not JSON', account, '{')]);
    expect([malformed.code, malformed.err]).toEqual([2, expect.stringMatching(/was refused before it was applied \(malformed: not JSON\)/)]);
    // Keyed by no account: the pipeline never wrote it.
    const poison = await ledgerctl(['dead-letters', 'redrive', await letter('UNPROCESSABLE: test', 'poison', '{"v":1,"type":"CREDIT_LEG"}')]);
    expect([poison.code, poison.err]).toEqual([2, expect.stringMatching(/is keyed "poison", not by an account id/)]);
    // An account change could undo a later one (an unfreeze over a freeze): not sent again.
    const change = await ledgerctl(['dead-letters', 'redrive', await letter('UNPROCESSABLE: test', account, '{"v":1,"type":"UPDATE_ACCOUNT"}')]);
    expect([change.code, change.err]).toEqual([2, expect.stringMatching(/is an account change: sent now it could undo a later one/)]);
    // A client's command was recorded REJECTED UNPROCESSABLE: its client sends a new request.
    const payment = await ledgerctl(['dead-letters', 'redrive', await letter('UNPROCESSABLE: test', account, '{"v":1,"type":"TRANSFER"}')]);
    expect([payment.code, payment.err]).toEqual([2, expect.stringMatching(/is a TRANSFER, recorded REJECTED UNPROCESSABLE/)]);
    // A refused redrive sent nothing and records nothing.
    expect(refusedIds).toHaveLength(4);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM dead_letter_redrives WHERE letter_id = ANY($1::bigint[])', [refusedIds])).rows[0].n).toBe(0);
  }, 60_000);
});
