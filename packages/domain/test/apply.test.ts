// Proves, example by example, that applyBatch takes every branch of the transfer life cycle
// (same-partition, cross-partition saga, deposits, withdrawals, rejections, duplicates,
// forwarding, per-account order) to exactly the entries, balances and messages docs/design.md asks for.
import { InvariantViolation, UnprocessableCommand, applyBatch, assertBatchInvariants, canDebit, creditLegOf, legFactsMatch, legFactsOf, terminalEventOf, type BatchEffects, type LegFacts } from '../src';
import { externalAccountId, transitAccountId } from '../src/ids';
import type { AccountState, Command, ReversibleTransfer } from '../src/model';
import {
  ACCEPTED_AT,
  HASH,
  NOW,
  accountIn,
  carryForward,
  contextFor,
  creditLegCmd,
  depositCmd,
  fingerprint,
  refundLegCmd,
  systemAccount,
  transferCmd,
  userAccount,
  withdrawalCmd,
} from './fixtures';

const A = 'acct-a'; // alice's
const B = 'acct-b'; // bob's
const GHOST = 'acct-ghost'; // no such account

/** Alice captures all 40 of her hold h1 (on A) to B. */
const CAPTURE_OF_H1: Command = {
  type: 'CAPTURE',
  transferId: 'c1',
  holdId: 'h1',
  accountId: A,
  toAccountId: B,
  amount: 40n,
  currency: 'USD',
  principal: 'alice',
  admin: false,
  requestHash: HASH,
  acceptedAt: ACCEPTED_AT,
};

function noMoneyMoved(effects: BatchEffects): void {
  expect(effects.entries).toEqual([]);
  expect(effects.accounts).toEqual([]);
  expect(effects.createdAccountIds.size).toBe(0);
}

function expectRejected(effects: BatchEffects, transferId: string, reason: string): void {
  expect(effects.outcomes).toEqual([{ commandId: transferId, result: 'REJECTED', reason }]);
  noMoneyMoved(effects);
  expect(effects.newTransfers).toHaveLength(1);
  expect(effects.newTransfers[0]).toMatchObject({ id: transferId, status: 'REJECTED', reason, completedAt: NOW });
  expect(effects.outbox).toEqual([
    { kind: 'EVENT', key: transferId, derivedAs: 'TERMINAL_EVENT', event: expect.objectContaining({ type: 'TransferRejected', transferId, reason, occurredAt: NOW }) },
  ]);
  expect(effects.refusedLegs).toEqual([]);
  expect(effects.transferStatuses).toEqual([]);
}


/** What a TRANSFER's leg from `from` to `to` claims about its transfer (checked against the row by the write). */
function legFacts(from: string, to: string, amount: bigint, sourcePartition: number | null): LegFacts {
  return { kind: 'TRANSFER', fromAccountId: from, toAccountId: to, amount, currency: 'USD', holdId: null, reverses: null, sourcePartition };
}

describe('same-partition transfer', () => {
  test('completes: two entries, both balances, per-account seq and balance_after', () => {
    const a = userAccount(A, { owner: 'alice', balance: 100n, seq: 3n });
    const b = userAccount(B, { owner: 'bob', balance: 5n, seq: 7n });
    const command = transferCmd('t1', A, B, 30n, { description: 'rent' });

    const effects = applyBatch(contextFor(2, [a, b]), [command]);

    expect(effects.outcomes).toEqual([{ commandId: 't1', result: 'COMPLETED' }]);
    expect(effects.entries).toEqual([
      { accountId: A, seq: 4n, transferId: 't1', step: 'DEBIT', amount: -30n, balanceAfter: 70n, currency: 'USD' },
      { accountId: B, seq: 8n, transferId: 't1', step: 'CREDIT', amount: 30n, balanceAfter: 35n, currency: 'USD' },
    ]);
    expect(effects.accounts).toEqual([
      { ...a, balance: 70n, seq: 4n, rev: 4n },
      { ...b, balance: 35n, seq: 8n, rev: 8n },
    ]);
    expect(effects.createdAccountIds.size).toBe(0);
    expect(effects.newTransfers).toEqual([
      {
        id: 't1',
        kind: 'TRANSFER',
        status: 'COMPLETED',
        reason: null,
        fromAccountId: A,
        toAccountId: B,
        amount: 30n,
        currency: 'USD',
        principal: 'alice',
        requestHash: HASH,
        description: 'rent',
        sourcePartition: 2,
        createdAt: ACCEPTED_AT,
        completedAt: NOW,
        holdId: null,
        reverses: null,
      },
    ]);
    expect(effects.outbox).toEqual([
      {
        kind: 'EVENT',
        key: 't1',
        derivedAs: 'TERMINAL_EVENT',
        event: {
          type: 'TransferCompleted',
          transferId: 't1',
          kind: 'TRANSFER',
          fromAccountId: A,
          toAccountId: B,
          amount: 30n,
          currency: 'USD',
          reason: null,
          occurredAt: NOW,
        },
      },
    ]);
    expect(effects.refusedLegs).toEqual([]);
    expect(effects.transferStatuses).toEqual([]);
  });

  test('may spend the whole balance, to exactly zero', () => {
    const effects = applyBatch(contextFor(0, [userAccount(A, { balance: 100n }), userAccount(B, { owner: 'bob' })]), [
      transferCmd('t1', A, B, 100n),
    ]);
    expect(effects.outcomes[0]).toEqual({ commandId: 't1', result: 'COMPLETED' });
    expect(accountIn(effects, A)?.balance).toBe(0n);
    expect(accountIn(effects, B)?.balance).toBe(100n);
  });

  test('INSUFFICIENT_FUNDS one minor unit over the balance', () => {
    const effects = applyBatch(contextFor(0, [userAccount(A, { balance: 100n }), userAccount(B, { owner: 'bob' })]), [
      transferCmd('t1', A, B, 101n),
    ]);
    expectRejected(effects, 't1', 'INSUFFICIENT_FUNDS');
    expect(effects.newTransfers[0]).toMatchObject({ kind: 'TRANSFER', fromAccountId: A, toAccountId: B, amount: 101n, sourcePartition: 0 });
  });

  test('an admin may move money out of an account it does not own', () => {
    const effects = applyBatch(contextFor(0, [userAccount(A, { owner: 'alice', balance: 10n }), userAccount(B, { owner: 'bob' })]), [
      transferCmd('t1', A, B, 10n, { principal: 'ops', admin: true }),
    ]);
    expect(effects.outcomes[0]).toEqual({ commandId: 't1', result: 'COMPLETED' });
  });

  test('a transfer to oneself completes and leaves the balance unchanged, two entries in seq order', () => {
    const effects = applyBatch(contextFor(0, [userAccount(A, { balance: 10n, seq: 1n })]), [transferCmd('t1', A, A, 10n)]);
    expect(effects.outcomes[0]).toEqual({ commandId: 't1', result: 'COMPLETED' });
    expect(effects.entries.map((e) => [e.seq, e.amount, e.balanceAfter])).toEqual([
      [2n, -10n, 0n],
      [3n, 10n, 10n],
    ]);
    expect(accountIn(effects, A)).toMatchObject({ balance: 10n, seq: 3n });
  });
});

describe('overdraft limit', () => {
  const limited = userAccount(A, { balance: 10n, overdraftLimit: 50n });

  test.each([
    [60n, 'COMPLETED', -50n],
    [61n, 'REJECTED', 10n],
  ])('withdrawing %p from 10 with limit 50 is %s', (amount, result, balance) => {
    const effects = applyBatch(contextFor(0, [limited]), [withdrawalCmd('w1', A, amount)]);
    expect(effects.outcomes[0]?.result).toBe(result);
    expect(accountIn(effects, A)?.balance ?? limited.balance).toBe(balance);
  });

  test('once at -limit, not one more unit goes out, by transfer or withdrawal', () => {
    const effects = applyBatch(contextFor(0, [limited, userAccount(B, { owner: 'bob' })]), [
      transferCmd('t1', A, B, 60n),
      transferCmd('t2', A, B, 1n),
      withdrawalCmd('w3', A, 1n),
    ]);
    expect(effects.outcomes).toEqual([
      { commandId: 't1', result: 'COMPLETED' },
      { commandId: 't2', result: 'REJECTED', reason: 'INSUFFICIENT_FUNDS' },
      { commandId: 'w3', result: 'REJECTED', reason: 'INSUFFICIENT_FUNDS' },
    ]);
    expect(accountIn(effects, A)?.balance).toBe(-50n);
  });

  test('canDebit: limit boundary and unbounded system accounts', () => {
    expect(canDebit(limited, 60n)).toBe(true);
    expect(canDebit(limited, 61n)).toBe(false);
    expect(canDebit(userAccount(A, { balance: 0n }), 1n)).toBe(false);
    expect(canDebit(systemAccount('sys', 'TRANSIT', 'USD', -1_000n, 1n), 999_999_999_999_999n)).toBe(true);
  });
});

