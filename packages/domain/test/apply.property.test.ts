// Proves with random batches that applyBatch conserves money, derives every balance from its
// entries, never overdraws, only rejects for a true reason, is deterministic and pure, and that
// a multi-partition saga driven through the outbox (with redeliveries) settles every transfer.
import fc from 'fast-check';
import { applyBatch, type ApplyContext, type BatchEffects, type EntryEffect } from '../src';
import { externalAccountId, transitAccountId } from '../src/ids';
import {
  type AccountState,
  type DepositCommand,
  type LegCommand,
  REJECTION_REASONS,
  type RejectionReason,
  type TransferCommand,
  type WithdrawalCommand,
  dedupeKeyOf as keyOrNull,
  subjectAccountOf,
} from '../src/model';

// This file's batches hold transfers, deposits, withdrawals and legs (holds, captures,
// reversals and account changes are mixed in by apply.holds.property.test.ts); each has a key.
type ClientCommand = TransferCommand | DepositCommand | WithdrawalCommand;
type Command = ClientCommand | LegCommand;
const dedupeKeyOf = (command: Command): string => keyOrNull(command)!;
const HOLD_AND_REVERSAL_REASONS: readonly RejectionReason[] = [
  'ACCOUNT_FROZEN',
  'HOLD_NOT_ACTIVE',
  'HOLD_EXPIRED',
  'CAPTURE_EXCEEDS_HOLD',
  'REVERSAL_EXCEEDS_ORIGINAL',
  'TRANSFER_NOT_REVERSIBLE',
];
import {
  carryForward,
  contextFor,
  creditLegCmd,
  depositCmd,
  fingerprint,
  refundLegCmd,
  transferCmd,
  userAccount,
  withdrawalCmd,
} from './fixtures';

const NUM_RUNS = 200;
/** The generator-coverage guards use a fixed seed so they cannot flake; the properties do not. */
const GUARD_SEED = 20261121;
const CURRENCIES = ['USD', 'EUR', 'GBP'] as const;
const OWNERS = ['alice', 'bob', 'carol'] as const;
const PARTITIONS = 4;

// ---------------------------------------------------------------------------------------------
// One batch on one partition
// ---------------------------------------------------------------------------------------------

const userSpec = fc.record({
  owner: fc.constantFrom(...OWNERS),
  currency: fc.constantFrom(...CURRENCIES),
  limit: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 1_000n })),
  headroom: fc.bigInt({ min: 0n, max: 3_000n }),
  closed: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  seq: fc.bigInt({ min: 0n, max: 50n }),
  owned: fc.integer({ min: 0, max: 9 }).map((n) => n < 8),
  elsewhere: fc.integer({ min: 1, max: PARTITIONS - 1 }),
});

const amount = fc.oneof(
  { weight: 6, arbitrary: fc.bigInt({ min: 1n, max: 2_500n }) },
  { weight: 1, arbitrary: fc.bigInt({ min: 1n, max: 999_999_999_999_999n }) },
);
/** 'EXACT' = the source's whole initial headroom (balance + limit): hits the overdraft boundary. */
const debitAmount = fc.oneof({ weight: 5, arbitrary: amount }, { weight: 1, arbitrary: fc.constant('EXACT' as const) });
/** null = the account's own currency / owner; otherwise (rarely) an arbitrary one. */
const maybeCurrency = fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(...CURRENCIES) });
const maybePrincipal = fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(...OWNERS, 'mallory') });
const rarely = fc.integer({ min: 0, max: 5 }).map((n) => n === 0);

const commandSpec = fc.oneof(
  { weight: 5, arbitrary: fc.record({ type: fc.constant('TRANSFER' as const), from: fc.nat(), to: fc.nat(), amount: debitAmount, currency: maybeCurrency, principal: maybePrincipal, admin: rarely }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('DEPOSIT' as const), to: fc.nat(), amount, currency: maybeCurrency }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('WITHDRAWAL' as const), from: fc.nat(), amount: debitAmount, currency: maybeCurrency, principal: maybePrincipal, admin: rarely }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('CREDIT_LEG' as const), from: fc.nat(), to: fc.nat(), amount, currency: maybeCurrency, source: fc.integer({ min: 0, max: PARTITIONS - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('REFUND_LEG' as const), from: fc.nat(), amount, reason: fc.constantFrom(...REJECTION_REASONS), source: fc.integer({ min: 0, max: PARTITIONS - 1 }) }) },
);

