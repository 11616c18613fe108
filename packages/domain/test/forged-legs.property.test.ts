// Proves with random saga legs, alone or beside account changes, that a leg no worker built never stops a partition in memory:
// applyBatch answers it (applied or refused, to be checked against its transfer's row by the
// write, migration 0021) or throws UnprocessableCommand (isolated and dead-lettered by the
// worker), never InvariantViolation, which the worker takes for a bug in its own state and
// stops on (docs/design.md, invariant 10; docs/security.md, "Commands on Kafka"). Anyone who can
// write to the commands topic can send such a leg, with any facts.
import fc from 'fast-check';
import { InvariantViolation, UnprocessableCommand, applyBatch } from '../src';
import { transitAccountId } from '../src/ids';
import type { AccountState, AccountStatus, CreditLegCommand, RefundLegCommand, ReversibleTransfer, SagaKind, UpdateAccountCommand } from '../src/model';
import { ACCEPTED_AT, HASH, contextFor, systemAccount, userAccount } from './fixtures';

const PARTITION = 1;
const CURRENCIES = ['USD', 'EUR'] as const;
const KNOWN = ['00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b'] as const;
const UNKNOWN = '00000000-0000-4000-8000-0000000000ff';
const ORIGINAL = '00000000-0000-4000-8000-0000000000c1';
/** Every kind a leg's schema lets through (packages/schemas). */
const KINDS: readonly SagaKind[] = ['TRANSFER', 'CAPTURE', 'REVERSAL'];

const stateSpec = fc.record({
  currencies: fc.tuple(fc.constantFrom(...CURRENCIES), fc.constantFrom(...CURRENCIES)),
  balances: fc.tuple(fc.bigInt({ min: 0n, max: 1_000n }), fc.bigInt({ min: 0n, max: 1_000n })),
  closed: fc.tuple(fc.boolean(), fc.boolean()),
  transit: fc.tuple(fc.bigInt({ min: 0n, max: 2_000n }), fc.bigInt({ min: 0n, max: 2_000n })),
  reversed: fc.bigInt({ min: 0n, max: 500n }),
});

const legSpec = fc.record({
  type: fc.constantFrom('CREDIT_LEG' as const, 'REFUND_LEG' as const),
  transferId: fc.uuid(),
  kind: fc.constantFrom(...KINDS),
  from: fc.constantFrom<string>(...KNOWN, UNKNOWN),
  to: fc.constantFrom<string>(...KNOWN, UNKNOWN),
  amount: fc.oneof(fc.bigInt({ min: 1n, max: 2_000n }), fc.bigInt({ min: 1n, max: 999_999_999_999_999n })),
  currency: fc.constantFrom(...CURRENCIES),
  reverses: fc.constantFrom<string | null>(null, ORIGINAL, UNKNOWN),
  holdId: fc.constantFrom<string | null>(null, UNKNOWN),
  sourcePartition: fc.integer({ min: 0, max: 3 }),
});

/**
 * An account change the API may send beside such legs (an outside review found a close and
 * a forged refund in one batch stopping the partition): its owner's close, or an admin's
 * close, freeze or reopening, of either known account.
 */
const changeSpec = fc.record({
  type: fc.constant('UPDATE_ACCOUNT' as const),
  changeId: fc.uuid(),
  account: fc.constantFrom<string>(...KNOWN),
  status: fc.constantFrom<AccountStatus>('CLOSED', 'FROZEN', 'OPEN'),
  admin: fc.boolean(),
});

type State = typeof stateSpec extends fc.Arbitrary<infer T> ? T : never;
type Leg = typeof legSpec extends fc.Arbitrary<infer T> ? T : never;

function contextOf(state: State) {
  const accounts: AccountState[] = KNOWN.map((id, i) =>
    userAccount(id, { currency: state.currencies[i]!, balance: state.balances[i]!, seq: 1n, status: state.closed[i] ? 'CLOSED' : 'OPEN' }),
  );
  CURRENCIES.forEach((currency, i) => accounts.push(systemAccount(transitAccountId(PARTITION, currency), 'TRANSIT', currency, state.transit[i]!, 1n)));
  const original: ReversibleTransfer = {
    id: ORIGINAL,
    kind: 'TRANSFER',
    status: 'COMPLETED',
    fromAccountId: KNOWN[1],
    toAccountId: KNOWN[0],
    amount: 500n,
    currency: state.currencies[0]!,
    reversedAmount: state.reversed,
  };
  return { ...contextFor(PARTITION, accounts, { routes: { [KNOWN[0]]: PARTITION, [KNOWN[1]]: PARTITION } }), reversible: new Map([[ORIGINAL, original]]) };
}

type Change = typeof changeSpec extends fc.Arbitrary<infer T> ? T : never;

function changeOf(change: Change): UpdateAccountCommand {
  return {
    type: 'UPDATE_ACCOUNT',
    changeId: change.changeId,
    accountId: change.account,
    status: change.admin ? change.status : 'CLOSED',
    overdraftLimit: null,
    principal: change.admin ? 'ops' : 'alice',
    admin: change.admin,
    requestHash: HASH,
    acceptedAt: ACCEPTED_AT,
  };
}

function commandOf(leg: Leg): CreditLegCommand | RefundLegCommand {
  const facts = {
    transferId: leg.transferId,
    kind: leg.kind,
    reverses: leg.reverses,
    holdId: leg.holdId,
    fromAccountId: leg.from,
    toAccountId: leg.to,
    amount: leg.amount,
    currency: leg.currency,
    sourcePartition: leg.sourcePartition,
  };
  return leg.type === 'CREDIT_LEG' ? { type: 'CREDIT_LEG', ...facts } : { type: 'REFUND_LEG', ...facts, reason: 'ACCOUNT_FROZEN' };
}

describe('a saga leg no worker built', () => {
  test('is applied, refused or unprocessable, never an InvariantViolation', () => {
    fc.assert(
      fc.property(stateSpec, fc.array(legSpec, { minLength: 1, maxLength: 4 }), (state, legs) => {
        try {
          applyBatch(contextOf(state), legs.map(commandOf));
        } catch (error) {
          if (error instanceof UnprocessableCommand) return;
          if (error instanceof InvariantViolation) throw new Error(`InvariantViolation for ${JSON.stringify(legs, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}: ${error.message}`);
          throw error;
        }
      }),
      { numRuns: 2_000 },
    );
  });

  test('beside account changes in the same batch (a close before a refund): applied, refused or unprocessable, never an InvariantViolation', () => {
    const step = fc.oneof(legSpec.map(commandOf), changeSpec.map(changeOf));
    fc.assert(
      fc.property(stateSpec, fc.array(step, { minLength: 2, maxLength: 6 }), fc.boolean(), (state, commands, inFlight) => {
        // With no transfer in flight from an account, its close applies, as a genuine refund never follows.
        const context = { ...contextOf(state), outgoingInFlight: new Set<string>(inFlight ? KNOWN : []) };
        try {
          applyBatch(context, commands);
        } catch (error) {
          if (error instanceof UnprocessableCommand) return;
          if (error instanceof InvariantViolation) throw new Error(`InvariantViolation for ${JSON.stringify(commands, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}: ${error.message}`);
          throw error;
        }
      }),
      { numRuns: 5_000 },
    );
  });
});