describe('source refusals', () => {
  test.each<[string, Command]>([
    ['transfer', transferCmd('x1', GHOST, B, 1n)],
    ['withdrawal', withdrawalCmd('x1', GHOST, 1n)],
    ['deposit', depositCmd('x1', GHOST, 1n)],
  ])('ACCOUNT_NOT_FOUND: %s names an account this partition owns but does not have', (_kind, command) => {
    expectRejected(applyBatch(contextFor(0, [userAccount(B, { owner: 'bob' })]), [command]), 'x1', 'ACCOUNT_NOT_FOUND');
  });

  test('ACCOUNT_NOT_FOUND: a system account is no source for a client', () => {
    const transit = systemAccount(transitAccountId(0, 'USD'), 'TRANSIT', 'USD', 500n, 1n);
    const effects = applyBatch(contextFor(0, [transit, userAccount(B, { owner: 'bob' })]), [
      transferCmd('x1', transit.id, B, 1n, { principal: 'system', admin: true }),
    ]);
    expectRejected(effects, 'x1', 'ACCOUNT_NOT_FOUND');
  });

  test.each<[string, Command]>([
    ['transfer', transferCmd('x1', A, B, 1n, { principal: 'mallory' })],
    ['withdrawal', withdrawalCmd('x1', A, 1n, { principal: 'mallory' })],
    ['deposit by the owner without admin', depositCmd('x1', A, 1n, { principal: 'alice', admin: false })],
  ])('FORBIDDEN: %s', (_kind, command) => {
    const effects = applyBatch(contextFor(0, [userAccount(A, { owner: 'alice', balance: 100n }), userAccount(B, { owner: 'bob' })]), [
      command,
    ]);
    expectRejected(effects, 'x1', 'FORBIDDEN');
  });

  test.each<[string, Command]>([
    ['transfer', transferCmd('x1', A, B, 1n)],
    ['withdrawal', withdrawalCmd('x1', A, 1n)],
  ])('ACCOUNT_CLOSED: %s from a closed account', (_kind, command) => {
    const effects = applyBatch(contextFor(0, [userAccount(A, { balance: 100n, status: 'CLOSED' }), userAccount(B, { owner: 'bob' })]), [
      command,
    ]);
    expectRejected(effects, 'x1', 'ACCOUNT_CLOSED');
  });

  test.each<[string, Command]>([
    ['transfer', transferCmd('x1', A, B, 1n, { currency: 'USD' })],
    ['withdrawal', withdrawalCmd('x1', A, 1n, { currency: 'USD' })],
  ])('CURRENCY_MISMATCH: %s in USD from a EUR account', (_kind, command) => {
    const effects = applyBatch(contextFor(0, [userAccount(A, { balance: 100n, currency: 'EUR' }), userAccount(B, { owner: 'bob', currency: 'USD' })]), [
      command,
    ]);
    expectRejected(effects, 'x1', 'CURRENCY_MISMATCH');
  });
});

describe('same-partition destination refusals', () => {
  const a = userAccount(A, { balance: 100n });

  test('DESTINATION_NOT_FOUND: no such account on this partition', () => {
    expectRejected(applyBatch(contextFor(1, [a]), [transferCmd('x1', A, GHOST, 1n)]), 'x1', 'DESTINATION_NOT_FOUND');
  });

  test('DESTINATION_NOT_FOUND: a system account cannot be paid into by a client', () => {
    const external = systemAccount(externalAccountId(1, 'USD'), 'EXTERNAL', 'USD', -500n, 4n);
    expectRejected(applyBatch(contextFor(1, [a, external]), [transferCmd('x1', A, external.id, 1n)]), 'x1', 'DESTINATION_NOT_FOUND');
  });

  test('CURRENCY_MISMATCH: destination holds another currency', () => {
    const effects = applyBatch(contextFor(1, [a, userAccount(B, { owner: 'bob', currency: 'EUR' })]), [transferCmd('x1', A, B, 1n)]);
    expectRejected(effects, 'x1', 'CURRENCY_MISMATCH');
  });

  test('ACCOUNT_CLOSED: destination is closed', () => {
    const effects = applyBatch(contextFor(1, [a, userAccount(B, { owner: 'bob', status: 'CLOSED' })]), [transferCmd('x1', A, B, 1n)]);
    expectRejected(effects, 'x1', 'ACCOUNT_CLOSED');
  });

  test('deposit: ACCOUNT_CLOSED and CURRENCY_MISMATCH on the credited account', () => {
    expectRejected(applyBatch(contextFor(1, [userAccount(A, { status: 'CLOSED' })]), [depositCmd('x1', A, 5n)]), 'x1', 'ACCOUNT_CLOSED');
    expectRejected(applyBatch(contextFor(1, [userAccount(A, { currency: 'GBP' })]), [depositCmd('x1', A, 5n)]), 'x1', 'CURRENCY_MISMATCH');
  });
});

describe("a row at a system account's id that this ledger did not make", () => {
  // Only the worker writes a row at a system account's id; one written there with the API's
  // credentials (a USER account: the API picks ids) was used as the external account, broke an
  // invariant and stopped the worker on every restart (an outside security review). Now the
  // command that needs it fails alone (isolated and dead-lettered), not the partition.
  test('a deposit against it is unprocessable; a genuine one is used', () => {
    const external = externalAccountId(1, 'USD');
    const squatter = userAccount(external, { owner: 'mallory' });
    expect(() => applyBatch(contextFor(1, [userAccount(A), squatter]), [depositCmd('d1', A, 5n)])).toThrow(UnprocessableCommand);
    const genuine = systemAccount(external, 'EXTERNAL', 'USD', -5n, 1n);
    expect(applyBatch(contextFor(1, [userAccount(A), genuine]), [depositCmd('d1', A, 5n)]).outcomes).toEqual([{ commandId: 'd1', result: 'COMPLETED' }]);
  });

  test('a transfer across partitions whose transit id is taken is unprocessable', () => {
    const transit = transitAccountId(1, 'USD');
    const squatter = { ...systemAccount(transit, 'EXTERNAL', 'USD', 0n, 0n) };
    const routes = { [A]: 1, [B]: 2 };
    expect(() => applyBatch(contextFor(1, [userAccount(A, { balance: 100n }), squatter], { routes }), [transferCmd('t1', A, B, 40n)])).toThrow(UnprocessableCommand);
  });
});