const batchSpec = fc.record({
  partition: fc.integer({ min: 0, max: PARTITIONS - 1 }),
  users: fc.array(userSpec, { minLength: 2, maxLength: 8 }),
  ghostPartitions: fc.array(fc.integer({ min: 0, max: PARTITIONS - 1 }), { minLength: 1, maxLength: 2 }),
  systems: fc.array(
    fc.record({ kind: fc.constantFrom('TRANSIT' as const, 'EXTERNAL' as const), currency: fc.constantFrom(...CURRENCIES), balance: fc.bigInt({ min: -5_000n, max: 5_000n }), seq: fc.bigInt({ min: 1n, max: 30n }) }),
    { maxLength: 3 },
  ),
  commands: fc.array(commandSpec, { maxLength: 30, size: 'medium' }),
  denyNonAdminDeposits: fc.boolean(),
  duplicates: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 4 }),
  alreadyApplied: fc.array(fc.nat(), { maxLength: 3 }),
});

interface Batch {
  context: ApplyContext;
  commands: Command[];
}

type BatchSpec = typeof batchSpec extends fc.Arbitrary<infer T> ? T : never;

function buildBatch(spec: BatchSpec): Batch {
  const P = spec.partition;
  const routes = new Map<string, number>();
  const users = spec.users.map((u, i) => {
    const account = userAccount(`u${i}`, {
      owner: u.owner,
      currency: u.currency,
      overdraftLimit: u.limit,
      balance: u.headroom - u.limit, // never below -limit to begin with
      status: u.closed ? 'CLOSED' : 'OPEN',
      seq: u.seq,
    });
    routes.set(account.id, u.owned ? P : (P + u.elsewhere) % PARTITIONS);
    return account;
  });
  spec.ghostPartitions.forEach((p, i) => routes.set(`ghost${i}`, p));
  const pool = [...users.map((u) => u.id), ...spec.ghostPartitions.map((_, i) => `ghost${i}`)];
  const byId = new Map(users.map((u) => [u.id, u]));
  const pick = (n: number) => pool[n % pool.length]!;
  const currencyOf = (id: string, chosen: string | null) => chosen ?? byId.get(id)?.currency ?? 'USD';
  const ownerOf = (id: string, chosen: string | null) => chosen ?? byId.get(id)?.owner ?? 'alice';
  const debit = (id: string, chosen: bigint | 'EXACT') => {
    if (chosen !== 'EXACT') return chosen;
    const a = byId.get(id);
    const headroom = a ? a.balance + a.overdraftLimit! : 0n;
    return headroom > 0n ? headroom : 1n;
  };

  const commands: Command[] = spec.commands.map((c, i): Command => {
    switch (c.type) {
      case 'TRANSFER': {
        const from = pick(c.from);
        return transferCmd(`t${i}`, from, pick(c.to), debit(from, c.amount), { currency: currencyOf(from, c.currency), principal: ownerOf(from, c.principal), admin: c.admin });
      }
      case 'DEPOSIT': {
        const to = pick(c.to);
        const admin = spec.denyNonAdminDeposits ? i % 3 !== 0 : true;
        return depositCmd(`t${i}`, to, c.amount, { currency: currencyOf(to, c.currency), admin });
      }
      case 'WITHDRAWAL': {
        const from = pick(c.from);
        return withdrawalCmd(`t${i}`, from, debit(from, c.amount), { currency: currencyOf(from, c.currency), principal: ownerOf(from, c.principal), admin: c.admin });
      }
      case 'CREDIT_LEG': {
        const to = pick(c.to);
        return creditLegCmd(`c${i}`, `remote${c.from % 3}`, to, c.amount, c.source === P ? (P + 1) % PARTITIONS : c.source, currencyOf(to, c.currency));
      }
      case 'REFUND_LEG': {
        // A refund only ever names an account that existed when it was debited.
        const from = users[c.from % users.length]!;
        return refundLegCmd(`r${i}`, from.id, `remote${c.from % 3}`, c.amount, c.reason, c.source === P ? (P + 1) % PARTITIONS : c.source, from.currency);
      }
    }
  });
  for (const [from, at] of spec.duplicates) {
    if (commands.length === 0) break;
    commands.splice(at % (commands.length + 1), 0, commands[from % commands.length]!);
  }
  const alreadyApplied = commands.length === 0 ? [] : spec.alreadyApplied.map((n) => dedupeKeyOf(commands[n % commands.length]!));

  const systems = new Map<string, AccountState>();
  for (const s of spec.systems) {
    const id = s.kind === 'TRANSIT' ? transitAccountId(P, s.currency) : externalAccountId(P, s.currency);
    systems.set(id, { id, owner: 'system', kind: s.kind, currency: s.currency, status: 'OPEN', overdraftLimit: null, balance: s.balance, seq: s.seq, held: 0n, rev: s.seq });
  }
  const owned = users.filter((u) => routes.get(u.id) === P);
  return { context: contextFor(P, [...owned, ...systems.values()], { routes, alreadyApplied }), commands };
}

