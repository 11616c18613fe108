// Proves the Kafka command format round-trips every command exactly, turns any poison
// message into a reason instead of an exception, and grants operator authority only to a
// message whose seal verifies: never to a flag, never to a kind that needs it unsealed.
import { randomUUID } from 'node:crypto';
import type { Command } from '@ledgerline/domain';
import { CommandSeal, amountString, decodeCommand as decodeWith, encodeCommand as encodeWith, limitString } from '../src';

const seal = new CommandSeal('k'.repeat(32));
const decodeCommand = (value: Buffer) => decodeWith(value, seal);
const encodeCommand = (command: Command) => encodeWith(command, seal);

const hash = 'a'.repeat(64);
const at = '2026-11-21T04:00:00.000Z';
const commands: Command[] = [
  { type: 'TRANSFER', transferId: randomUUID(), fromAccountId: randomUUID(), toAccountId: randomUUID(), amount: 999_999_999_999_999n, currency: 'USD', principal: 'alice', admin: false, requestHash: hash, description: 'rent', acceptedAt: at },
  { type: 'DEPOSIT', transferId: randomUUID(), accountId: randomUUID(), amount: 1n, currency: 'EUR', principal: 'ops', admin: true, requestHash: hash, acceptedAt: at, description: 'wire ref 7731' },
  { type: 'WITHDRAWAL', transferId: randomUUID(), accountId: randomUUID(), amount: 42n, currency: 'USD', principal: 'bob', admin: false, requestHash: hash, acceptedAt: at, description: null },
  { type: 'CREDIT_LEG', transferId: randomUUID(), fromAccountId: randomUUID(), toAccountId: randomUUID(), amount: 5n, currency: 'USD', sourcePartition: 3, kind: 'TRANSFER', reverses: null, holdId: null },
  { type: 'CREDIT_LEG', transferId: randomUUID(), fromAccountId: randomUUID(), toAccountId: randomUUID(), amount: 7n, currency: 'USD', sourcePartition: 2, kind: 'CAPTURE', reverses: null, holdId: randomUUID() },
  { type: 'REFUND_LEG', transferId: randomUUID(), fromAccountId: randomUUID(), toAccountId: randomUUID(), amount: 5n, currency: 'USD', sourcePartition: 6, reason: 'DESTINATION_NOT_FOUND', kind: 'REVERSAL', reverses: randomUUID(), holdId: null },
  { type: 'REVERSAL', transferId: randomUUID(), reverses: randomUUID(), fromAccountId: randomUUID(), amount: 30n, currency: 'USD', description: null, principal: 'bob', admin: false, requestHash: hash, acceptedAt: at },
  // No amount asked for: the writer takes the rest (the amount is what the API saw left).
  { type: 'REVERSAL', transferId: randomUUID(), reverses: randomUUID(), fromAccountId: randomUUID(), amount: 30n, currency: 'USD', description: 'rest', rest: true, principal: 'bob', admin: false, requestHash: hash, acceptedAt: at },
];

const capturing = JSON.parse(
  encodeCommand({ type: 'CAPTURE', transferId: randomUUID(), holdId: randomUUID(), accountId: randomUUID(), toAccountId: randomUUID(), amount: 40n, currency: 'USD', principal: 'bob', admin: false, requestHash: hash, acceptedAt: at }),
) as { account_id: string };