describe('cross-partition saga', () => {
  // A lives on partition 1, B on partition 2.
  const routes = { [A]: 1, [B]: 2 };
  const transit1 = transitAccountId(1, 'USD');
  const transit2 = transitAccountId(2, 'USD');

  test('source partition: debits A, credits its own transit account (created), PROCESSING, CREDIT_LEG to p(B)', () => {
    const a = userAccount(A, { balance: 100n, seq: 2n });
    const effects = applyBatch(contextFor(1, [a], { routes }), [transferCmd('t1', A, B, 40n)]);

    expect(effects.outcomes).toEqual([{ commandId: 't1', result: 'PROCESSING' }]);
    expect(effects.entries).toEqual([
      { accountId: A, seq: 3n, transferId: 't1', step: 'DEBIT', amount: -40n, balanceAfter: 60n, currency: 'USD' },
      { accountId: transit1, seq: 1n, transferId: 't1', step: 'DEBIT', amount: 40n, balanceAfter: 40n, currency: 'USD' },
    ]);
    expect([...effects.createdAccountIds]).toEqual([transit1]);
    expect(accountIn(effects, transit1)).toEqual({
      id: transit1,
      owner: 'system',
      kind: 'TRANSIT',
      currency: 'USD',
      status: 'OPEN',
      overdraftLimit: null,
      balance: 40n,
      seq: 1n,
      held: 0n,
      rev: 1n,
    });
    expect(accountIn(effects, A)).toEqual({ ...a, balance: 60n, seq: 3n, rev: 3n });
    expect(effects.newTransfers).toEqual([expect.objectContaining({ id: 't1', status: 'PROCESSING', reason: null, sourcePartition: 1, completedAt: null })]);
    expect(effects.outbox).toEqual([
      {
        kind: 'COMMAND',
        partition: 2,
        key: B,
        derivedAs: 'CREDIT_LEG',
        command: { type: 'CREDIT_LEG', transferId: 't1', kind: 'TRANSFER', reverses: null, holdId: null, fromAccountId: A, toAccountId: B, amount: 40n, currency: 'USD', sourcePartition: 1 },
      },
    ]);
    expect(effects.refusedLegs).toEqual([]);
    expect(effects.transferStatuses).toEqual([]);
  });

  test('source partition reuses an existing transit account and continues its seq', () => {
    const transit = systemAccount(transit1, 'TRANSIT', 'USD', 500n, 9n);
    const effects = applyBatch(contextFor(1, [userAccount(A, { balance: 100n }), transit], { routes }), [transferCmd('t1', A, B, 40n)]);
    expect(effects.createdAccountIds.size).toBe(0);
    expect(accountIn(effects, transit1)).toEqual({ ...transit, balance: 540n, seq: 10n, rev: 10n });
  });

  test('source partition refuses before any leg is sent (insufficient funds)', () => {
    const effects = applyBatch(contextFor(1, [userAccount(A, { balance: 39n })], { routes }), [transferCmd('t1', A, B, 40n)]);
    expectRejected(effects, 't1', 'INSUFFICIENT_FUNDS');
  });

  test("CREDIT_LEG at p(B): credits B, debits p(B) transit, transfer COMPLETED (the leg's only record), TransferCompleted event", () => {
    const b = userAccount(B, { owner: 'bob', balance: 1n, seq: 5n });
    const effects = applyBatch(contextFor(2, [b], { routes }), [creditLegCmd('t1', A, B, 40n, 1)]);

    expect(effects.outcomes).toEqual([{ commandId: 't1', result: 'LEG_APPLIED' }]);
    expect(effects.entries).toEqual([
      { accountId: transit2, seq: 1n, transferId: 't1', step: 'CREDIT', amount: -40n, balanceAfter: -40n, currency: 'USD' },
      { accountId: B, seq: 6n, transferId: 't1', step: 'CREDIT', amount: 40n, balanceAfter: 41n, currency: 'USD' },
    ]);
    expect([...effects.createdAccountIds]).toEqual([transit2]);
    // Recorded by the COMPLETED status it sets, not by a leg row.
    expect(effects.refusedLegs).toEqual([]);
    expect(effects.transferStatuses).toEqual([{ id: 't1', status: 'COMPLETED', reason: null, completedAt: NOW, leg: legFacts(A, B, 40n, 1) }]);
    expect(effects.newTransfers).toEqual([]);
    expect(effects.outbox).toEqual([
      {
        kind: 'EVENT',
        key: 't1',
        derivedAs: 'TERMINAL_EVENT',
        event: {
          type: 'TransferCompleted',
          transferId: 't1',
          kind: 'TRANSFER',
          fromAccountId: A,
          toAccountId: B,
          amount: 40n,
          currency: 'USD',
          reason: null,
          occurredAt: NOW,
        },
      },
    ]);
  });

  test("a capture's saga names its hold: its leg, its refund and both terminal events carry hold_id (docs/events.md)", () => {
    const hold = { id: 'h1', accountId: A, amount: 40n, capturedAmount: 0n, currency: 'USD', status: 'HELD' as const, expiresAt: '2026-11-22T00:00:00.000Z' };
    const a = userAccount(A, { balance: 100n, held: 40n, seq: 2n });
    const source = applyBatch({ ...contextFor(1, [a], { routes }), holds: new Map([['h1', hold]]) }, [CAPTURE_OF_H1]);
    const leg = source.outbox.find((o) => o.kind === 'COMMAND')?.command;
    expect(leg).toMatchObject({ type: 'CREDIT_LEG', kind: 'CAPTURE', holdId: 'h1' });
    if (leg?.type !== 'CREDIT_LEG') throw new Error('no credit leg');

    const credited = applyBatch(contextFor(2, [userAccount(B, { owner: 'bob' })], { routes }), [leg]);
    expect(credited.outbox.map((o) => o.kind === 'EVENT' && o.event)).toEqual([expect.objectContaining({ type: 'TransferCompleted', kind: 'CAPTURE', holdId: 'h1' })]);

    const refused = applyBatch(contextFor(2, [], { routes }), [leg]);
    const refund = refused.outbox.find((o) => o.kind === 'COMMAND')?.command;
    expect(refund).toMatchObject({ type: 'REFUND_LEG', kind: 'CAPTURE', holdId: 'h1' });
    if (refund?.type !== 'REFUND_LEG') throw new Error('no refund leg');
    const home = applyBatch(contextFor(1, carryForward(new Map([[A, a]]), source), { routes }), [refund]);
    expect(home.outbox.map((o) => o.kind === 'EVENT' && o.event)).toEqual([expect.objectContaining({ type: 'TransferRejected', kind: 'CAPTURE', holdId: 'h1' })]);
  });

  test.each([
    ['released by the expiry scan', 'EXPIRED' as const, '2026-11-20T00:00:00.000Z', 'HOLD_EXPIRED'],
    ['still held, past expires_at', 'HELD' as const, '2026-11-20T00:00:00.000Z', 'HOLD_EXPIRED'],
    ['voided', 'VOIDED' as const, '2026-11-22T00:00:00.000Z', 'HOLD_NOT_ACTIVE'],
    ['captured', 'CAPTURED' as const, '2026-11-22T00:00:00.000Z', 'HOLD_NOT_ACTIVE'],
  ])('a capture of a hold %s (%s, expiring %s) is REJECTED %s and moves no money', (_name, status, expiresAt, reason) => {
    const hold = { id: 'h1', accountId: A, amount: 40n, capturedAmount: 0n, currency: 'USD', status, expiresAt };
    const a = userAccount(A, { balance: 100n, held: status === 'HELD' ? 40n : 0n, seq: 2n });
    const effects = applyBatch({ ...contextFor(1, [a], { routes }), holds: new Map([['h1', hold]]) }, [CAPTURE_OF_H1]);
    expect(effects.outcomes).toEqual([{ commandId: 'c1', result: 'REJECTED', reason }]);
    expect(effects.entries).toEqual([]);
  });

  // Decided by when the API accepted it (an outside review: a capture acknowledged in time
  // and applied late, behind paused workers, was refused HOLD_EXPIRED). NOW is 05:00:00.
  test.each([
    ['accepted a second before expires_at, applied after it', '2026-11-21T04:59:58.000Z', '2026-11-21T04:59:59.000Z', 'CAPTURED', null],
    ['accepted at expires_at', '2026-11-21T04:59:59.000Z', '2026-11-21T04:59:59.000Z', 'EXPIRED', 'HOLD_EXPIRED'],
    ['accepted after expires_at, applied before it by a slow writer clock', '2026-11-21T05:00:01.000Z', '2026-11-21T05:00:00.500Z', null, 'HOLD_EXPIRED'],
  ])('a capture %s: hold %s, refused %s', (_name, acceptedAt, expiresAt, ended, reason) => {
    const hold = { id: 'h1', accountId: A, amount: 40n, capturedAmount: 0n, currency: 'USD', status: 'HELD' as const, expiresAt };
    const a = userAccount(A, { balance: 100n, held: 40n, seq: 2n });
    const effects = applyBatch({ ...contextFor(1, [a], { routes }), holds: new Map([['h1', hold]]) }, [{ ...CAPTURE_OF_H1, acceptedAt }]);
    expect(effects.holdEnds.map((h) => h.status)).toEqual(ended ? [ended] : []);
    if (reason) expect(effects.outcomes).toEqual([{ commandId: 'c1', result: 'REJECTED', reason }]);
    else expect(effects.outcomes).toEqual([{ commandId: 'c1', result: 'PROCESSING' }]);
  });

  test.each([
    ['before expires_at ends it VOIDED, however late it is applied', '2026-11-21T04:59:58.000Z', 'VOIDED'],
    ['at or after expires_at ends it EXPIRED', '2026-11-21T04:59:59.000Z', 'EXPIRED'],
  ])('a void accepted %s', (_name, acceptedAt, ended) => {
    const hold = { id: 'h1', accountId: A, amount: 40n, capturedAmount: 0n, currency: 'USD', status: 'HELD' as const, expiresAt: '2026-11-21T04:59:59.000Z' };
    const a = userAccount(A, { balance: 100n, held: 40n, seq: 2n });
    const effects = applyBatch({ ...contextFor(1, [a], { routes }), holds: new Map([['h1', hold]]) }, [
      { type: 'VOID_HOLD', holdId: 'h1', accountId: A, principal: 'alice', admin: false, acceptedAt },
    ]);
    expect(effects.holdEnds.map((h) => h.status)).toEqual([ended]);
  });

  test.each<[string, AccountState[], string]>([
    ['missing', [], 'DESTINATION_NOT_FOUND'],
    ['closed', [userAccount(B, { owner: 'bob', status: 'CLOSED' })], 'ACCOUNT_CLOSED'],
    ['in another currency', [userAccount(B, { owner: 'bob', currency: 'EUR' })], 'CURRENCY_MISMATCH'],
  ])('CREDIT_LEG to a destination that is %s: leg REJECTED, REFUND_LEG back to the source partition, no entries', (_what, accounts, reason) => {
    const effects = applyBatch(contextFor(2, accounts, { routes }), [creditLegCmd('t1', A, B, 40n, 1)]);

    expect(effects.outcomes).toEqual([{ commandId: 't1', result: 'LEG_REJECTED', reason }]);
    noMoneyMoved(effects);
    expect(effects.refusedLegs).toEqual([{ transferId: 't1', leg: 'CREDIT', partition: 2, reason, facts: legFacts(A, B, 40n, 1) }]);
    expect(effects.transferStatuses).toEqual([]);
    expect(effects.newTransfers).toEqual([]);
    expect(effects.outbox).toEqual([
      {
        kind: 'COMMAND',
        partition: 1,
        key: A,
        command: { type: 'REFUND_LEG', transferId: 't1', kind: 'TRANSFER', reverses: null, holdId: null, fromAccountId: A, toAccountId: B, amount: 40n, currency: 'USD', reason, sourcePartition: 2 },
      },
    ]);
  });

  test('REFUND_LEG at p(A): credits A back, debits transit, transfer REJECTED with the reason, TransferRejected event', () => {
    const a = userAccount(A, { balance: 60n, seq: 3n });
    const transit = systemAccount(transit1, 'TRANSIT', 'USD', 40n, 1n);
    const effects = applyBatch(contextFor(1, [a, transit], { routes }), [refundLegCmd('t1', A, B, 40n, 'DESTINATION_NOT_FOUND', 2)]);

    expect(effects.outcomes).toEqual([{ commandId: 't1', result: 'LEG_APPLIED' }]);
    expect(effects.entries).toEqual([
      { accountId: transit1, seq: 2n, transferId: 't1', step: 'REFUND', amount: -40n, balanceAfter: 0n, currency: 'USD' },
      { accountId: A, seq: 4n, transferId: 't1', step: 'REFUND', amount: 40n, balanceAfter: 100n, currency: 'USD' },
    ]);
    expect(effects.createdAccountIds.size).toBe(0);
    // Recorded by the REJECTED status it sets, not by a leg row.
    expect(effects.refusedLegs).toEqual([]);
    expect(effects.transferStatuses).toEqual([{ id: 't1', status: 'REJECTED', reason: 'DESTINATION_NOT_FOUND', completedAt: NOW, leg: legFacts(A, B, 40n, null) }]);
    expect(effects.outbox).toEqual([
      {
        kind: 'EVENT',
        key: 't1',
        derivedAs: 'TERMINAL_EVENT',
        event: {
          type: 'TransferRejected',
          transferId: 't1',
          kind: 'TRANSFER',
          fromAccountId: A,
          toAccountId: B,
          amount: 40n,
          currency: 'USD',
          reason: 'DESTINATION_NOT_FOUND',
          occurredAt: NOW,
        },
      },
    ]);
  });

  test('REFUND_LEG lands even on an account closed since the debit', () => {
    const a = userAccount(A, { balance: 0n, seq: 1n, status: 'CLOSED' });
    const effects = applyBatch(contextFor(1, [a, systemAccount(transit1, 'TRANSIT', 'USD', 40n, 1n)], { routes }), [
      refundLegCmd('t1', A, B, 40n, 'ACCOUNT_CLOSED', 2),
    ]);
    expect(effects.outcomes[0]).toEqual({ commandId: 't1', result: 'LEG_APPLIED' });
    expect(accountIn(effects, A)?.balance).toBe(40n);
  });

  test('REFUND_LEG naming an account that never existed, or a reversal whose original is unknown, can never apply: unprocessable (isolated), not a rejection', () => {
    // No worker builds such a leg (it comes from the transfer's row): it was written to the
    // topic by someone else, and must be dead-lettered, not stop the partition.
    expect(() => applyBatch(contextFor(1, [], { routes }), [refundLegCmd('t1', A, B, 40n, 'ACCOUNT_CLOSED', 2)])).toThrow(UnprocessableCommand);
    const a = userAccount(A, { balance: 60n, seq: 3n });
    const reversalRefund = { ...refundLegCmd('r1', A, B, 40n, 'ACCOUNT_CLOSED', 2), kind: 'REVERSAL' as const, reverses: 't-unknown' };
    expect(() => applyBatch(contextFor(1, [a], { routes }), [reversalRefund])).toThrow(UnprocessableCommand);
  });

  test("REFUND_LEG behind its account's close in one batch is unprocessable, never an InvariantViolation that stops the partition", () => {
    // Found by an outside review: the close applied (nothing in flight from the account, which
    // a genuine refund needs), then the forged refund landed on the account the batch had just
    // closed, and the batch's check ("closed with balance") stopped every owner of the partition in turn.
    const transit = systemAccount(transit1, 'TRANSIT', 'USD', 40n, 1n);
    const context = { ...contextFor(1, [userAccount(A, { balance: 0n, seq: 3n }), transit], { routes }), outgoingInFlight: new Set<string>() };
    const close: Command = { type: 'UPDATE_ACCOUNT', changeId: 'x1', accountId: A, status: 'CLOSED', overdraftLimit: null, principal: 'alice', admin: false, requestHash: HASH, acceptedAt: ACCEPTED_AT };
    expect(() => applyBatch(context, [close, refundLegCmd('t1', A, B, 5n, 'ACCOUNT_FROZEN', 2)])).toThrow(UnprocessableCommand);
    // Without the refund the close applies; on an account closed by an earlier batch the
    // refund is left to the write, which checks it against its transfer's row (LL003).
    expect(applyBatch(context, [close]).outcomes).toEqual([{ commandId: 'x1', result: 'ACCOUNT_UPDATED' }]);
    const closedBefore = { ...contextFor(1, [userAccount(A, { balance: 0n, seq: 3n, status: 'CLOSED' }), transit], { routes }), outgoingInFlight: new Set<string>() };
    expect(applyBatch(closedBefore, [refundLegCmd('t1', A, B, 5n, 'ACCOUNT_FROZEN', 2)]).outcomes).toEqual([{ commandId: 't1', result: 'LEG_APPLIED' }]);
  });

  test('REFUND_LEG in another currency than its account, or handing back more than its reversal added, is unprocessable, never an InvariantViolation that stops the partition', () => {
    // Found by an outside review: such a leg, written to the topic by someone else, made the
    // batch unbalanced (USD posted against EUR) or left a negative reversal total, and every
    // owner of the partition stopped on it in turn.
    const transit = systemAccount(transit1, 'TRANSIT', 'USD', 40n, 1n);
    const euros = userAccount(A, { balance: 60n, seq: 3n, currency: 'EUR' });
    expect(() => applyBatch(contextFor(1, [euros, transit], { routes }), [refundLegCmd('t1', A, B, 10n, 'ACCOUNT_FROZEN', 2)])).toThrow(UnprocessableCommand);

    const original = { id: 'o1', kind: 'TRANSFER' as const, status: 'COMPLETED' as const, fromAccountId: B, toAccountId: A, amount: 100n, currency: 'USD', reversedAmount: 30n };
    const context = { ...contextFor(1, [userAccount(A, { balance: 60n, seq: 3n }), transit], { routes }), reversible: new Map([[original.id, original]]) };
    const refundOf = (amount: bigint) => ({ ...refundLegCmd('r1', A, B, amount, 'ACCOUNT_CLOSED', 2), kind: 'REVERSAL' as const, reverses: original.id });
    expect(() => applyBatch(context, [refundOf(31n)])).toThrow(UnprocessableCommand);
    // What the reversal added comes back whole: the total returns to 0.
    const effects = applyBatch(context, [refundOf(30n)]);
    expect(effects.outcomes).toEqual([{ commandId: 'r1', result: 'LEG_APPLIED' }]);
    expect(effects.reversalTotals).toEqual([{ transferId: original.id, before: 30n, reversedAmount: 0n }]);
  });

  test('the whole saga across two partitions conserves money and empties the source transit on refund', () => {
    let p1 = new Map([[A, userAccount(A, { balance: 100n })]]);
    const p2 = new Map<string, AccountState>();
    const first = applyBatch(contextFor(1, p1, { routes }), [transferCmd('t1', A, B, 40n)]);
    p1 = carryForward(p1, first);
    const leg = first.outbox[0];
    if (leg?.kind !== 'COMMAND') throw new Error('expected a credit leg');
    const second = applyBatch(contextFor(leg.partition, p2, { routes }), [leg.command]);
    const refund = second.outbox[0];
    if (refund?.kind !== 'COMMAND') throw new Error('expected a refund leg');
    const third = applyBatch(contextFor(refund.partition, p1, { routes }), [refund.command]);
    p1 = carryForward(p1, third);
    expect(p1.get(A)?.balance).toBe(100n);
    expect(p1.get(transit1)?.balance).toBe(0n);
    expect(third.transferStatuses).toEqual([{ id: 't1', status: 'REJECTED', reason: 'DESTINATION_NOT_FOUND', completedAt: NOW, leg: legFacts(A, B, 40n, null) }]);
  });
});

