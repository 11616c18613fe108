// Proves the Kafka command format round-trips every command exactly and turns any poison
// message into a reason instead of an exception.
import { randomUUID } from 'node:crypto';
import type { Command } from '@ledgerline/domain';
import { amountString, decodeCommand, encodeCommand, limitString } from '../src';

const hash = 'a'.repeat(64);
const at = '2026-11-21T04:00:00.000Z';
const commands: Command[] = [
  { type: 'TRANSFER', transferId: randomUUID(), fromAccountId: randomUUID(), toAccountId: randomUUID(), amount: 999_999_999_999_999n, currency: 'USD', principal: 'alice', admin: false, requestHash: hash, description: 'rent', acceptedAt: at },
  { type: 'DEPOSIT', transferId: randomUUID(), accountId: randomUUID(), amount: 1n, currency: 'EUR', principal: 'ops', admin: true, requestHash: hash, acceptedAt: at },
  { type: 'WITHDRAWAL', transferId: randomUUID(), accountId: randomUUID(), amount: 42n, currency: 'USD', principal: 'bob', admin: false, requestHash: hash, acceptedAt: at },
  { type: 'CREDIT_LEG', transferId: randomUUID(), fromAccountId: randomUUID(), toAccountId: randomUUID(), amount: 5n, currency: 'USD', sourcePartition: 3, kind: 'TRANSFER', reverses: null },
  { type: 'REFUND_LEG', transferId: randomUUID(), fromAccountId: randomUUID(), toAccountId: randomUUID(), amount: 5n, currency: 'USD', sourcePartition: 6, reason: 'DESTINATION_NOT_FOUND', kind: 'REVERSAL', reverses: randomUUID() },
];

describe('command wire format', () => {
  test.each(commands.map((c) => [c.type, c] as const))('%s round-trips', (_type, command) => {
    const decoded = decodeCommand(Buffer.from(encodeCommand(command)));
    expect(decoded).toEqual({ ok: true, command });
  });

  test('amounts travel as digit strings, never JSON numbers', () => {
    const wire = JSON.parse(encodeCommand(commands[0]!));
    expect(wire.amount).toBe('999999999999999');
  });

  test.each([
    ['empty', '', /empty/],
    ['not JSON', '{nope', /not JSON/],
    ['numeric amount', JSON.stringify({ ...JSON.parse(encodeCommand(commands[1]!)), amount: 5 }), /amount/],
    ['negative amount', JSON.stringify({ ...JSON.parse(encodeCommand(commands[1]!)), amount: '-5' }), /amount/],
    ['20-digit amount', JSON.stringify({ ...JSON.parse(encodeCommand(commands[1]!)), amount: '99999999999999999999' }), /amount/],
    ['unknown type', JSON.stringify({ v: 1, type: 'STEAL' }), /schema/],
    ['from equals to', JSON.stringify({ ...JSON.parse(encodeCommand(commands[0]!)), to_account_id: (commands[0] as { fromAccountId: string }).fromAccountId }), /differ/],
    ['lower-case currency', JSON.stringify({ ...JSON.parse(encodeCommand(commands[2]!)), currency: 'usd' }), /currency/],
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
});
