// Proves with random sequences of batches that applyBatch keeps the holds', reversals' and lifecycle invariants when
// holds, captures, voids, expiries, reversals and account changes are mixed with transfers,
// deposits, withdrawals and legs: money is conserved, every balance is its entries, no
// account spends past its limit counting its holds, `held` always equals the account's HELD
// holds, a hold ends at most once, reversals never exceed the original, a closed account
// stays empty, and the same input always gives the same output without touching its input.
import fc from 'fast-check';
import { type ApplyContext, type BatchEffects, applyBatch } from '../src';
import type { AccountState, Command, HoldState, ReversibleTransfer } from '../src/model';
import { ACCEPTED_AT, HASH, fingerprint, userAccount } from './fixtures';

const NUM_RUNS = Number(process.env.PROPERTY_RUNS ?? 150);
const GUARD_SEED = 20261201;
const P = 0;
const REMOTE = 1;
const USERS = 5;
const CLOCK = [
  '2026-11-21T05:00:00.000Z',
  '2026-11-21T05:00:10.000Z',
  '2026-11-21T05:00:20.000Z',
  '2026-11-21T05:00:30.000Z',
  '2026-11-21T05:00:40.000Z',
];

const amount = fc.bigInt({ min: 1n, max: 400n });
const who = fc.constantFrom('owner', 'stranger', 'admin');
const commandSpec = fc.oneof(
  fc.record({ type: fc.constant('TRANSFER' as const), from: fc.nat(), to: fc.nat(), remote: fc.boolean(), amount, who }),
  fc.record({ type: fc.constant('DEPOSIT' as const), to: fc.nat(), amount }),
  fc.record({ type: fc.constant('WITHDRAWAL' as const), from: fc.nat(), amount, who }),
  fc.record({ type: fc.constant('HOLD' as const), from: fc.nat(), amount, expiresIn: fc.integer({ min: 1, max: 40 }), who }),
  fc.record({ type: fc.constant('CAPTURE' as const), hold: fc.nat(), to: fc.nat(), remote: fc.boolean(), part: fc.integer({ min: 1, max: 12 }), who }),
  fc.record({ type: fc.constant('VOID_HOLD' as const), hold: fc.nat(), who }),
  fc.record({ type: fc.constant('EXPIRE_HOLD' as const), hold: fc.nat() }),
  fc.record({ type: fc.constant('REVERSAL' as const), original: fc.nat(), amount, who }),
  fc.record({ type: fc.constant('UPDATE_ACCOUNT' as const), account: fc.nat(), status: fc.constantFrom(null, 'OPEN' as const, 'FROZEN' as const, 'CLOSED' as const), limit: fc.option(fc.bigInt({ min: 0n, max: 300n })), who }),
  fc.record({ type: fc.constant('REFUND_LEG' as const), of: fc.nat() }),
);

const runSpec = fc.record({
  balances: fc.array(fc.bigInt({ min: 0n, max: 1_000n }), { minLength: USERS, maxLength: USERS }),
  limits: fc.array(fc.bigInt({ min: 0n, max: 200n }), { minLength: USERS, maxLength: USERS }),
  batches: fc.array(fc.array(commandSpec, { maxLength: 12 }), { minLength: 1, maxLength: CLOCK.length }),
});
type RunSpec = typeof runSpec extends fc.Arbitrary<infer T> ? T : never;

/** The whole partition's state, carried from batch to batch as the worker would. */
interface World {
  accounts: Map<string, AccountState>;
  holds: Map<string, HoldState>;
  originals: Map<string, ReversibleTransfer>;
  /** PROCESSING transfers of this partition: id -> (from, amount, kind, reverses) for refunds. */
  inFlight: Map<string, { from: string; amount: bigint; reverses: string | null; holdId: string | null; kind: 'TRANSFER' | 'CAPTURE' | 'REVERSAL' }>;
  applied: Set<string>;
}

const userId = (i: number) => `u${i % USERS}`;
const remoteId = (i: number) => `r${i % 2}`;
const principal = (w: string, owner: string) => (w === 'owner' ? owner : w === 'stranger' ? 'mallory' : 'ops');