describe('command wire format', () => {
  test.each(commands.map((c) => [c.type, c] as const))('%s round-trips', (_type, command) => {
    const decoded = decodeCommand(Buffer.from(encodeCommand(command)));
    expect(decoded).toEqual({ ok: true, command });
  });

  test("a deposit's or withdrawal's description is written only when set: every other one stays readable by an older worker", () => {
    expect(JSON.parse(encodeCommand(commands[1]!)).description).toBe('wire ref 7731');
    expect('description' in JSON.parse(encodeCommand(commands[2]!))).toBe(false);
  });

  test('amounts travel as digit strings, never JSON numbers', () => {
    const wire = JSON.parse(encodeCommand(commands[0]!));
    expect(wire.amount).toBe('999999999999999');
  });

  test.each([
    ['empty', '', /empty/],
    ['not JSON', '{nope', /not JSON/],
    ['numeric amount', JSON.stringify({ ...JSON.parse(encodeCommand(commands[2]!)), amount: 5 }), /amount/],
    ['negative amount', JSON.stringify({ ...JSON.parse(encodeCommand(commands[2]!)), amount: '-5' }), /amount/],
    ['20-digit amount', JSON.stringify({ ...JSON.parse(encodeCommand(commands[2]!)), amount: '99999999999999999999' }), /amount/],
    ['a member this version does not know', JSON.stringify({ ...JSON.parse(encodeCommand(commands[2]!)), on_behalf_of: 'ops' }), /on_behalf_of/],
    ['unknown type', JSON.stringify({ v: 1, type: 'STEAL' }), /schema/],
    ['from equals to', JSON.stringify({ ...JSON.parse(encodeCommand(commands[0]!)), to_account_id: (commands[0] as { fromAccountId: string }).fromAccountId }), /differ/],
    // Found by an outside review: applied, it ended the hold CAPTURED and moved nothing (the API refuses it; a message on Kafka may not come from the API).
    ['a capture into the held account', JSON.stringify({ ...capturing, to_account_id: capturing.account_id }), /differ/],
    ['lower-case currency', JSON.stringify({ ...JSON.parse(encodeCommand(commands[2]!)), currency: 'usd' }), /currency/],
    // Numbers Postgres would refuse mid-batch (an int past 2^31, a bigint past 2^63 - 1) are refused here: every number bounded.
    ['a leg from partition 1024', JSON.stringify({ ...JSON.parse(encodeCommand(commands[3]!)), source_partition: 1024 }), /source_partition/],
    ['a leg from partition 2^31', JSON.stringify({ ...JSON.parse(encodeCommand(commands[3]!)), source_partition: 2 ** 31 }), /source_partition/],
    ['a fence from partition 1024', JSON.stringify({ v: 1, type: 'FENCE', move_ids: ['1'], from_partition: 1024 }), /from_partition/],
    ['a fence naming a move past bigint', JSON.stringify({ v: 1, type: 'FENCE', move_ids: ['9223372036854775808'], from_partition: 0 }), /move_ids/],
    // Found by an outside review: the pattern's failure did not stop zod from running the
    // bound's BigInt(), which threw; the worker took the throw for an operating error and
    // retried the batch forever (no seal is needed to write a FENCE).
    ['a fence naming a move that is not digits', JSON.stringify({ v: 1, type: 'FENCE', move_ids: ['x'], from_partition: 0 }), /move_ids/],
    ['a fence naming a move in hex', JSON.stringify({ v: 1, type: 'FENCE', move_ids: ['0x1f'], from_partition: 0 }), /move_ids/],
  ])('%s is a poison message with a reason', (_name, text, reason) => {
    const decoded = decodeCommand(Buffer.from(text));
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.reason).toMatch(reason);
  });
});

describe('amount fields', () => {
  // Regressions: '1.5' once reached BigInt() inside a refinement and threw (a 500 for bad
  // input); then 20+ digit amounts slipped past the bound (found by the chaos run: the worker
  // stopped on a command it should have refused at ingest).
  test.each(['1.5', '-1', '0', '01', '1e3', ' 1', '', '9999999999999999999', '99999999999999999999', '9'.repeat(400), '1000000000000000'])('refuses %j with an issue, never a throw', (text) => {
    expect(() => amountString.safeParse(text)).not.toThrow();
    expect(amountString.safeParse(text).success).toBe(false);
  });
  test.each(['1', '42', '999999999999999'])('accepts %j', (text) => {
    expect(amountString.safeParse(text).success).toBe(true);
  });
  test('limits accept 0 and refuse fractions and oversized values without throwing', () => {
    expect(limitString.safeParse('0').success).toBe(true);
    expect(limitString.safeParse('2.5').success).toBe(false);
    expect(limitString.safeParse('99999999999999999999').success).toBe(false);
  });
});

