/**
 * What the pure apply needs beyond accounts and dedupe keys for the hold and account commands: the holds
 * that captures, voids and expiries name, the transfers that reversals (and refunds of
 * reversals) name with their reversal totals, and which accounts about to close still have
 * money in flight. Read in one round trip each, only when the batch has such commands.
 *
 * The batch being committed while this one is prepared (`Ahead` in partition-applier.ts) may
 * have changed any of these without the database showing it yet: its effects are laid over
 * what was read, exactly as for accounts.
 */
import type { Database } from '@ledgerline/postgres';
import type { BatchEffects, Command, HoldState, ReversibleTransfer } from '@ledgerline/domain';
import { loadHoldStates, loadOutgoingInFlight, loadReversibleTransfers } from '@ledgerline/postgres';

export interface HoldLedgerState {
  holds: Map<string, HoldState>;
  reversible: Map<string, ReversibleTransfer>;
  outgoingInFlight: Set<string>;
}

/** What a committed-but-not-yet-visible batch changed, in the shape `readHoldLedgerState` overlays. */
export interface HoldLedgerAhead {
  holds: ReadonlyMap<string, HoldState>;
  reversed: ReadonlyMap<string, bigint>;
  inFlightFrom: ReadonlySet<string>;
}

export function holdLedgerAheadOf(effects: BatchEffects, base: HoldLedgerAhead | null): HoldLedgerAhead {
  const holds = new Map(base?.holds ?? []);
  for (const h of effects.newHolds) {
    if (h.status !== 'HELD') continue;
    holds.set(h.id, { id: h.id, accountId: h.accountId, amount: h.amount, capturedAmount: 0n, currency: h.currency, status: 'HELD', expiresAt: h.expiresAt });
  }
  for (const end of effects.holdEnds) {
    const known = holds.get(end.id);
    if (known) holds.set(end.id, { ...known, status: end.status, capturedAmount: end.capturedAmount });
    else holds.set(end.id, { id: end.id, accountId: end.accountId, amount: end.amount, capturedAmount: end.capturedAmount, currency: '', status: end.status, expiresAt: end.completedAt });
  }
  const reversed = new Map(base?.reversed ?? []);
  for (const total of effects.reversalTotals) reversed.set(total.transferId, total.reversedAmount);
  const inFlightFrom = new Set(base?.inFlightFrom ?? []);
  for (const t of effects.newTransfers) if (t.status === 'PROCESSING' && t.fromAccountId) inFlightFrom.add(t.fromAccountId);
  return { holds, reversed, inFlightFrom };
}

export async function readHoldLedgerState(pool: Database, commands: readonly Command[], ahead: HoldLedgerAhead | null): Promise<HoldLedgerState> {
  const holdIds = new Set<string>();
  const transferIds = new Set<string>();
  const closing = new Set<string>();
  for (const c of commands) {
    if (c.type === 'CAPTURE' || c.type === 'VOID_HOLD' || c.type === 'EXPIRE_HOLD') holdIds.add(c.holdId);
    else if (c.type === 'REVERSAL') transferIds.add(c.reverses);
    else if ((c.type === 'REFUND_LEG' || c.type === 'CREDIT_LEG') && c.reverses !== null) transferIds.add(c.reverses);
    else if (c.type === 'UPDATE_ACCOUNT' && c.status === 'CLOSED') closing.add(c.accountId);
  }
  const [holds, reversible, outgoingInFlight] = await Promise.all([
    loadHoldStates(pool, [...holdIds]),
    loadReversibleTransfers(pool, [...transferIds]),
    loadOutgoingInFlight(pool, [...closing]),
  ]);
  if (ahead) {
    for (const id of holdIds) {
      const pending = ahead.holds.get(id);
      const stored = holds.get(id);
      if (pending && stored) holds.set(id, { ...stored, status: pending.status, capturedAmount: pending.capturedAmount });
      // Placed by the batch ahead (not stored yet), and maybe ended by it too: as it left it,
      // so a capture finds it EXPIRED (HOLD_EXPIRED), as in one batch with it.
      else if (pending) holds.set(id, pending);
    }
    for (const [id, original] of reversible) {
      const pending = ahead.reversed.get(id);
      if (pending !== undefined) reversible.set(id, { ...original, reversedAmount: pending });
    }
    for (const id of closing) if (ahead.inFlightFrom.has(id)) outgoingInFlight.add(id);
  }
  return { holds, reversible, outgoingInFlight };
}