function initialWorld(spec: RunSpec): World {
  const accounts = new Map<string, AccountState>();
  // Some start in their overdraft (balance down to -limit), so a lower limit can be refused.
  const balanceOf = (i: number) => spec.balances[i]! - (i % 2 === 0 ? spec.limits[i]! : 0n);
  spec.balances.forEach((_, i) => {
    const a = userAccount(userId(i), { owner: `owner${i}`, balance: balanceOf(i), overdraftLimit: spec.limits[i]!, seq: 1n });
    accounts.set(a.id, a);
  });
  // The deposits that funded them are what reversals may pay back (a deposit's source is outside).
  const originals = new Map<string, ReversibleTransfer>();
  spec.balances.forEach((_, i) => {
    const balance = balanceOf(i);
    if (balance > 0n) {
      originals.set(`d${i}`, { id: `d${i}`, kind: 'DEPOSIT', status: 'COMPLETED', fromAccountId: null, toAccountId: userId(i), amount: balance, currency: 'USD', reversedAmount: 0n });
    }
  });
  return { accounts, holds: new Map(), originals, inFlight: new Map(), applied: new Set() };
}

function commandsOf(world: World, specs: RunSpec['batches'][number], step: number): Command[] {
  const now = CLOCK[step]!;
  const holdIds = [...world.holds.keys()];
  const originalIds = [...world.originals.keys()];
  const inFlight = [...world.inFlight.keys()];
  const ownerOf = (id: string) => world.accounts.get(id)?.owner ?? 'nobody';
  const base = (i: number, who: string, owner: string) => ({
    transferId: `s${step}c${i}`,
    currency: 'USD',
    principal: principal(who, owner),
    admin: who === 'admin',
    requestHash: HASH,
    acceptedAt: acceptedAt(i),
  });
  // Half accepted as they are applied, half long before (a partition behind): a capture or a
  // void is decided by when it was accepted, so both sides of an expiry are reached.
  const acceptedAt = (i: number) => (i % 2 === 0 ? now : ACCEPTED_AT);
  const out: Command[] = [];
  specs.forEach((c, i) => {
    switch (c.type) {
      case 'TRANSFER': {
        const from = userId(c.from);
        const local = userId(c.to) === from ? userId(c.to + 1) : userId(c.to);
        out.push({ type: 'TRANSFER', ...base(i, c.who, ownerOf(from)), amount: c.amount, fromAccountId: from, toAccountId: c.remote ? remoteId(c.to) : local, description: null });
        break;
      }
      case 'DEPOSIT':
        out.push({ type: 'DEPOSIT', ...base(i, 'admin', ''), amount: c.amount, accountId: userId(c.to), description: null });
        break;
      case 'WITHDRAWAL':
        out.push({ type: 'WITHDRAWAL', ...base(i, c.who, ownerOf(userId(c.from))), amount: c.amount, accountId: userId(c.from), description: null });
        break;
      case 'HOLD': {
        const from = userId(c.from);
        const expiresAt = new Date(Date.parse(now) + c.expiresIn * 1000).toISOString();
        const { transferId: _transferId, ...common } = base(i, c.who, ownerOf(from));
        out.push({ type: 'HOLD', ...common, holdId: `h${step}c${i}`, amount: c.amount, accountId: from, expiresAt, description: null });
        break;
      }
      case 'CAPTURE': {
        const holdId = holdIds.length ? holdIds[c.hold % holdIds.length]! : `h-missing${i}`;
        const hold = world.holds.get(holdId);
        const from = hold?.accountId ?? userId(c.hold);
        const full = hold?.amount ?? 10n;
        // part 1..12: up to a little more than the hold, so CAPTURE_EXCEEDS_HOLD is reached too.
        const want = (full * BigInt(c.part)) / 10n;
        const local = userId(c.to) === from ? userId(c.to + 1) : userId(c.to);
        const to = c.remote ? remoteId(c.to) : local;
        out.push({ type: 'CAPTURE', ...base(i, c.who, ownerOf(from)), amount: want > 0n ? want : 1n, holdId, accountId: from, toAccountId: to });
        break;
      }
      case 'VOID_HOLD':
      case 'EXPIRE_HOLD': {
        const holdId = holdIds.length ? holdIds[c.hold % holdIds.length]! : `h-missing${i}`;
        const accountId = world.holds.get(holdId)?.accountId ?? userId(c.hold);
        if (c.type === 'EXPIRE_HOLD') out.push({ type: 'EXPIRE_HOLD', holdId, accountId });
        else out.push({ type: 'VOID_HOLD', holdId, accountId, principal: principal(c.who, ownerOf(accountId)), admin: c.who === 'admin', acceptedAt: acceptedAt(i) });
        break;
      }
      case 'REVERSAL': {
        if (originalIds.length === 0) break;
        const original = world.originals.get(originalIds[c.original % originalIds.length]!)!;
        const payer = original.toAccountId!;
        out.push({ type: 'REVERSAL', ...base(i, c.who, ownerOf(payer)), amount: c.amount, reverses: original.id, fromAccountId: payer, description: null });
        break;
      }
      case 'UPDATE_ACCOUNT': {
        if (c.status === null && c.limit === null) break;
        const accountId = userId(c.account);
        out.push({
          type: 'UPDATE_ACCOUNT',
          changeId: `s${step}c${i}`,
          accountId,
          status: c.status,
          overdraftLimit: c.limit,
          principal: principal(c.who, ownerOf(accountId)),
          admin: c.who === 'admin',
          requestHash: HASH,
          acceptedAt: ACCEPTED_AT,
        });
        break;
      }
      case 'REFUND_LEG': {
        // The remote side refused one of this partition's sagas: the money comes home.
        if (inFlight.length === 0) break;
        const id = inFlight[c.of % inFlight.length]!;
        const saga = world.inFlight.get(id)!;
        out.push({ type: 'REFUND_LEG', transferId: id, kind: saga.kind, reverses: saga.reverses, holdId: saga.holdId, fromAccountId: saga.from, toAccountId: 'r0', amount: saga.amount, currency: 'USD', reason: 'ACCOUNT_CLOSED', sourcePartition: REMOTE });
        break;
      }
    }
  });
  return out;
}