describe('messages derived from a transfer row (the outbox stores the row, the sweeper rebuilds them)', () => {
  const row = {
    id: 't9',
    kind: 'TRANSFER' as const,
    status: 'PROCESSING' as const,
    reason: null,
    fromAccountId: A,
    toAccountId: B,
    amount: 7n,
    currency: 'USD',
    sourcePartition: 1,
    completedAt: null,
    holdId: null,
    reverses: null,
  };

  test('a PROCESSING transfer has a credit leg; a deposit or a row without both ends has none', () => {
    expect(creditLegOf(row)).toEqual({ type: 'CREDIT_LEG', transferId: 't9', kind: 'TRANSFER', reverses: null, holdId: null, fromAccountId: A, toAccountId: B, amount: 7n, currency: 'USD', sourcePartition: 1 });
    expect(() => creditLegOf({ ...row, kind: 'DEPOSIT' })).toThrow(InvariantViolation);
    expect(() => creditLegOf({ ...row, toAccountId: null })).toThrow(InvariantViolation);
  });

  test("a leg carries its transfer's facts when the write would take it: its own leg does, one naming another source or amount does not", () => {
    const leg = legFactsOf(creditLegOf(row));
    expect(legFactsMatch(leg, row)).toBe(true);
    expect(legFactsMatch({ ...leg, fromAccountId: A.toUpperCase() }, row)).toBe(true); // uuids compare as uuids
    expect(legFactsMatch({ ...leg, sourcePartition: 2 }, row)).toBe(false); // a restore's first-run leg after a bucket move
    expect(legFactsMatch({ ...leg, amount: 8n }, row)).toBe(false);
    expect(legFactsMatch({ ...leg, sourcePartition: null }, row)).toBe(true); // a refund's: its source is the refusing partition, not compared
    // A capture's leg from before legs named their hold stands for any hold of its transfer.
    expect(legFactsMatch({ ...leg, kind: 'CAPTURE', holdId: null }, { ...row, kind: 'CAPTURE', holdId: 'h1' })).toBe(true);
    expect(legFactsMatch({ ...leg, kind: 'CAPTURE', holdId: 'h2' }, { ...row, kind: 'CAPTURE', holdId: 'h1' })).toBe(false);
  });

  test('a finished transfer has its terminal event; a PROCESSING one has none', () => {
    expect(() => terminalEventOf(row)).toThrow(InvariantViolation);
    expect(terminalEventOf({ ...row, status: 'REJECTED', reason: 'ACCOUNT_CLOSED', completedAt: NOW, holdId: 'h9' })).toEqual({
      type: 'TransferRejected',
      transferId: 't9',
      kind: 'TRANSFER',
      fromAccountId: A,
      toAccountId: B,
      amount: 7n,
      currency: 'USD',
      reason: 'ACCOUNT_CLOSED',
      occurredAt: NOW,
      holdId: 'h9',
    });
  });
});