const batches = batchSpec.map(buildBatch);

function sumByCurrency(pairs: Iterable<[string, bigint]>): Map<string, bigint> {
  const sums = new Map<string, bigint>();
  for (const [currency, value] of pairs) sums.set(currency, (sums.get(currency) ?? 0n) + value);
  return sums;
}

function nonZero(sums: Map<string, bigint>): [string, bigint][] {
  return [...sums].filter(([, v]) => v !== 0n);
}

/** The state an account had before the batch: from the context, or a fresh system account. */
function initialOf(context: ApplyContext, effects: BatchEffects, id: string): AccountState {
  const known = context.accounts.get(id);
  if (known) return known;
  expect(effects.createdAccountIds.has(id)).toBe(true);
  const created = effects.accounts.find((a) => a.id === id)!;
  return { ...created, balance: 0n, seq: 0n, rev: 0n };
}

function entriesByAccount(entries: readonly EntryEffect[]): Map<string, EntryEffect[]> {
  const map = new Map<string, EntryEffect[]>();
  for (const e of entries) map.set(e.accountId, [...(map.get(e.accountId) ?? []), e]);
  return map;
}

describe('applyBatch over random batches', () => {
  test('conservation: entries sum to zero per currency, and so do the balance changes of touched accounts', () => {
    fc.assert(
      fc.property(batches, ({ context, commands }) => {
        const effects = applyBatch(context, commands);
        expect(nonZero(sumByCurrency(effects.entries.map((e) => [e.currency, e.amount])))).toEqual([]);
        const deltas = effects.accounts.map((a): [string, bigint] => [a.currency, a.balance - initialOf(context, effects, a.id).balance]);
        expect(nonZero(sumByCurrency(deltas))).toEqual([]);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('balances derive from entries: final = initial + sum, seqs consecutive, balanceAfter is the running balance', () => {
    fc.assert(
      fc.property(batches, ({ context, commands }) => {
        const effects = applyBatch(context, commands);
        const byAccount = entriesByAccount(effects.entries);
        // Every account written has its final state reported, and only those.
        expect(new Set(effects.accounts.map((a) => a.id))).toEqual(new Set(byAccount.keys()));
        expect(effects.accounts).toHaveLength(byAccount.size);
        for (const final of effects.accounts) {
          const initial = initialOf(context, effects, final.id);
          const entries = byAccount.get(final.id)!;
          let balance = initial.balance;
          entries.forEach((entry, i) => {
            balance += entry.amount;
            expect(entry.seq).toBe(initial.seq + BigInt(i + 1));
            expect(entry.balanceAfter).toBe(balance);
            expect(entry.currency).toBe(initial.currency);
          });
          // Only entries change accounts here, and each bumps rev (the cache version) once.
          expect(final).toEqual({ ...initial, balance, seq: initial.seq + BigInt(entries.length), rev: initial.rev + BigInt(entries.length) });
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('no overdraft: no USER entry, and no final balance, goes below -overdraftLimit', () => {
    fc.assert(
      fc.property(batches, ({ context, commands }) => {
        const effects = applyBatch(context, commands);
        for (const entry of effects.entries) {
          const account = context.accounts.get(entry.accountId);
          if (account?.kind === 'USER') expect(entry.balanceAfter >= -account.overdraftLimit!).toBe(true);
        }
        for (const account of effects.accounts) {
          if (account.kind === 'USER') expect(account.balance >= -account.overdraftLimit!).toBe(true);
          else expect(account.overdraftLimit).toBeNull();
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('a partition writes only accounts it owns: its USER accounts and its own transit/external accounts', () => {
    fc.assert(
      fc.property(batches, ({ context, commands }) => {
        const effects = applyBatch(context, commands);
        const P = context.partition;
        for (const account of effects.accounts) {
          if (account.kind === 'USER') expect(context.partitionOf(account.id)).toBe(P);
          else if (account.kind === 'TRANSIT') expect(account.id).toBe(transitAccountId(P, account.currency));
          else expect(account.id).toBe(externalAccountId(P, account.currency));
        }
        for (const id of effects.createdAccountIds) expect(context.accounts.has(id)).toBe(false);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('every outcome is justified by the state at that point in the batch (an oracle replaying the batch)', () => {
    fc.assert(
      fc.property(batches, ({ context, commands }) => {
        const effects = applyBatch(context, commands);
        expect(effects.outcomes).toHaveLength(commands.length);
        verifyOutcomes(context, commands, effects);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('determinism and purity: same input twice gives deep-equal effects, and the input is untouched', () => {
    fc.assert(
      fc.property(batches, ({ context, commands }) => {
        const before = fingerprint({ accounts: context.accounts, applied: context.alreadyApplied, commands });
        const first = applyBatch(context, commands);
        const second = applyBatch(context, commands);
        expect(second).toEqual(first);
        expect(fingerprint(second)).toBe(fingerprint(first));
        expect(fingerprint({ accounts: context.accounts, applied: context.alreadyApplied, commands })).toBe(before);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('the generator reaches every outcome and every rejection reason', () => {
    // Guards the properties above against a generator that silently stops exercising a branch.
    const counts = new Map<string, number>();
    fc.assert(
      fc.property(batches, ({ context, commands }) => {
        for (const o of applyBatch(context, commands).outcomes) {
          const label = 'reason' in o ? `${o.result}:${o.reason}` : o.result;
          counts.set(label, (counts.get(label) ?? 0) + 1);
        }
      }),
      { numRuns: NUM_RUNS, seed: GUARD_SEED },
    );
    if (process.env.SHOW_COVERAGE) console.log(Object.fromEntries([...counts].sort()));
    const results = ['COMPLETED', 'PROCESSING', 'LEG_APPLIED', 'DUPLICATE', 'FORWARDED'];
    for (const result of results) expect([result, (counts.get(result) ?? 0) > 10]).toEqual([result, true]);
    // Balances here stay far from bigint's range (balance-bounds.test.ts covers that reason),
    // UNPROCESSABLE is never an outcome of applyBatch (the worker's isolation assigns it), and
    // holds, captures and reversals add reasons this file's batches cannot reach (the holds
    // property file reaches those).
    const reachable = REJECTION_REASONS.filter(
      (r) => r !== 'BALANCE_LIMIT_EXCEEDED' && r !== 'UNPROCESSABLE' && !HOLD_AND_REVERSAL_REASONS.includes(r),
    );
    for (const reason of reachable) expect([reason, (counts.get(`REJECTED:${reason}`) ?? 0) > 3]).toEqual([reason, true]);
    for (const reason of ['DESTINATION_NOT_FOUND', 'ACCOUNT_CLOSED', 'CURRENCY_MISMATCH']) {
      expect([reason, (counts.get(`LEG_REJECTED:${reason}`) ?? 0) > 3]).toEqual([reason, true]);
    }
  });
});

/**
 * Replays the batch command by command beside the real effects: each outcome must be true of
 * the running state (a rejection names a reason that really holds, a success breaks no rule),
 * and each applied command must have produced exactly its two expected entries, in order.
 */
function verifyOutcomes(context: ApplyContext, commands: readonly Command[], effects: BatchEffects): void {
  const P = context.partition;
  const state = new Map(context.accounts);
  const seen = new Set<string>();
  let cursor = 0;
  const take = (n: number) => {
    const taken = effects.entries.slice(cursor, cursor + n);
    cursor += n;
    for (const entry of taken) {
      const before = state.get(entry.accountId);
      // Only USER accounts decide outcomes; a system account created mid-batch need not be tracked.
      if (before) state.set(entry.accountId, { ...before, balance: entry.balanceAfter, seq: entry.seq });
    }
    return taken.map((e) => [e.accountId, e.amount, e.transferId]);
  };
  const user = (id: string) => {
    const a = state.get(id);
    return a && a.kind === 'USER' ? a : undefined;
  };
  const sourceReasons = (c: ClientCommand, id: string): RejectionReason[] => {
    const a = user(id);
    if (!a) return ['ACCOUNT_NOT_FOUND'];
    const reasons: RejectionReason[] = [];
    if (!c.admin && a.owner !== c.principal) reasons.push('FORBIDDEN');
    if (a.status !== 'OPEN') reasons.push('ACCOUNT_CLOSED');
    if (a.currency !== c.currency) reasons.push('CURRENCY_MISMATCH');
    if (a.balance - c.amount < -a.overdraftLimit!) reasons.push('INSUFFICIENT_FUNDS');
    return reasons;
  };
  const destinationReasons = (id: string, currency: string, missing: RejectionReason): RejectionReason[] => {
    const a = user(id);
    if (!a) return [missing];
    const reasons: RejectionReason[] = [];
    if (a.status !== 'OPEN') reasons.push('ACCOUNT_CLOSED');
    if (a.currency !== currency) reasons.push('CURRENCY_MISMATCH');
    return reasons;
  };
  const expectRefusal = (outcome: BatchEffects['outcomes'][number], reasons: RejectionReason[], rejected: 'REJECTED' | 'LEG_REJECTED') => {
    if (reasons.length === 0) return false;
    expect(outcome.result).toBe(rejected);
    expect(reasons).toContain((outcome as { reason: RejectionReason }).reason);
    return true;
  };

  commands.forEach((command, i) => {
    const outcome = effects.outcomes[i]!;
    expect(outcome.commandId).toBe(command.transferId);
    const key = dedupeKeyOf(command);
    if (context.alreadyApplied.has(key) || seen.has(key)) {
      expect(outcome.result).toBe('DUPLICATE');
      return;
    }
    const owner = context.partitionOf(subjectAccountOf(command));
    if (owner !== P) {
      expect(outcome.result).toBe('FORWARDED');
      expect(effects.outbox).toContainEqual({ kind: 'COMMAND', partition: owner, key: subjectAccountOf(command), command });
      return;
    }
    seen.add(key);
    const id = command.transferId;
    switch (command.type) {
      case 'TRANSFER': {
        const sourceRefusal = sourceReasons(command, command.fromAccountId);
        if (expectRefusal(outcome, sourceRefusal, 'REJECTED')) return;
        const toPartition = context.partitionOf(command.toAccountId);
        if (toPartition === P) {
          if (expectRefusal(outcome, destinationReasons(command.toAccountId, command.currency, 'DESTINATION_NOT_FOUND'), 'REJECTED')) return;
          expect(outcome.result).toBe('COMPLETED');
          expect(take(2)).toEqual([
            [command.fromAccountId, -command.amount, id],
            [command.toAccountId, command.amount, id],
          ]);
        } else {
          expect(outcome.result).toBe('PROCESSING');
          expect(take(2)).toEqual([
            [command.fromAccountId, -command.amount, id],
            [transitAccountId(P, command.currency), command.amount, id],
          ]);
          expect(effects.outbox).toContainEqual({ kind: 'COMMAND', partition: toPartition, key: command.toAccountId, derivedAs: 'CREDIT_LEG', command: expect.objectContaining({ type: 'CREDIT_LEG', transferId: id, sourcePartition: P }) });
        }
        return;
      }
      case 'DEPOSIT': {
        const reasons = command.admin ? destinationReasons(command.accountId, command.currency, 'ACCOUNT_NOT_FOUND') : ['FORBIDDEN' as const];
        if (expectRefusal(outcome, reasons, 'REJECTED')) return;
        expect(outcome.result).toBe('COMPLETED');
        expect(take(2)).toEqual([
          [externalAccountId(P, command.currency), -command.amount, id],
          [command.accountId, command.amount, id],
        ]);
        return;
      }
      case 'WITHDRAWAL': {
        if (expectRefusal(outcome, sourceReasons(command, command.accountId), 'REJECTED')) return;
        expect(outcome.result).toBe('COMPLETED');
        expect(take(2)).toEqual([
          [command.accountId, -command.amount, id],
          [externalAccountId(P, command.currency), command.amount, id],
        ]);
        return;
      }
      case 'CREDIT_LEG': {
        if (expectRefusal(outcome, destinationReasons(command.toAccountId, command.currency, 'DESTINATION_NOT_FOUND'), 'LEG_REJECTED')) {
          expect(effects.outbox).toContainEqual({ kind: 'COMMAND', partition: command.sourcePartition, key: command.fromAccountId, command: expect.objectContaining({ type: 'REFUND_LEG', transferId: id }) });
          return;
        }
        expect(outcome.result).toBe('LEG_APPLIED');
        expect(take(2)).toEqual([
          [transitAccountId(P, command.currency), -command.amount, id],
          [command.toAccountId, command.amount, id],
        ]);
        return;
      }
      case 'REFUND_LEG': {
        expect(outcome.result).toBe('LEG_APPLIED');
        expect(take(2)).toEqual([
          [transitAccountId(P, command.currency), -command.amount, id],
          [command.fromAccountId, command.amount, id],
        ]);
        return;
      }
    }
  });
  expect(cursor).toBe(effects.entries.length);
}

// ---------------------------------------------------------------------------------------------
// The saga across several partitions
// ---------------------------------------------------------------------------------------------

const sagaSpec = fc.record({
  partitions: fc.integer({ min: 2, max: PARTITIONS }),
  users: fc.array(
    fc.record({
      owner: fc.constantFrom(...OWNERS),
      currency: fc.constantFrom('USD', 'EUR'),
      limit: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 500n })),
      headroom: fc.bigInt({ min: 0n, max: 2_000n }),
      closed: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
      partition: fc.nat(),
    }),
    { minLength: 2, maxLength: 8 },
  ),
  ghosts: fc.array(fc.nat(), { maxLength: 2 }),
  commands: fc.array(
    fc.record({
      type: fc.constantFrom('TRANSFER', 'TRANSFER', 'TRANSFER', 'DEPOSIT', 'WITHDRAWAL'),
      from: fc.nat(),
      to: fc.nat(),
      amount: fc.bigInt({ min: 1n, max: 1_500n }),
      otherCurrency: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
      misrouteTo: fc.option(fc.nat(), { freq: 5 }),
      redeliver: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
    }),
    { minLength: 1, maxLength: 25 },
  ),
  schedule: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 6 })), { minLength: 1, maxLength: 10 }),
  redeliverLegs: fc.array(fc.boolean(), { minLength: 1, maxLength: 7 }),
});

interface SagaRun {
  partitions: number;
  initialUsers: AccountState[];
  partitionOf: (id: string) => number;
  clientCommands: ClientCommand[];
  states: Map<string, AccountState>[];
  entries: EntryEffect[];
  status: Map<string, { status: string; reason: RejectionReason | null }>;
  newTransferRows: Map<string, number>;
}

type SagaSpec = typeof sagaSpec extends fc.Arbitrary<infer T> ? T : never;

function runSaga(spec: SagaSpec): SagaRun {
  const N = spec.partitions;
  const routes = new Map<string, number>();
  const initialUsers = spec.users.map((u, i) => {
    const account = userAccount(`u${i}`, {
      owner: u.owner,
      currency: u.currency,
      overdraftLimit: u.limit,
      balance: u.headroom - u.limit,
      status: u.closed ? 'CLOSED' : 'OPEN',
    });
    routes.set(account.id, u.partition % N);
    return account;
  });
  spec.ghosts.forEach((p, i) => routes.set(`ghost${i}`, p % N));
  const pool = [...initialUsers.map((u) => u.id), ...spec.ghosts.map((_, i) => `ghost${i}`)];
  const partitionOf = (id: string) => {
    const p = routes.get(id);
    if (p === undefined) throw new Error(`test routes no account ${id}`);
    return p;
  };

  const queues: Command[][] = Array.from({ length: N }, () => []);
  const clientCommands: ClientCommand[] = [];
  spec.commands.forEach((c, i) => {
    const user = initialUsers[c.from % initialUsers.length]!;
    const currency = c.otherCurrency ? (user.currency === 'USD' ? 'EUR' : 'USD') : user.currency;
    const command: ClientCommand =
      c.type === 'TRANSFER'
        ? transferCmd(`t${i}`, user.id, pool[c.to % pool.length]!, c.amount, { currency, principal: user.owner })
        : c.type === 'DEPOSIT'
          ? depositCmd(`t${i}`, user.id, c.amount, { currency })
          : withdrawalCmd(`t${i}`, user.id, c.amount, { currency, principal: user.owner });
    clientCommands.push(command);
    // Ingest routes by the subject; a misrouted one stands for a bucket that moved meanwhile.
    const entry = c.misrouteTo === null ? partitionOf(subjectAccountOf(command)) : c.misrouteTo % N;
    queues[entry]!.push(command);
    if (c.redeliver) queues[(entry + 1) % N]!.push(command); // at-least-once, even to a stale owner
  });

  const states: Map<string, AccountState>[] = Array.from({ length: N }, (_, p) => new Map(initialUsers.filter((u) => partitionOf(u.id) === p).map((u) => [u.id, u])));
  const applied: Set<string>[] = Array.from({ length: N }, () => new Set());
  const entries: EntryEffect[] = [];
  const status = new Map<string, { status: string; reason: RejectionReason | null }>();
  const newTransferRows = new Map<string, number>();
  let redeliveries = 0;

  for (let step = 0; queues.some((q) => q.length > 0); step++) {
    if (step > 10_000) throw new Error('saga did not settle');
    const [choice, size] = spec.schedule[step % spec.schedule.length]!;
    let p = choice % N;
    while (queues[p]!.length === 0) p = (p + 1) % N;
    const batch = queues[p]!.splice(0, size);
    const effects = applyBatch({ partition: p, now: `2026-11-21T05:00:${String(step % 60).padStart(2, '0')}.000Z`, accounts: states[p]!, partitionOf, alreadyApplied: applied[p]! }, batch);

    // Invariant 1, per commit.
    expect(nonZero(sumByCurrency(effects.entries.map((e) => [e.currency, e.amount])))).toEqual([]);
    entries.push(...effects.entries);
    states[p] = carryForward(states[p]!, effects);
    batch.forEach((command, i) => {
      const result = effects.outcomes[i]!.result;
      if (result !== 'DUPLICATE' && result !== 'FORWARDED') applied[p]!.add(dedupeKeyOf(command));
    });
    for (const row of effects.newTransfers) {
      newTransferRows.set(row.id, (newTransferRows.get(row.id) ?? 0) + 1);
      expect(status.has(row.id)).toBe(false);
      status.set(row.id, { status: row.status, reason: row.reason });
    }
    for (const change of effects.transferStatuses) {
      expect(status.get(change.id)?.status).toBe('PROCESSING');
      status.set(change.id, { status: change.status, reason: change.reason });
    }
    for (const message of effects.outbox) {
      if (message.kind !== 'COMMAND') continue;
      const command = message.command as Command; // only transfers, deposits, withdrawals and legs here
      queues[message.partition]!.push(command);
      if (spec.redeliverLegs[redeliveries++ % spec.redeliverLegs.length]) queues[message.partition]!.push(command);
    }
  }
  return { partitions: N, initialUsers, partitionOf, clientCommands, states, entries, status, newTransferRows };
}

describe('cross-partition saga over several partitions', () => {
  test('every transfer settles, money is conserved everywhere, transit accounts net to zero and hold exactly the settled flows', () => {
    fc.assert(
      fc.property(sagaSpec, (spec) => {
        const run = runSaga(spec);
        const { partitionOf } = run;

        // Invariant 8: every command reaches a terminal status, once.
        for (const command of run.clientCommands) {
          const final = run.status.get(command.transferId);
          expect(final).toBeDefined();
          expect(['COMPLETED', 'REJECTED']).toContain(final!.status);
          expect(final!.reason === null).toBe(final!.status === 'COMPLETED');
          expect(run.newTransferRows.get(command.transferId)).toBe(1);
        }

        // The expected end state, from terminal statuses alone.
        const expected = new Map(run.initialUsers.map((u) => [u.id, u.balance]));
        const expectedSystem = new Map<string, bigint>();
        const addSystem = (id: string, v: bigint) => expectedSystem.set(id, (expectedSystem.get(id) ?? 0n) + v);
        for (const c of run.clientCommands) {
          if (run.status.get(c.transferId)!.status !== 'COMPLETED') continue;
          if (c.type === 'TRANSFER') {
            expected.set(c.fromAccountId, expected.get(c.fromAccountId)! - c.amount);
            expected.set(c.toAccountId, expected.get(c.toAccountId)! + c.amount);
            const pa = partitionOf(c.fromAccountId);
            const pb = partitionOf(c.toAccountId);
            if (pa !== pb) {
              addSystem(transitAccountId(pa, c.currency), c.amount);
              addSystem(transitAccountId(pb, c.currency), -c.amount);
            }
          } else if (c.type === 'DEPOSIT') {
            expected.set(c.accountId, expected.get(c.accountId)! + c.amount);
            addSystem(externalAccountId(partitionOf(c.accountId), c.currency), -c.amount);
          } else {
            expected.set(c.accountId, expected.get(c.accountId)! - c.amount);
            addSystem(externalAccountId(partitionOf(c.accountId), c.currency), c.amount);
          }
        }

        const finals = run.states.flatMap((s) => [...s.values()]);
        expect(new Set(finals.map((a) => a.id)).size).toBe(finals.length); // each account on one partition only
        for (const account of finals) {
          if (account.kind === 'USER') {
            expect([account.id, account.balance]).toEqual([account.id, expected.get(account.id)]);
            expect(account.balance >= -account.overdraftLimit!).toBe(true);
            expect(partitionOf(account.id)).toBe(run.states.findIndex((s) => s.has(account.id)));
          } else {
            expect([account.id, account.balance]).toEqual([account.id, expectedSystem.get(account.id) ?? 0n]);
          }
        }

        // Conservation across all partitions, and nothing left in flight.
        const initialTotal = sumByCurrency(run.initialUsers.map((u) => [u.currency, u.balance]));
        const finalTotal = sumByCurrency(finals.map((a) => [a.currency, a.balance]));
        for (const currency of new Set([...initialTotal.keys(), ...finalTotal.keys()])) {
          expect([currency, finalTotal.get(currency) ?? 0n]).toEqual([currency, initialTotal.get(currency) ?? 0n]);
        }
        const inFlight = sumByCurrency(finals.filter((a) => a.kind === 'TRANSIT').map((a) => [a.currency, a.balance]));
        expect(nonZero(inFlight)).toEqual([]);

        // A rejected cross-partition transfer leaves no trace on its transit accounts.
        for (const c of run.clientCommands) {
          if (c.type !== 'TRANSFER' || run.status.get(c.transferId)!.status !== 'REJECTED') continue;
          const legs = run.entries.filter((e) => e.transferId === c.transferId);
          expect(legs.reduce((sum, e) => sum + e.amount, 0n)).toBe(0n);
          expect(legs.filter((e) => e.accountId === c.fromAccountId).reduce((sum, e) => sum + e.amount, 0n)).toBe(0n);
        }

        // Balances derive from every entry ever written (invariant 2), seqs consecutive from 1.
        const byAccount = entriesByAccount(run.entries);
        for (const account of finals) {
          const own = byAccount.get(account.id) ?? [];
          const initial = run.initialUsers.find((u) => u.id === account.id)?.balance ?? 0n;
          expect(own.map((e) => e.seq)).toEqual(own.map((_, i) => BigInt(i + 1)));
          expect(initial + own.reduce((sum, e) => sum + e.amount, 0n)).toBe(account.balance);
          expect(account.seq).toBe(BigInt(own.length));
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('the saga really crosses partitions: both completed and refunded cross-partition transfers occur', () => {
    // Guards the property above against a generator that never exercises the saga.
    let completed = 0;
    let refunded = 0;
    fc.assert(
      fc.property(sagaSpec, (spec) => {
        const run = runSaga(spec);
        for (const c of run.clientCommands) {
          if (c.type !== 'TRANSFER' || run.partitionOf(c.fromAccountId) === run.partitionOf(c.toAccountId)) continue;
          const refund = run.entries.some((e) => e.transferId === c.transferId && e.step === 'REFUND');
          if (run.status.get(c.transferId)!.status === 'COMPLETED') completed++;
          else if (refund) refunded++;
        }
      }),
      { numRuns: NUM_RUNS, seed: GUARD_SEED },
    );
    if (process.env.SHOW_COVERAGE) console.log({ completed, refunded });
    expect(completed).toBeGreaterThan(20);
    expect(refunded).toBeGreaterThan(5);
  });
});