function contextOf(world: World, step: number): ApplyContext {
  return {
    partition: P,
    now: CLOCK[step]!,
    accounts: world.accounts,
    partitionOf: (id) => (id.startsWith('r') ? REMOTE : P),
    alreadyApplied: world.applied,
    holds: world.holds,
    reversible: world.originals,
    outgoingInFlight: new Set([...world.inFlight.values()].map((s) => s.from)),
  };
}

/** The world after a batch, as the database would hold it. */
function advance(world: World, commands: readonly Command[], effects: BatchEffects): World {
  const accounts = new Map(world.accounts);
  for (const a of effects.accounts) accounts.set(a.id, a);
  const holds = new Map(world.holds);
  for (const h of effects.newHolds) {
    if (h.status === 'HELD') holds.set(h.id, { id: h.id, accountId: h.accountId, amount: h.amount, capturedAmount: 0n, currency: h.currency, status: 'HELD', expiresAt: h.expiresAt });
  }
  for (const end of effects.holdEnds) holds.set(end.id, { ...holds.get(end.id)!, status: end.status, capturedAmount: end.capturedAmount });
  const originals = new Map(world.originals);
  for (const t of effects.reversalTotals) originals.set(t.transferId, { ...originals.get(t.transferId)!, reversedAmount: t.reversedAmount });
  for (const t of effects.newTransfers) {
    // Same-partition completed transfers and captures become reversible originals too.
    if (t.status === 'COMPLETED' && (t.kind === 'TRANSFER' || t.kind === 'CAPTURE') && t.toAccountId && !t.toAccountId.startsWith('r')) {
      originals.set(t.id, { id: t.id, kind: t.kind, status: 'COMPLETED', fromAccountId: t.fromAccountId, toAccountId: t.toAccountId, amount: t.amount, currency: t.currency, reversedAmount: 0n });
    }
  }
  const inFlight = new Map(world.inFlight);
  for (const t of effects.newTransfers) {
    if (t.status === 'PROCESSING') inFlight.set(t.id, { from: t.fromAccountId!, amount: t.amount, reverses: t.reverses, holdId: t.holdId, kind: t.kind as 'TRANSFER' | 'CAPTURE' | 'REVERSAL' });
  }
  for (const s of effects.transferStatuses) inFlight.delete(s.id);
  const applied = new Set(world.applied);
  commands.forEach((c, i) => {
    const result = effects.outcomes[i]!.result;
    const key = c.type === 'REFUND_LEG' ? `${c.transferId}:REFUND` : c.type === 'VOID_HOLD' || c.type === 'EXPIRE_HOLD' ? null : c.type === 'UPDATE_ACCOUNT' ? c.changeId : (c as { transferId: string }).transferId;
    if (key && result !== 'DUPLICATE' && result !== 'FORWARDED') applied.add(key);
  });
  return { accounts, holds, originals, inFlight, applied };
}