describe('deposits and withdrawals move money against externalAccountId(partition, currency)', () => {
  const external = externalAccountId(3, 'EUR');

  test('an admin deposit credits the account and debits the external account (created on first use)', () => {
    const a = userAccount(A, { currency: 'EUR', balance: 7n, seq: 1n });
    const effects = applyBatch(contextFor(3, [a]), [depositCmd('d1', A, 500n, { currency: 'EUR' })]);

    expect(effects.outcomes).toEqual([{ commandId: 'd1', result: 'COMPLETED' }]);
    expect(effects.entries).toEqual([
      { accountId: external, seq: 1n, transferId: 'd1', step: 'DEBIT', amount: -500n, balanceAfter: -500n, currency: 'EUR' },
      { accountId: A, seq: 2n, transferId: 'd1', step: 'CREDIT', amount: 500n, balanceAfter: 507n, currency: 'EUR' },
    ]);
    expect([...effects.createdAccountIds]).toEqual([external]);
    expect(accountIn(effects, external)).toMatchObject({ kind: 'EXTERNAL', owner: 'system', overdraftLimit: null, balance: -500n });
    expect(effects.newTransfers).toEqual([
      expect.objectContaining({ id: 'd1', kind: 'DEPOSIT', status: 'COMPLETED', fromAccountId: null, toAccountId: A, principal: 'ops', sourcePartition: 3 }),
    ]);
    expect(effects.outbox).toEqual([
      { kind: 'EVENT', key: 'd1', derivedAs: 'TERMINAL_EVENT', event: expect.objectContaining({ type: 'TransferCompleted', kind: 'DEPOSIT', fromAccountId: null, toAccountId: A }) },
    ]);
  });

  test('a withdrawal debits the account and credits the existing external account', () => {
    const a = userAccount(A, { currency: 'EUR', balance: 100n, seq: 4n });
    const ext = systemAccount(external, 'EXTERNAL', 'EUR', -1_000n, 12n);
    const effects = applyBatch(contextFor(3, [a, ext]), [withdrawalCmd('w1', A, 30n, { currency: 'EUR' })]);

    expect(effects.outcomes).toEqual([{ commandId: 'w1', result: 'COMPLETED' }]);
    expect(effects.entries).toEqual([
      { accountId: A, seq: 5n, transferId: 'w1', step: 'DEBIT', amount: -30n, balanceAfter: 70n, currency: 'EUR' },
      { accountId: external, seq: 13n, transferId: 'w1', step: 'CREDIT', amount: 30n, balanceAfter: -970n, currency: 'EUR' },
    ]);
    expect(effects.createdAccountIds.size).toBe(0);
    expect(effects.newTransfers).toEqual([
      expect.objectContaining({ id: 'w1', kind: 'WITHDRAWAL', status: 'COMPLETED', fromAccountId: A, toAccountId: null }),
    ]);
  });

  test('external accounts are per partition: the same currency on another partition is another account', () => {
    expect(externalAccountId(3, 'EUR')).not.toBe(externalAccountId(2, 'EUR'));
    const effects = applyBatch(contextFor(2, [userAccount(A, { currency: 'EUR' })]), [depositCmd('d1', A, 1n, { currency: 'EUR' })]);
    expect(effects.entries[0]?.accountId).toBe(externalAccountId(2, 'EUR'));
  });
});

describe('exactly once: duplicates have no effect', () => {
  const accounts = [userAccount(A, { balance: 100n }), userAccount(B, { owner: 'bob' })];

  test('a transfer already applied in an earlier batch is DUPLICATE and does nothing', () => {
    const effects = applyBatch(contextFor(0, accounts, { alreadyApplied: ['t1'] }), [transferCmd('t1', A, B, 10n)]);
    expect(effects.outcomes).toEqual([{ commandId: 't1', result: 'DUPLICATE' }]);
    noMoneyMoved(effects);
    expect(effects.newTransfers).toEqual([]);
    expect(effects.outbox).toEqual([]);
  });

  test('the same command twice in one batch applies once', () => {
    const command = transferCmd('t1', A, B, 10n);
    const effects = applyBatch(contextFor(0, accounts), [command, command]);
    expect(effects.outcomes).toEqual([
      { commandId: 't1', result: 'COMPLETED' },
      { commandId: 't1', result: 'DUPLICATE' },
    ]);
    expect(effects.entries).toHaveLength(2);
    expect(accountIn(effects, A)?.balance).toBe(90n);
    expect(effects.newTransfers).toHaveLength(1);
    expect(effects.outbox).toHaveLength(1);
  });

  test('a rejected command uses its id up: its retry in the same batch is DUPLICATE even once funds arrive', () => {
    const effects = applyBatch(contextFor(0, accounts), [transferCmd('t1', A, B, 150n), depositCmd('d1', A, 100n), transferCmd('t1', A, B, 150n)]);
    expect(effects.outcomes.map((o) => o.result)).toEqual(['REJECTED', 'COMPLETED', 'DUPLICATE']);
    expect(accountIn(effects, A)?.balance).toBe(200n);
  });

  test('legs dedupe on transferId:LEG, independently of the client command with the same id', () => {
    const b = [userAccount(B, { owner: 'bob' })];
    const routes = { [A]: 1 };
    const leg = creditLegCmd('t1', A, B, 10n, 1);
    expect(applyBatch(contextFor(0, b, { routes, alreadyApplied: ['t1:CREDIT'] }), [leg]).outcomes).toEqual([{ commandId: 't1', result: 'DUPLICATE' }]);
    expect(applyBatch(contextFor(0, b, { routes, alreadyApplied: ['t1'] }), [leg]).outcomes).toEqual([{ commandId: 't1', result: 'LEG_APPLIED' }]);
    const twice = applyBatch(contextFor(0, b, { routes }), [leg, leg]);
    expect(twice.outcomes.map((o) => o.result)).toEqual(['LEG_APPLIED', 'DUPLICATE']);
    expect(twice.entries).toHaveLength(2);

    const a = [userAccount(A, { balance: 0n }), systemAccount(transitAccountId(0, 'USD'), 'TRANSIT', 'USD', 10n, 1n)];
    const refund = refundLegCmd('t1', A, B, 10n, 'ACCOUNT_CLOSED', 1);
    expect(applyBatch(contextFor(0, a, { alreadyApplied: ['t1:REFUND'] }), [refund]).outcomes).toEqual([{ commandId: 't1', result: 'DUPLICATE' }]);
    expect(applyBatch(contextFor(0, a), [refund, refund]).outcomes.map((o) => o.result)).toEqual(['LEG_APPLIED', 'DUPLICATE']);
  });
});

