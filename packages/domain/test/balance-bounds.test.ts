// Proves that no command can push a balance out of PostgreSQL's bigint range: a command whose
// effect would cross it is REJECTED with BALANCE_LIMIT_EXCEEDED as a normal outcome (nothing
// posted, the next command applies), that a refund may use the reserve above USER_BALANCE_MAX,
// and that the batch assertion refuses any effect outside the range.
import fc from 'fast-check';
import { applyBatch, assertBatchInvariants, isolateUnprocessable, InvariantViolation } from '../src';
import { externalAccountId, transitAccountId } from '../src/ids';
import { AMOUNT_MAX, BALANCE_MAX, BALANCE_MIN, USER_BALANCE_MAX } from '../src/money';
import { contextFor, creditLegCmd, depositCmd, refundLegCmd, systemAccount, transferCmd, userAccount, withdrawalCmd, accountIn } from './fixtures';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const T1 = '00000000-0000-4000-8000-000000000001';
const T2 = '00000000-0000-4000-8000-000000000002';
const P = 0;

describe('balance bounds', () => {
  test('a deposit that would take a USER account past USER_BALANCE_MAX is REJECTED, and the next one applies', () => {
    const near = USER_BALANCE_MAX - 10n;
    const context = contextFor(P, [userAccount(A, { balance: near, seq: 3n })]);
    const effects = applyBatch(context, [depositCmd(T1, A, 11n), depositCmd(T2, A, 10n)]);
    expect(effects.outcomes).toEqual([
      { commandId: T1, result: 'REJECTED', reason: 'BALANCE_LIMIT_EXCEEDED' },
      { commandId: T2, result: 'COMPLETED' },
    ]);
    expect(accountIn(effects, A)!.balance).toBe(USER_BALANCE_MAX);
    expect(effects.entries.filter((e) => e.transferId === T1)).toEqual([]);
  });

  test("a deposit that would take the partition's external account below BALANCE_MIN is REJECTED", () => {
    const external = systemAccount(externalAccountId(P, 'USD'), 'EXTERNAL', 'USD', BALANCE_MIN + 5n, 9n);
    const context = contextFor(P, [userAccount(A), external]);
    const effects = applyBatch(context, [depositCmd(T1, A, 6n), depositCmd(T2, A, 5n)]);
    expect(effects.outcomes.map((o) => ('reason' in o ? o.reason : o.result))).toEqual(['BALANCE_LIMIT_EXCEEDED', 'COMPLETED']);
    expect(accountIn(effects, external.id)!.balance).toBe(BALANCE_MIN);
  });

  test('a withdrawal into a full external account, a same-partition transfer to a full account and a transfer into a full transit account are REJECTED', () => {
    const external = systemAccount(externalAccountId(P, 'USD'), 'EXTERNAL', 'USD', BALANCE_MAX - 1n, 1n);
    const transit = systemAccount(transitAccountId(P, 'USD'), 'TRANSIT', 'USD', BALANCE_MAX - 1n, 1n);
    const rich = userAccount(B, { owner: 'bob', balance: USER_BALANCE_MAX - 1n, seq: 1n });
    const context = contextFor(P, [userAccount(A, { balance: 100n, seq: 1n }), rich, external, transit], { routes: { '00000000-0000-4000-8000-0000000000cc': 1 } });
    const effects = applyBatch(context, [
      withdrawalCmd(T1, A, 2n),
      transferCmd(T2, A, B, 2n),
      transferCmd('00000000-0000-4000-8000-000000000003', A, '00000000-0000-4000-8000-0000000000cc', 2n),
    ]);
    expect(effects.outcomes.map((o) => ('reason' in o ? o.reason : o.result))).toEqual([
      'BALANCE_LIMIT_EXCEEDED',
      'BALANCE_LIMIT_EXCEEDED',
      'BALANCE_LIMIT_EXCEEDED',
    ]);
    expect(effects.entries).toEqual([]);
  });

  test('a credit leg to a full account is refused and the money sent home; a refund may use the reserve above USER_BALANCE_MAX', () => {
    const full = userAccount(B, { owner: 'bob', balance: USER_BALANCE_MAX, seq: 1n });
    const transit = systemAccount(transitAccountId(P, 'USD'), 'TRANSIT', 'USD', 50n, 1n);
    const leg = applyBatch(contextFor(P, [full, transit]), [creditLegCmd(T1, A, B, 1n, 1)]);
    expect(leg.outcomes).toEqual([{ commandId: T1, result: 'LEG_REJECTED', reason: 'BALANCE_LIMIT_EXCEEDED' }]);
    expect(leg.outbox.some((o) => o.kind === 'COMMAND' && o.command.type === 'REFUND_LEG')).toBe(true);

    const refund = applyBatch(contextFor(P, [userAccount(A, { balance: USER_BALANCE_MAX, seq: 2n }), transit]), [refundLegCmd(T2, A, B, 7n, 'BALANCE_LIMIT_EXCEEDED', 1)]);
    expect(refund.outcomes).toEqual([{ commandId: T2, result: 'LEG_APPLIED' }]);
    expect(accountIn(refund, A)!.balance).toBe(USER_BALANCE_MAX + 7n);
  });

  test('a refund that not even the reserve holds stays in transit (leg REJECTED), it never writes past bigint', () => {
    const transit = systemAccount(transitAccountId(P, 'USD'), 'TRANSIT', 'USD', 50n, 1n);
    const effects = applyBatch(contextFor(P, [userAccount(A, { balance: BALANCE_MAX - 3n, seq: 2n }), transit]), [refundLegCmd(T2, A, B, 7n, 'ACCOUNT_CLOSED', 1)]);
    expect(effects.outcomes).toEqual([{ commandId: T2, result: 'LEG_REJECTED', reason: 'BALANCE_LIMIT_EXCEEDED' }]);
    expect(effects.entries).toEqual([]);
    expect(effects.transferStatuses).toEqual([]);
  });

  test('a hold that would take the held total past bigint is REJECTED BALANCE_LIMIT_EXCEEDED, and the next one applies (an outside review)', () => {
    // Above USER_BALANCE_MAX only through refunds, with an admin's overdraft limit: the hold
    // passes the funds check, and `held` would leave Postgres's bigint.
    const account = userAccount(A, { balance: BALANCE_MAX - 10n, overdraftLimit: AMOUNT_MAX, held: BALANCE_MAX - 5n, seq: 4n });
    const now = new Date().toISOString();
    const hold = (holdId: string, amount: bigint) =>
      ({ type: 'HOLD', holdId, accountId: A, amount, currency: 'USD', principal: 'alice', admin: false, requestHash: 'h', acceptedAt: now, expiresAt: '2099-01-01T00:00:00.000Z', description: null }) as const;
    const effects = applyBatch(contextFor(P, [account]), [hold(T1, AMOUNT_MAX - 10n), hold(T2, 5n)]);
    expect(effects.outcomes).toEqual([
      { commandId: T1, result: 'REJECTED', reason: 'BALANCE_LIMIT_EXCEEDED' },
      { commandId: T2, result: 'HELD' },
    ]);
    expect(accountIn(effects, A)!.held).toBe(BALANCE_MAX);
    expect(() => assertBatchInvariants(contextFor(P, [account]), effects)).not.toThrow();
  });

  test('the batch assertion refuses an effect outside the range (the guard behind the outcome)', () => {
    const context = contextFor(P, [userAccount(A, { balance: BALANCE_MAX, seq: 1n })]);
    const effects = applyBatch(context, []);
    const forged = {
      ...effects,
      entries: [{ accountId: A, seq: 2n, transferId: T1, step: 'CREDIT' as const, amount: 1n, balanceAfter: BALANCE_MAX + 1n, currency: 'USD' }],
      accounts: [userAccount(A, { balance: BALANCE_MAX + 1n, seq: 2n })],
    };
    expect(() => assertBatchInvariants(context, forged)).toThrow(InvariantViolation);
  });

  test('property: random deposits and transfers near the edges never leave the range and are refused exactly when they would', () => {
    const start = fc.bigInt({ min: USER_BALANCE_MAX - 3n * AMOUNT_MAX, max: USER_BALANCE_MAX });
    const amounts = fc.array(fc.bigInt({ min: 1n, max: AMOUNT_MAX }), { minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(start, start, amounts, (a, b, list) => {
        const context = contextFor(P, [userAccount(A, { balance: a, seq: 1n }), userAccount(B, { owner: 'bob', balance: b, seq: 1n })]);
        const commands = list.map((amount, i) =>
          i % 2 === 0
            ? depositCmd(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, A, amount)
            : transferCmd(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, A, B, amount),
        );
        const effects = applyBatch(context, commands); // asserts the range itself
        let balanceA = a;
        let balanceB = b;
        effects.outcomes.forEach((outcome, i) => {
          const amount = list[i]!;
          const fits = i % 2 === 0 ? balanceA + amount <= USER_BALANCE_MAX : balanceB + amount <= USER_BALANCE_MAX && balanceA - amount >= 0n;
          if (fits) {
            expect(outcome.result).toBe('COMPLETED');
            if (i % 2 === 0) balanceA += amount;
            else [balanceA, balanceB] = [balanceA - amount, balanceB + amount];
          } else {
            expect(outcome.result).toBe('REJECTED');
          }
        });
        expect(accountIn(effects, A)?.balance ?? a).toBe(balanceA);
      }),
      { numRuns: 300 },
    );
  });
});

describe('isolateUnprocessable', () => {
  test('rejects a client command as UNPROCESSABLE without its text, and posts nothing', () => {
    const command = { ...transferCmd(T1, A, B, 5n, { description: 'x\udc00y' }), principal: 'bad\udc00' };
    const effects = isolateUnprocessable({ partition: P, now: '2026-12-01T00:00:00.000Z' }, command);
    expect(effects.outcomes).toEqual([{ commandId: T1, result: 'REJECTED', reason: 'UNPROCESSABLE' }]);
    expect(effects.entries).toEqual([]);
    expect(effects.newTransfers[0]!.description).toBeNull();
    expect(effects.newTransfers[0]!.principal.isWellFormed()).toBe(true);
  });

  test('a hold, a capture or a reversal is recorded REJECTED UNPROCESSABLE too, without its text: its long poll ends', () => {
    const now = '2026-12-01T00:00:00.000Z';
    const client = { currency: 'USD', principal: 'bad\udc00', admin: false, requestHash: 'h', acceptedAt: now };
    const hold = isolateUnprocessable({ partition: P, now }, { type: 'HOLD', holdId: T1, accountId: A, amount: 5n, expiresAt: now, description: 'x\udc00y', ...client });
    expect(hold.outcomes).toEqual([{ commandId: T1, result: 'REJECTED', reason: 'UNPROCESSABLE' }]);
    expect(hold.newHolds).toEqual([expect.objectContaining({ id: T1, status: 'REJECTED', reason: 'UNPROCESSABLE', description: null, completedAt: now })]);
    expect(hold.newHolds[0]!.principal.isWellFormed()).toBe(true);
    expect(hold.outbox).toEqual([expect.objectContaining({ kind: 'EVENT', key: T1, event: expect.objectContaining({ type: 'HoldRejected', reason: 'UNPROCESSABLE' }) })]);
    expect([hold.entries, hold.accounts]).toEqual([[], []]);
    const capture = isolateUnprocessable({ partition: P, now }, { type: 'CAPTURE', transferId: T1, holdId: T2, accountId: A, toAccountId: B, amount: 5n, ...client });
    const reversal = isolateUnprocessable({ partition: P, now }, { type: 'REVERSAL', transferId: T2, reverses: T1, fromAccountId: A, amount: 5n, description: 'x', ...client });
    for (const [effects, id] of [[capture, T1], [reversal, T2]] as const) {
      expect(effects.outcomes).toEqual([{ commandId: id, result: 'REJECTED', reason: 'UNPROCESSABLE' }]);
      expect(effects.newTransfers).toEqual([expect.objectContaining({ id, status: 'REJECTED', reason: 'UNPROCESSABLE', description: null })]);
      expect(effects.entries).toEqual([]);
    }
  });

  test('a void, an expiry or an account change gets no effects: the dead letter is its record', () => {
    const now = '2026-12-01T00:00:00.000Z';
    for (const command of [
      { type: 'VOID_HOLD', holdId: T1, accountId: A, principal: 'alice', admin: false, acceptedAt: now },
      { type: 'EXPIRE_HOLD', holdId: T1, accountId: A },
      { type: 'UPDATE_ACCOUNT', changeId: T1, accountId: A, status: 'CLOSED', overdraftLimit: null, principal: 'alice', admin: false, requestHash: 'h', acceptedAt: now },
    ] as const) {
      const effects = isolateUnprocessable({ partition: P, now }, command);
      expect([command.type, effects.outcomes, effects.newHolds, effects.holdEnds, effects.accountChanges]).toEqual([command.type, [], [], [], []]);
    }
  });

  test('a leg gets no effects: its money stays visible in transit', () => {
    const effects = isolateUnprocessable({ partition: P, now: '2026-12-01T00:00:00.000Z' }, creditLegCmd(T1, A, B, 5n, 1));
    expect(effects.outcomes).toEqual([]);
    expect(effects.newTransfers).toEqual([]);
  });
});