/** Runs the batches in order; calls `check` with each step's before, after and effects. */
function run(spec: RunSpec, check: (before: World, after: World, context: ApplyContext, commands: Command[], effects: BatchEffects) => void): World {
  let world = initialWorld(spec);
  spec.batches.forEach((specs, step) => {
    const commands = commandsOf(world, specs, step);
    const context = contextOf(world, step);
    const effects = applyBatch(context, commands);
    const next = advance(world, commands, effects);
    check(world, next, context, commands, effects);
    world = next;
  });
  return world;
}

function heldByAccount(holds: ReadonlyMap<string, HoldState>): Map<string, bigint> {
  const sums = new Map<string, bigint>();
  for (const h of holds.values()) if (h.status === 'HELD') sums.set(h.accountId, (sums.get(h.accountId) ?? 0n) + h.amount);
  return sums;
}

describe('applyBatch with holds, captures, voids, expiries, reversals and account changes', () => {
  test('conservation: every batch nets to zero, every balance is its entries', () => {
    fc.assert(
      fc.property(runSpec, (spec) => {
        run(spec, (before, after, _context, _commands, effects) => {
          let net = 0n;
          const posted = new Map<string, bigint>();
          for (const e of effects.entries) {
            net += e.amount;
            posted.set(e.accountId, (posted.get(e.accountId) ?? 0n) + e.amount);
          }
          expect(net).toBe(0n);
          for (const [id, sum] of posted) expect(after.accounts.get(id)!.balance).toBe((before.accounts.get(id)?.balance ?? 0n) + sum);
          // Holds move no money: only entries change a balance.
          for (const [id, a] of after.accounts) if (!posted.has(id)) expect(a.balance).toBe(before.accounts.get(id)?.balance ?? 0n);
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('no overdraft counting holds; held always equals the HELD holds; a hold ends once and only from HELD', () => {
    fc.assert(
      fc.property(runSpec, (spec) => {
        run(spec, (before, after, _context, _commands, effects) => {
          const held = heldByAccount(after.holds);
          for (const a of after.accounts.values()) {
            if (a.kind !== 'USER') continue;
            expect(a.held).toBe(held.get(a.id) ?? 0n);
            expect(a.balance - a.held).toBeGreaterThanOrEqual(-a.overdraftLimit!);
          }
          const ended = effects.holdEnds.map((e) => e.id);
          expect(new Set(ended).size).toBe(ended.length);
          for (const end of effects.holdEnds) {
            const was = before.holds.get(end.id) ?? effects.newHolds.find((h) => h.id === end.id);
            expect(was?.status).toBe('HELD');
            expect(end.capturedAmount).toBeLessThanOrEqual(end.amount);
          }
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('reversals never exceed the original; a closed account stays empty and is never debited or credited', () => {
    fc.assert(
      fc.property(runSpec, (spec) => {
        run(spec, (before, after, _context, _commands, effects) => {
          for (const o of after.originals.values()) {
            expect(o.reversedAmount).toBeGreaterThanOrEqual(0n);
            expect(o.reversedAmount).toBeLessThanOrEqual(o.amount);
          }
          for (const a of after.accounts.values()) {
            if (a.status !== 'CLOSED') continue;
            expect([a.balance, a.held]).toEqual([0n, 0n]);
            if (before.accounts.get(a.id)?.status === 'CLOSED') {
              expect(effects.entries.filter((e) => e.accountId === a.id && e.step !== 'REFUND')).toEqual([]);
            }
          }
          // A frozen account is never debited by a client command (while it stays frozen: an
          // admin may unfreeze it earlier in the same batch).
          const changed = new Set(effects.accountChanges.filter((c) => c.outcome === 'APPLIED').map((c) => c.accountId));
          for (const e of effects.entries) {
            if (before.accounts.get(e.accountId)?.status === 'FROZEN' && !changed.has(e.accountId) && e.amount < 0n) {
              const row = effects.newTransfers.find((t) => t.id === e.transferId);
              expect(row?.fromAccountId === e.accountId).toBe(false);
            }
          }
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('deterministic and pure: the same input gives the same effects and is left untouched', () => {
    fc.assert(
      fc.property(runSpec, (spec) => {
        run(spec, (_before, _after, context, commands, effects) => {
          const input = fingerprint({ ...context, partitionOf: null, commands });
          expect(fingerprint(applyBatch(context, commands))).toBe(fingerprint(effects));
          expect(fingerprint({ ...context, partitionOf: null, commands })).toBe(input);
        });
      }),
      { numRuns: NUM_RUNS / 3 },
    );
  });

  test('the generator reaches every new outcome and reason', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(runSpec, (spec) => {
        run(spec, (_b, _a, _c, commands, effects) => {
          effects.outcomes.forEach((o, i) => seen.add(`${commands[i]!.type}:${o.result}${'reason' in o ? `:${o.reason}` : ''}`));
          for (const end of effects.holdEnds) seen.add(`hold:${end.status}`);
        });
      }),
      { numRuns: 400, seed: GUARD_SEED },
    );
    const wanted = [
      'HOLD:HELD',
      'HOLD:REJECTED:INSUFFICIENT_FUNDS',
      'HOLD:REJECTED:FORBIDDEN',
      'HOLD:REJECTED:ACCOUNT_FROZEN',
      'CAPTURE:COMPLETED',
      'CAPTURE:PROCESSING',
      'CAPTURE:REJECTED:HOLD_NOT_ACTIVE',
      'CAPTURE:REJECTED:HOLD_EXPIRED',
      'CAPTURE:REJECTED:CAPTURE_EXCEEDS_HOLD',
      'VOID_HOLD:HOLD_ENDED',
      'VOID_HOLD:NO_CHANGE',
      'EXPIRE_HOLD:HOLD_ENDED',
      'EXPIRE_HOLD:NO_CHANGE',
      'REVERSAL:COMPLETED',
      'REVERSAL:REJECTED:REVERSAL_EXCEEDS_ORIGINAL',
      'REVERSAL:REJECTED:INSUFFICIENT_FUNDS',
      'UPDATE_ACCOUNT:ACCOUNT_UPDATED',
      'UPDATE_ACCOUNT:ACCOUNT_UPDATE_REJECTED:ACCOUNT_NOT_EMPTY',
      'UPDATE_ACCOUNT:ACCOUNT_UPDATE_REJECTED:OVERDRAFT_IN_USE',
      'UPDATE_ACCOUNT:ACCOUNT_UPDATE_REJECTED:FORBIDDEN',
      'TRANSFER:REJECTED:ACCOUNT_FROZEN',
      'REFUND_LEG:LEG_APPLIED',
      'hold:CAPTURED',
      'hold:VOIDED',
      'hold:EXPIRED',
    ];
    expect(wanted.filter((w) => !seen.has(w))).toEqual([]);
  });
});