describe('text Postgres cannot store', () => {
  test('a transfer whose description holds NUL is a poison message (dead-lettered), not a command', () => {
    const wire = JSON.parse(encodeCommand(commands[0]!));
    wire.description = 'a\u0000b';
    const decoded = decodeCommand(Buffer.from(JSON.stringify(wire)));
    expect(decoded.ok).toBe(false);
    expect(decoded.ok ? '' : decoded.reason).toMatch(/NUL/);
  });

  // The API refuses a body that is not UTF-8 (400); a message on the topic that is not is
  // malformed too, never applied with U+FFFD where its bytes were.
  const withDescriptionBytes = (bytes: number[]) => {
    const [before, after] = encodeCommand({ ...commands[0]!, description: 'HERE' } as Command).split('HERE') as [string, string];
    return Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
  };
  test.each([
    ['an invalid byte and an encoded surrogate', [0xff, 0xed, 0xa0, 0x80]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['an overlong "/"', [0xc0, 0xaf]],
    ['a sequence cut short', [0x61, 0xe2, 0x82]],
    ['a continuation byte alone', [0x80]],
  ])('a transfer whose description holds %s is malformed (dead-lettered), not applied with U+FFFD', (_name, bytes) => {
    const decoded = decodeCommand(withDescriptionBytes(bytes));
    expect(decoded).toEqual({ ok: false, reason: expect.stringMatching(/^not UTF-8: /) });
  });

  test("a seal covers the bytes: other bytes that a lenient decoder reads as the sealed text are refused", () => {
    // Sealed over U+FFFD (EF BF BD); sent with FF in its place, which a lenient decoder
    // reads as U+FFFD too: the seal would verify over bytes the API never sealed.
    const sealed = Buffer.from(encodeCommand({ ...commands[0]!, admin: true, description: 'a\ufffdb' } as Command));
    expect(decodeCommand(sealed)).toMatchObject({ ok: true, command: { admin: true, description: 'a\ufffdb' } });
    const at = sealed.indexOf(Buffer.from('\ufffd'));
    const swapped = Buffer.concat([sealed.subarray(0, at), Buffer.from([0xff]), sealed.subarray(at + 3)]);
    expect(decodeCommand(swapped)).toEqual({ ok: false, reason: expect.stringMatching(/^not UTF-8: /) });
  });

  test('UTF-8 beyond ASCII decodes as sent', () => {
    const decoded = decodeCommand(withDescriptionBytes([...Buffer.from('ünïcode € 🎉')]));
    expect(decoded.ok && decoded.command).toMatchObject({ type: 'TRANSFER', description: 'ünïcode € 🎉' });
  });
});

describe('operator authority is sealed, never claimed', () => {
  const deposit = commands[1] as Command & { type: 'DEPOSIT' };
  const unsealed = (command: Command) => encodeWith({ ...command, admin: false } as Command);
  const forged = (text: string) => {
    const decoded = decodeCommand(Buffer.from(text));
    expect(decoded.ok).toBe(false);
    return decoded.ok ? '' : decoded.reason;
  };

  test('a sealed message a store re-rendered (jsonb) is sealed again over its new text; an unsealed one is left as it is', () => {
    const sealed = seal.seal('{"type":"DEPOSIT","amount":"70"}');
    const rendered = JSON.stringify(JSON.parse(sealed), null, 1); // same value, other text
    expect(seal.open(rendered)).toEqual({ forged: 'operator_seal must be the last member of the message' });
    const again = seal.sealAgain(rendered);
    expect(seal.open(again)).toEqual({ text: '{"type":"DEPOSIT","amount":"70"}', sealed: true });
    expect(seal.sealAgain('{"type": "TRANSFER"}')).toBe('{"type": "TRANSFER"}');
  });

  test('an operator command carries a seal as its last member and decodes as admin', () => {
    const text = encodeCommand(deposit);
    expect(text).toMatch(/,"operator_seal":"[A-Za-z0-9_-]{43}"}$/);
    expect(JSON.parse(text).admin).toBeUndefined();
    expect(decodeCommand(Buffer.from(text))).toEqual({ ok: true, command: deposit });
  });

  test('encoding an operator command without a seal is a programming error, not an unsealed message', () => {
    expect(() => encodeWith(deposit)).toThrow(/needs a CommandSeal/);
  });

  test('a flag claiming admin is forged, whatever the kind', () => {
    const transfer = JSON.parse(unsealed(commands[0]!));
    expect(forged(JSON.stringify({ ...transfer, admin: true }))).toMatch(/^forged: claims admin/);
    expect(forged(JSON.stringify({ ...JSON.parse(unsealed(deposit)), admin: true }))).toMatch(/^forged: claims admin/);
  });

  test('a DEPOSIT without a seal is forged: its kind needs an operator', () => {
    expect(forged(unsealed(deposit))).toMatch(/^forged: a DEPOSIT brings money from outside/);
  });

  test('a seal made with another key, or over other bytes, does not verify', () => {
    const other = encodeWith(deposit, new CommandSeal('x'.repeat(32)));
    expect(forged(other)).toMatch(/^forged: operator_seal does not verify/);
    const text = encodeCommand(deposit);
    const tampered = text.replace(`"amount":"${deposit.amount}"`, '"amount":"999999"');
    expect(tampered).not.toBe(text);
    expect(forged(tampered)).toMatch(/^forged: operator_seal does not verify/);
  });

  test('a seal anywhere but last, or twice, is forged', () => {
    const text = encodeCommand(deposit);
    const member = text.slice(text.lastIndexOf(',"operator_seal"'), -1);
    const moved = `{${member.slice(1)},${text.slice(1, text.lastIndexOf(',"operator_seal"'))}}`;
    expect(forged(moved)).toMatch(/^forged: operator_seal must be the last member/);
    expect(forged(`${text.slice(0, -1)}${member}}`)).toMatch(/^forged: operator_seal/);
  });

  test('messages the API never seals stay unsealed: a sealed credit leg is forged', () => {
    const leg = encodeWith(commands[3]!);
    expect(forged(seal.seal(leg))).toMatch(/^forged: a CREDIT_LEG message is never sealed/);
  });

  test('the internal principal never submits commands, sealed or not', () => {
    expect(forged(unsealed({ ...commands[0]!, principal: 'system' } as Command))).toMatch(/^forged: principal 'system' is internal/);
    expect(forged(encodeCommand({ ...deposit, principal: 'system' }))).toMatch(/^forged: principal 'system' is internal/);
  });

  test('an owner closing an account needs no seal; any other account change does', () => {
    const base = { type: 'UPDATE_ACCOUNT', changeId: randomUUID(), accountId: randomUUID(), principal: 'alice', admin: false, requestHash: hash, acceptedAt: at } as const;
    const close = { ...base, status: 'CLOSED', overdraftLimit: null } as const;
    expect(decodeCommand(Buffer.from(unsealed(close)))).toEqual({ ok: true, command: close });
    expect(forged(unsealed({ ...base, status: 'OPEN', overdraftLimit: 100n }))).toMatch(/^forged: an UPDATE_ACCOUNT other than the owner closing/);
    expect(forged(unsealed({ ...base, status: 'FROZEN', overdraftLimit: null }))).toMatch(/^forged: an UPDATE_ACCOUNT/);
    const freeze = { ...base, admin: true, status: 'FROZEN', overdraftLimit: null } as const;
    expect(decodeCommand(Buffer.from(encodeCommand(freeze)))).toEqual({ ok: true, command: freeze });
  });

  test('messages written before seals decode: admin false grants nothing and still applies', () => {
    const old = JSON.stringify({ ...JSON.parse(unsealed(commands[0]!)), admin: false });
    expect(decodeCommand(Buffer.from(old))).toEqual({ ok: true, command: commands[0] });
  });

  test('a previous key still verifies during rotation; the current one seals', () => {
    const rotated = new CommandSeal('n'.repeat(32), ['k'.repeat(32)]);
    expect(decodeWith(Buffer.from(encodeCommand(deposit)), rotated)).toEqual({ ok: true, command: deposit });
    expect(decodeWith(Buffer.from(encodeWith(deposit, rotated)), seal).ok).toBe(false);
  });
});

describe('decodeCommand never throws', () => {
  test('a throw anywhere in decoding is a poison message with a reason, never an error the worker would retry forever', () => {
    const throwing = {
      open: () => {
        throw new Error('boom');
      },
    } as unknown as CommandSeal;
    const decoded = decodeWith(Buffer.from('{"v":1}'), throwing);
    expect(decoded).toEqual({ ok: false, reason: 'undecodable: boom' });
  });
});
