/**
 * The invariants every batch's effects must keep, asserted before anything is written
 * (`applyBatch` calls it on what it built): a batch that breaks one is a bug, and is never
 * committed; the worker isolates the command that reaches the bug (docs/design.md, "Poison
 * isolation").
 */
import { AMOUNT_MAX, BALANCE_MAX, withinBalanceRange } from './money';
import type { BatchEffects } from './effects';
import type { AccountState, ReversibleTransfer } from './model';

/** What a batch was applied against, as far as its invariants need it (a part of ApplyContext). */
export interface StateBefore {
  readonly accounts: ReadonlyMap<string, AccountState>;
  readonly reversible?: ReadonlyMap<string, ReversibleTransfer>;
}

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

/**
 * Asserted before anything is written: a batch that breaks one of these is a bug, and must
 * never be committed (docs/design.md, invariants 1, 2 and 6, and the holds', reversals' and
 * closed accounts' rules of docs/api.md).
 */
export function assertBatchInvariants(context: StateBefore, effects: BatchEffects): void {
  const sumByCurrency = new Map<string, bigint>();
  const lastSeq = new Map<string, bigint>();
  const postedByAccount = new Map<string, bigint>();
  const refundOnly = new Map<string, boolean>();
  for (const entry of effects.entries) {
    if (entry.amount === 0n) throw new InvariantViolation(`zero entry for transfer ${entry.transferId}`);
    if (entry.amount > AMOUNT_MAX || -entry.amount > AMOUNT_MAX) {
      throw new InvariantViolation(`entry of ${entry.amount} exceeds AMOUNT_MAX`);
    }
    if (!withinBalanceRange(entry.balanceAfter)) {
      throw new InvariantViolation(`account ${entry.accountId} entry ${entry.seq} would leave the balance at ${entry.balanceAfter}, outside bigint`);
    }
    sumByCurrency.set(entry.currency, (sumByCurrency.get(entry.currency) ?? 0n) + entry.amount);
    postedByAccount.set(entry.accountId, (postedByAccount.get(entry.accountId) ?? 0n) + entry.amount);
    refundOnly.set(entry.accountId, (refundOnly.get(entry.accountId) ?? true) && entry.step === 'REFUND');
    const previous = lastSeq.get(entry.accountId) ?? context.accounts.get(entry.accountId)?.seq ?? 0n;
    if (entry.seq !== previous + 1n) {
      throw new InvariantViolation(`account ${entry.accountId} entry seq ${entry.seq} does not follow ${previous}`);
    }
    lastSeq.set(entry.accountId, entry.seq);
  }
  for (const [currency, sum] of sumByCurrency) {
    if (sum !== 0n) throw new InvariantViolation(`batch is unbalanced in ${currency} by ${sum}`);
  }
  // Held money per account moves only by holds placed and holds ended.
  const heldDelta = new Map<string, bigint>();
  for (const hold of effects.newHolds) {
    if (hold.status === 'HELD') heldDelta.set(hold.accountId, (heldDelta.get(hold.accountId) ?? 0n) + hold.amount);
  }
  const ended = new Set<string>();
  for (const end of effects.holdEnds) {
    if (ended.has(end.id)) throw new InvariantViolation(`hold ${end.id} ended twice in one batch`);
    ended.add(end.id);
    if (end.capturedAmount < 0n || end.capturedAmount > end.amount || (end.status !== 'CAPTURED') !== (end.capturedAmount === 0n)) {
      throw new InvariantViolation(`hold ${end.id} ${end.status} with captured amount ${end.capturedAmount} of ${end.amount}`);
    }
    heldDelta.set(end.accountId, (heldDelta.get(end.accountId) ?? 0n) - end.amount);
  }
  for (const account of effects.accounts) {
    const initial = context.accounts.get(account.id);
    if (!withinBalanceRange(account.balance)) {
      throw new InvariantViolation(`account ${account.id} would end at ${account.balance}, outside bigint`);
    }
    if (account.held < 0n || account.held > BALANCE_MAX) throw new InvariantViolation(`account ${account.id} holds ${account.held}`);
    if (account.overdraftLimit !== null && account.balance - account.held < -account.overdraftLimit) {
      throw new InvariantViolation(`account ${account.id} would end at ${account.balance} (${account.held} held), below its limit`);
    }
    const before = initial?.balance ?? 0n;
    if (before + (postedByAccount.get(account.id) ?? 0n) !== account.balance) {
      throw new InvariantViolation(`account ${account.id} balance does not equal its entries`);
    }
    if ((initial?.held ?? 0n) + (heldDelta.get(account.id) ?? 0n) !== account.held) {
      throw new InvariantViolation(`account ${account.id} held ${account.held} does not equal its holds`);
    }
    if (initial?.status === 'CLOSED' && account.status !== 'CLOSED') throw new InvariantViolation(`closed account ${account.id} reopened`);
    if (account.status === 'CLOSED' && initial?.status !== 'CLOSED' && (account.balance !== 0n || account.held !== 0n)) {
      throw new InvariantViolation(`account ${account.id} closed with balance ${account.balance}, held ${account.held}`);
    }
    // After closing only a refund of money already in flight may land, and closing waits for those.
    if (initial?.status === 'CLOSED' && postedByAccount.has(account.id) && !refundOnly.get(account.id)) {
      throw new InvariantViolation(`closed account ${account.id} was posted to`);
    }
  }
  for (const total of effects.reversalTotals) {
    const original = context.reversible?.get(total.transferId);
    if (total.reversedAmount < 0n || !original || total.reversedAmount > original.amount) {
      throw new InvariantViolation(`transfer ${total.transferId} reversed ${total.reversedAmount} of ${original?.amount ?? 'unknown'}`);
    }
  }
}