describe('forwarding: a command whose subject account is routed elsewhere', () => {
  test.each<[string, Command, string]>([
    ['TRANSFER (subject: source)', transferCmd('f1', A, B, 10n), A],
    ['DEPOSIT', depositCmd('f1', A, 10n), A],
    ['WITHDRAWAL', withdrawalCmd('f1', A, 10n), A],
    ['CREDIT_LEG (subject: destination)', creditLegCmd('f1', B, A, 10n, 2), A],
    ['REFUND_LEG (subject: source)', refundLegCmd('f1', A, B, 10n, 'ACCOUNT_CLOSED', 2), A],
  ])('%s goes unchanged to the owner partition and nothing is written here', (_what, command, subject) => {
    // This partition still has a stale copy of A; it must not write it.
    const context = contextFor(0, [userAccount(A, { balance: 100n }), userAccount(B, { owner: 'bob', balance: 100n })], { routes: { [subject]: 3 } });
    const effects = applyBatch(context, [command]);
    expect(effects.outcomes).toEqual([{ commandId: 'f1', result: 'FORWARDED' }]);
    expect(effects.outbox).toEqual([{ kind: 'COMMAND', partition: 3, key: subject, command }]);
    noMoneyMoved(effects);
    expect(effects.newTransfers).toEqual([]);
    expect(effects.refusedLegs).toEqual([]);
    expect(effects.transferStatuses).toEqual([]);
  });

  test('a forwarded command is not marked seen here: the owner dedupes it', () => {
    const command = transferCmd('f1', A, B, 10n);
    const effects = applyBatch(contextFor(0, [], { routes: { [A]: 3 } }), [command, command]);
    expect(effects.outcomes.map((o) => o.result)).toEqual(['FORWARDED', 'FORWARDED']);
    expect(effects.outbox).toHaveLength(2);
  });

  test('a command already applied here is DUPLICATE, not forwarded, even if its bucket moved since', () => {
    const effects = applyBatch(contextFor(0, [], { routes: { [A]: 3 }, alreadyApplied: ['f1'] }), [transferCmd('f1', A, B, 10n)]);
    expect(effects.outcomes).toEqual([{ commandId: 'f1', result: 'DUPLICATE' }]);
    expect(effects.outbox).toEqual([]);
  });
});

describe('per-account order (docs/design.md invariant 5)', () => {
  const a = userAccount(A, { balance: 100n });
  const b = userAccount(B, { owner: 'bob' });
  const commands = [transferCmd('t1', A, B, 60n), transferCmd('t2', A, B, 60n), transferCmd('t3', A, B, 40n)];

  test('balance 100, transfers of 60, 60, 40 in one batch: COMPLETED, REJECTED(INSUFFICIENT_FUNDS), COMPLETED', () => {
    const effects = applyBatch(contextFor(0, [a, b]), commands);
    expect(effects.outcomes).toEqual([
      { commandId: 't1', result: 'COMPLETED' },
      { commandId: 't2', result: 'REJECTED', reason: 'INSUFFICIENT_FUNDS' },
      { commandId: 't3', result: 'COMPLETED' },
    ]);
    expect(effects.entries.filter((e) => e.accountId === A).map((e) => [e.seq, e.balanceAfter])).toEqual([
      [1n, 40n],
      [2n, 0n],
    ]);
    expect(accountIn(effects, A)).toMatchObject({ balance: 0n, seq: 2n });
    expect(accountIn(effects, B)).toMatchObject({ balance: 100n, seq: 2n });
  });

  test('the same three across three consecutive batches, state carried forward from effects.accounts', () => {
    let state: ReadonlyMap<string, AccountState> = new Map([
      [A, a],
      [B, b],
    ]);
    const outcomes = [];
    const seqs = [];
    for (const command of commands) {
      const effects = applyBatch(contextFor(0, state), [command]);
      outcomes.push(...effects.outcomes);
      seqs.push(...effects.entries.filter((e) => e.accountId === A).map((e) => e.seq));
      state = carryForward(state, effects);
    }
    expect(outcomes).toEqual([
      { commandId: 't1', result: 'COMPLETED' },
      { commandId: 't2', result: 'REJECTED', reason: 'INSUFFICIENT_FUNDS' },
      { commandId: 't3', result: 'COMPLETED' },
    ]);
    expect(seqs).toEqual([1n, 2n]);
    expect(state.get(A)).toMatchObject({ balance: 0n, seq: 2n });
    expect(state.get(B)).toMatchObject({ balance: 100n, seq: 2n });
  });
});

describe('purity', () => {
  test('inputs are not mutated: context.accounts, its states and the commands are unchanged', () => {
    const accounts = new Map<string, AccountState>([
      [A, Object.freeze(userAccount(A, { balance: 100n, seq: 1n }))],
      [B, Object.freeze(userAccount(B, { owner: 'bob', seq: 2n }))],
      [transitAccountId(0, 'USD'), Object.freeze(systemAccount(transitAccountId(0, 'USD'), 'TRANSIT', 'USD', 10n, 1n))],
    ]);
    const alreadyApplied = new Set(['old']);
    const commands: Command[] = [
      transferCmd('t1', A, B, 30n),
      transferCmd('t2', A, GHOST, 5n),
      depositCmd('d1', B, 7n),
      withdrawalCmd('w1', A, 1n),
      refundLegCmd('r1', A, B, 10n, 'ACCOUNT_CLOSED', 1),
      creditLegCmd('c1', 'far', B, 3n, 1),
      transferCmd('old', A, B, 1n),
    ].map((c) => Object.freeze(c));
    const before = fingerprint({ accounts, alreadyApplied, commands });

    const context = contextFor(0, accounts, { routes: { [GHOST]: 2, far: 1 }, alreadyApplied });
    const effects = applyBatch(context, commands);

    expect(effects.entries.length).toBeGreaterThan(0);
    expect(fingerprint({ accounts: context.accounts, alreadyApplied: context.alreadyApplied, commands })).toBe(before);
    expect(accounts.get(A)).toMatchObject({ balance: 100n, seq: 1n });
  });

  test('an empty batch has no effects', () => {
    expect(applyBatch(contextFor(0, [userAccount(A)]), [])).toEqual({
      entries: [],
      accounts: [],
      createdAccountIds: new Set(),
      newTransfers: [],
      transferStatuses: [],
      refusedLegs: [],
      newHolds: [],
      holdEnds: [],
      reversalTotals: [],
      accountChanges: [],
      outbox: [],
      outcomes: [],
    });
  });
});

describe('assertBatchInvariants refuses a broken batch before anything is written', () => {
  const a = userAccount(A, { balance: 100n, seq: 1n });
  const b = userAccount(B, { owner: 'bob', seq: 0n });
  const context = contextFor(0, [a, b]);
  const good = applyBatch(context, [transferCmd('t1', A, B, 30n)]);

  test('the real batch passes', () => {
    expect(() => assertBatchInvariants(context, good)).not.toThrow();
  });

  test.each<[string, (e: BatchEffects) => BatchEffects, RegExp]>([
    ['unbalanced', (e) => ({ ...e, entries: e.entries.map((x, i) => (i === 1 ? { ...x, amount: 29n } : x)) }), /unbalanced in USD by -1/],
    ['seq gap', (e) => ({ ...e, entries: e.entries.map((x, i) => (i === 0 ? { ...x, seq: 3n } : x)) }), /seq 3 does not follow 1/],
    ['zero entry', (e) => ({ ...e, entries: [...e.entries, { ...e.entries[0]!, amount: 0n, seq: 3n }] }), /zero entry/],
    [
      'amount above AMOUNT_MAX',
      (e) => ({
        ...e,
        entries: [
          { ...e.entries[0]!, amount: -1_000_000_000_000_000n },
          { ...e.entries[1]!, amount: 1_000_000_000_000_000n },
        ],
      }),
      /exceeds AMOUNT_MAX/,
    ],
    ['balance not equal to entries', (e) => ({ ...e, accounts: e.accounts.map((x) => (x.id === B ? { ...x, balance: 31n } : x)) }), /does not equal its entries/],
    ['below overdraft limit', (e) => ({ ...e, accounts: e.accounts.map((x) => (x.id === A ? { ...x, balance: -1n } : x)) }), /below its limit/],
  ])('%s', (_what, breakIt, message) => {
    expect(() => assertBatchInvariants(context, breakIt(good))).toThrow(message);
  });

  test('applyBatch checks its own result: a state no writer should hold ends in InvariantViolation, not in effects', () => {
    // An account already below its limit (a bug, or a row changed behind the writer's back):
    // a deposit is applied as usual, and the result it would write is still below the limit.
    // The worker takes the throw for a bug and stops the partition rather than write it.
    const overdrawn = userAccount(A, { balance: -10n, seq: 1n });
    expect(() => applyBatch(contextFor(0, [overdrawn]), [depositCmd('d1', A, 5n)])).toThrow(InvariantViolation);
    expect(() => applyBatch(contextFor(0, [overdrawn]), [depositCmd('d1', A, 5n)])).toThrow(/below its limit/);
  });
});

describe('a reversal that names no amount takes what is left when its writer applies it', () => {
  // Alice paid Bob 300 (T1, same partition); Bob reverses 100 and then, before that reversal
  // is applied, "the rest": the API read 300 left (nothing applied yet), the writer counts the
  // 100 ahead of it. Without `rest` the second would ask for 300 and be refused.
  const original = { id: 't1', kind: 'TRANSFER' as const, status: 'COMPLETED' as const, fromAccountId: A, toAccountId: B, amount: 300n, currency: 'USD', reversedAmount: 0n };
  const reversal = (transferId: string, amount: bigint, rest: boolean): Command => ({
    type: 'REVERSAL',
    transferId,
    reverses: original.id,
    fromAccountId: B,
    amount,
    currency: 'USD',
    description: null,
    ...(rest ? { rest: true as const } : {}),
    principal: 'bob',
    admin: false,
    requestHash: HASH,
    acceptedAt: ACCEPTED_AT,
  });
  const context = () => ({
    ...contextFor(0, [userAccount(A, { balance: 0n }), userAccount(B, { owner: 'bob', balance: 300n, seq: 1n })]),
    reversible: new Map([[original.id, original]]),
  });

  test('the rest after a reversal still in flight is what that one left', () => {
    const effects = applyBatch(context(), [reversal('r1', 100n, false), reversal('r2', 300n, true)]);
    expect(effects.outcomes).toEqual([
      { commandId: 'r1', result: 'COMPLETED' },
      { commandId: 'r2', result: 'COMPLETED' },
    ]);
    expect(effects.newTransfers.map((t) => [t.id, t.status, t.amount])).toEqual([
      ['r1', 'COMPLETED', 100n],
      ['r2', 'COMPLETED', 200n],
    ]);
    expect(effects.accounts.find((a) => a.id === B)?.balance).toBe(0n);
  });

  test('with nothing left, the rest is the whole original, refused', () => {
    const effects = applyBatch(context(), [reversal('r1', 300n, false), reversal('r2', 300n, true)]);
    expect(effects.outcomes[1]).toEqual({ commandId: 'r2', result: 'REJECTED', reason: 'REVERSAL_EXCEEDS_ORIGINAL' });
    expect(effects.newTransfers[1]).toMatchObject({ id: 'r2', status: 'REJECTED', amount: 300n });
  });

  test('an amount named by the client is taken as named', () => {
    const effects = applyBatch(context(), [reversal('r1', 100n, false), reversal('r2', 300n, false)]);
    expect(effects.outcomes[1]).toEqual({ commandId: 'r2', result: 'REJECTED', reason: 'REVERSAL_EXCEEDS_ORIGINAL' });
  });
});

describe('an account with money out cannot close: a saga in flight or an active hold is ACCOUNT_NOT_EMPTY', () => {
  const closeA = (changeId: string): Command => ({
    type: 'UPDATE_ACCOUNT',
    changeId,
    accountId: A,
    status: 'CLOSED',
    overdraftLimit: null,
    principal: 'alice',
    admin: false,
    requestHash: HASH,
    acceptedAt: ACCEPTED_AT,
  });
  const refusedClose = (changeId: string) => ({ commandId: changeId, result: 'ACCOUNT_UPDATE_REJECTED', reason: 'ACCOUNT_NOT_EMPTY' });

  // A refund of a saga still in flight comes home to its source, closed or not (REFUND_LEG
  // lands even on an account closed since): a close before it would leave a CLOSED account
  // holding money.
  test('a saga this batch sent from the account: the close after it is ACCOUNT_NOT_EMPTY', () => {
    const context = contextFor(0, [userAccount(A, { balance: 30n, seq: 1n }), userAccount(B, { owner: 'bob' })], { routes: { [B]: 1 } });
    const effects = applyBatch(context, [transferCmd('t1', A, B, 30n), closeA('x1')]);
    expect(effects.outcomes).toEqual([{ commandId: 't1', result: 'PROCESSING' }, refusedClose('x1')]);
    expect(accountIn(effects, A)).toMatchObject({ balance: 0n, status: 'OPEN' });
    expect(effects.accountChanges).toEqual([expect.objectContaining({ id: 'x1', outcome: 'REJECTED', reason: 'ACCOUNT_NOT_EMPTY' })]);
  });

  test('a saga of an earlier batch still PROCESSING (outgoingInFlight): ACCOUNT_NOT_EMPTY; none, and the same close applies', () => {
    const accounts = [userAccount(A, { balance: 0n, seq: 1n })];
    const inFlight = applyBatch({ ...contextFor(0, accounts), outgoingInFlight: new Set([A]) }, [closeA('x1')]);
    expect(inFlight.outcomes).toEqual([refusedClose('x1')]);
    expect(inFlight.accounts).toEqual([]);
    const settled = applyBatch({ ...contextFor(0, accounts), outgoingInFlight: new Set() }, [closeA('x1')]);
    expect(settled.outcomes).toEqual([{ commandId: 'x1', result: 'ACCOUNT_UPDATED' }]);
    expect(accountIn(settled, A)?.status).toBe('CLOSED');
  });

  test('an active hold at balance 0 (inside the overdraft limit): ACCOUNT_NOT_EMPTY; once it is gone the close applies', () => {
    // With a limit of 0 a hold needs a positive balance, so only an overdraft shows the hold alone.
    const held = applyBatch(contextFor(0, [userAccount(A, { balance: 0n, overdraftLimit: 50n, held: 20n, seq: 1n })]), [closeA('x1')]);
    expect(held.outcomes).toEqual([refusedClose('x1')]);
    expect(held.accounts).toEqual([]);
    const free = applyBatch(contextFor(0, [userAccount(A, { balance: 0n, overdraftLimit: 50n, held: 0n, seq: 1n })]), [closeA('x1')]);
    expect(free.outcomes).toEqual([{ commandId: 'x1', result: 'ACCOUNT_UPDATED' }]);
  });

  // A freeze is an admin's decision (an investigation, a court order): its owner closing the
  // account would take it out of the admin's hands (a closed account refuses every credit, a
  // refund or reversal the investigation sends it included), so only an admin closes a frozen
  // account (an outside payments review).
  test("a FROZEN account's owner cannot close it (FORBIDDEN); an admin can", () => {
    const frozen = [userAccount(A, { balance: 0n, seq: 1n, status: 'FROZEN' })];
    const byOwner = applyBatch(contextFor(0, frozen), [closeA('x1')]);
    expect(byOwner.outcomes).toEqual([{ commandId: 'x1', result: 'ACCOUNT_UPDATE_REJECTED', reason: 'FORBIDDEN' }]);
    expect(byOwner.accounts).toEqual([]);
    const closeByAdmin: Command = { type: 'UPDATE_ACCOUNT', changeId: 'x2', accountId: A, status: 'CLOSED', overdraftLimit: null, principal: 'ops', admin: true, requestHash: HASH, acceptedAt: ACCEPTED_AT };
    const byAdmin = applyBatch(contextFor(0, frozen), [closeByAdmin]);
    expect(byAdmin.outcomes).toEqual([{ commandId: 'x2', result: 'ACCOUNT_UPDATED' }]);
    expect(accountIn(byAdmin, A)?.status).toBe('CLOSED');
  });
});

describe('only the owner (or an operator) captures or voids a hold or reverses a transfer, and an expiry waits for its time', () => {
  // The API checks the owner too, but only to answer early: the worker's check is the one a
  // command written straight to Kafka meets (docs/design.md, invariant 12).
  const hold = { id: 'h1', accountId: A, amount: 40n, capturedAmount: 0n, currency: 'USD', status: 'HELD' as const, expiresAt: '2026-11-22T00:00:00.000Z' };
  const withHold = (now = NOW) => ({
    ...contextFor(0, [userAccount(A, { balance: 100n, held: 40n, seq: 1n }), userAccount(B, { owner: 'bob', seq: 1n })], { now }),
    holds: new Map([[hold.id, hold]]),
  });

  test("a capture by someone who does not own the held account is FORBIDDEN and the hold stays HELD; the owner's completes", () => {
    const stranger = applyBatch(withHold(), [{ ...CAPTURE_OF_H1, principal: 'mallory' } as Command]);
    expect(stranger.outcomes).toEqual([{ commandId: 'c1', result: 'REJECTED', reason: 'FORBIDDEN' }]);
    expect(stranger.holdEnds).toEqual([]);
    noMoneyMoved(stranger);
    const owner = applyBatch(withHold(), [CAPTURE_OF_H1]);
    expect(owner.outcomes).toEqual([{ commandId: 'c1', result: 'COMPLETED' }]);
    expect(accountIn(owner, A)).toMatchObject({ balance: 60n, held: 0n });
  });

  test("a void by someone who does not own the held account changes nothing; the owner's ends the hold", () => {
    const voidBy = (principal: string): Command => ({ type: 'VOID_HOLD', holdId: 'h1', accountId: A, principal, admin: false, acceptedAt: ACCEPTED_AT });
    const stranger = applyBatch(withHold(), [voidBy('mallory')]);
    expect(stranger.outcomes).toEqual([{ commandId: 'h1', result: 'NO_CHANGE' }]);
    expect(stranger.holdEnds).toEqual([]);
    expect(stranger.accounts).toEqual([]);
    const owner = applyBatch(withHold(), [voidBy('alice')]);
    expect(owner.outcomes).toEqual([{ commandId: 'h1', result: 'HOLD_ENDED' }]);
    expect(owner.holdEnds).toEqual([expect.objectContaining({ id: 'h1', status: 'VOIDED' })]);
    expect(accountIn(owner, A)?.held).toBe(0n);
  });

  test('an expiry before expires_at by the writer\'s clock changes nothing; at it, the hold is EXPIRED', () => {
    const expire: Command = { type: 'EXPIRE_HOLD', holdId: 'h1', accountId: A };
    const early = applyBatch(withHold(), [expire]);
    expect(early.outcomes).toEqual([{ commandId: 'h1', result: 'NO_CHANGE' }]);
    expect(early.holdEnds).toEqual([]);
    expect(early.accounts).toEqual([]);
    const due = applyBatch(withHold(hold.expiresAt), [expire]);
    expect(due.outcomes).toEqual([{ commandId: 'h1', result: 'HOLD_ENDED' }]);
    expect(due.holdEnds).toEqual([expect.objectContaining({ id: 'h1', status: 'EXPIRED' })]);
  });

  test("a reversal asked by someone who does not own the original's destination is FORBIDDEN; its owner's completes", () => {
    const original = { id: 't1', kind: 'TRANSFER' as const, status: 'COMPLETED' as const, fromAccountId: A, toAccountId: B, amount: 300n, currency: 'USD', reversedAmount: 0n };
    const context = { ...contextFor(0, [userAccount(A, { seq: 1n }), userAccount(B, { owner: 'bob', balance: 300n, seq: 1n })]), reversible: new Map([[original.id, original]]) };
    const reversalBy = (principal: string): Command => ({
      type: 'REVERSAL',
      transferId: 'r1',
      reverses: original.id,
      fromAccountId: B,
      amount: 100n,
      currency: 'USD',
      description: null,
      principal,
      admin: false,
      requestHash: HASH,
      acceptedAt: ACCEPTED_AT,
    });
    const stranger = applyBatch(context, [reversalBy('mallory')]);
    expectRejected(stranger, 'r1', 'FORBIDDEN');
    expect(stranger.reversalTotals).toEqual([]);
    const owner = applyBatch(context, [reversalBy('bob')]);
    expect(owner.outcomes).toEqual([{ commandId: 'r1', result: 'COMPLETED' }]);
    expect(owner.reversalTotals).toEqual([{ transferId: 't1', before: 0n, reversedAmount: 100n }]);
  });
});

describe("a reversal's writer checks the original itself (the API's checks only answer early)", () => {
  // Alice paid Bob 300 (t1, same partition); Bob asks for 100 back.
  const original = { id: 't1', kind: 'TRANSFER' as const, status: 'COMPLETED' as const, fromAccountId: A, toAccountId: B, amount: 300n, currency: 'USD', reversedAmount: 0n };
  const accounts = (a = userAccount(A, { seq: 1n })) => [a, userAccount(B, { owner: 'bob', balance: 300n, seq: 1n }), userAccount(GHOST, { owner: 'bob', balance: 300n, seq: 1n })];
  const reversal = (changes: Partial<{ fromAccountId: string; currency: string }> = {}): Command => ({
    type: 'REVERSAL',
    transferId: 'r1',
    reverses: original.id,
    fromAccountId: B,
    amount: 100n,
    currency: 'USD',
    description: null,
    principal: 'bob',
    admin: false,
    requestHash: HASH,
    acceptedAt: ACCEPTED_AT,
    ...changes,
  });
  /** `known`: the original as the writer reads it (a row no client could make included). */
  const reversing = (known: object, command = reversal(), a?: AccountState) =>
    applyBatch({ ...contextFor(0, accounts(a)), reversible: new Map([[original.id, known as ReversibleTransfer]]) }, [command]);

  test('the original as it is: COMPLETED, of a reversible kind, paid to the payer, with a source: the reversal completes', () => {
    const effects = reversing(original);
    expect(effects.outcomes).toEqual([{ commandId: 'r1', result: 'COMPLETED' }]);
    expect(effects.reversalTotals).toEqual([{ transferId: 't1', before: 0n, reversedAmount: 100n }]);
  });

  test.each([
    ['still PROCESSING', { ...original, status: 'PROCESSING' }],
    ['REJECTED', { ...original, status: 'REJECTED' }],
    ['a WITHDRAWAL (its money left the ledger)', { ...original, kind: 'WITHDRAWAL', toAccountId: B }],
    ['a transfer row without a source account', { ...original, fromAccountId: null }],
  ])('an original %s is TRANSFER_NOT_REVERSIBLE, and nothing is reserved', (_what, known) => {
    const effects = reversing(known);
    expectRejected(effects, 'r1', 'TRANSFER_NOT_REVERSIBLE');
    expect(effects.reversalTotals).toEqual([]);
  });

  test('a payer that is not the original destination is TRANSFER_NOT_REVERSIBLE, even its owner', () => {
    // GHOST is bob's too, and funded: only the account the original paid may pay it back.
    const effects = reversing(original, reversal({ fromAccountId: GHOST }));
    expectRejected(effects, 'r1', 'TRANSFER_NOT_REVERSIBLE');
    expect(effects.reversalTotals).toEqual([]);
  });

  test.each([
    ['the reversal in EUR', original, reversal({ currency: 'EUR' })],
    ['the original in EUR (its accounts in USD: a row no ledger wrote)', { ...original, currency: 'EUR' }, reversal()],
  ])("a reversal in another currency than the original's is CURRENCY_MISMATCH: %s", (_what, known, command) => {
    const effects = reversing(known, command);
    expectRejected(effects, 'r1', 'CURRENCY_MISMATCH');
    expect(effects.reversalTotals).toEqual([]);
  });

  test("refused on the spot (the original's source closed, same partition), it reserves nothing of the original", () => {
    const effects = reversing(original, reversal(), userAccount(A, { seq: 1n, status: 'CLOSED' }));
    expectRejected(effects, 'r1', 'ACCOUNT_CLOSED');
    expect(effects.reversalTotals).toEqual([]);
  });
});

describe("a capture or a void is checked against its hold's own facts (the API builds them from the hold; a command on Kafka may not)", () => {
  const hold = { id: 'h1', accountId: A, amount: 40n, capturedAmount: 0n, currency: 'USD', status: 'HELD' as const, expiresAt: '2026-11-22T00:00:00.000Z' };
  const context = (a = userAccount(A, { balance: 100n, held: 40n, seq: 1n })) => ({
    ...contextFor(0, [a, userAccount(B, { owner: 'bob', seq: 1n }), userAccount(GHOST, { balance: 100n, seq: 1n })]),
    holds: new Map([[hold.id, hold]]),
  });

  test.each([
    // Alice's other account: routed by it, the capture would write A's balance from another partition.
    ['naming another account than the hold\'s', { accountId: GHOST }, 'HOLD_NOT_ACTIVE'],
    ['of more than the hold', { amount: 41n }, 'CAPTURE_EXCEEDS_HOLD'],
  ])('a capture %s is REJECTED and the hold stays HELD', (_what, changes, reason) => {
    const effects = applyBatch(context(), [{ ...CAPTURE_OF_H1, ...changes } as Command]);
    expectRejected(effects, 'c1', reason);
    expect(effects.holdEnds).toEqual([]);
  });

  test("a capture in another currency than the hold, to an account in that currency, is CURRENCY_MISMATCH, not an unbalanced batch", () => {
    const euros = { ...context(), accounts: new Map([...context().accounts, [B, userAccount(B, { owner: 'bob', currency: 'EUR', seq: 1n })]]) };
    const effects = applyBatch(euros, [{ ...CAPTURE_OF_H1, currency: 'EUR' } as Command]);
    expectRejected(effects, 'c1', 'CURRENCY_MISMATCH');
    expect(effects.holdEnds).toEqual([]);
  });

  test.each([
    ['FROZEN', 'ACCOUNT_FROZEN'],
    ['CLOSED', 'ACCOUNT_CLOSED'],
  ] as const)('a capture from a %s account is %s and the hold stays HELD', (status, reason) => {
    const effects = applyBatch(context(userAccount(A, { balance: 100n, held: 40n, seq: 1n, status })), [CAPTURE_OF_H1]);
    expectRejected(effects, 'c1', reason);
    expect(effects.holdEnds).toEqual([]);
  });

  test("a void naming another account than the hold's changes nothing", () => {
    const effects = applyBatch(context(), [{ type: 'VOID_HOLD', holdId: 'h1', accountId: GHOST, principal: 'alice', admin: false, acceptedAt: ACCEPTED_AT }]);
    expect(effects.outcomes).toEqual([{ commandId: 'h1', result: 'NO_CHANGE' }]);
    expect([effects.holdEnds, effects.accounts]).toEqual([[], []]);
  });
});
