/**
 * The heart: apply one partition's batch of commands to the accounts it owns, in order.
 *
 * Pure and deterministic: same state + same commands + same context = same effects. No I/O;
 * the worker loads the state, calls `applyBatch`, and writes the effects in ONE Postgres
 * transaction. Nothing here mutates its inputs, so a batch whose commit is refused
 * (fenced) leaves the worker's cache untouched.
 *
 * Transfer life cycle (status of the transfer row, owned by whichever partition holds the
 * saga's baton):
 *
 *   TRANSFER, same partition:   -> COMPLETED | REJECTED                       (one commit)
 *   TRANSFER, cross partition:  -> PROCESSING (p(A) debited A, credited transit(p(A)),
 *                                             CREDIT_LEG in p(A)'s outbox)
 *       CREDIT_LEG at p(B), B can take it: credit B, debit transit(p(B)) -> COMPLETED
 *       CREDIT_LEG at p(B), B cannot:      leg REJECTED, REFUND_LEG in p(B)'s outbox
 *       REFUND_LEG at p(A): credit A, debit transit(p(A))               -> REJECTED(reason)
 *   DEPOSIT:    credit account, debit external(p, currency)             -> COMPLETED | REJECTED
 *   WITHDRAWAL: debit account, credit external(p, currency)             -> COMPLETED | REJECTED
 *   CAPTURE:    at p(held account): the hold must be HELD and not due; debit the held
 *               account by `amount` out of the held money, release the whole hold (CAPTURED),
 *               then credit the destination like a TRANSFER (same partition: at once; else
 *               transit + CREDIT_LEG, a refused credit refunds the held account's balance).
 *               A refusal before the hold is touched (destination refused on the same
 *               partition, frozen account...) leaves the hold HELD.
 *   REVERSAL:   at p(original's destination D), the single writer of "how much of T is
 *               reversed": reserve `amount` of T (never past T.amount), debit D, credit T's
 *               source (same partition, or transit + CREDIT_LEG; a DEPOSIT's goes to
 *               external(p)); a refund of a reversal gives its amount back to T's total.
 *
 * Holds (states in model.ts): HOLD reserves money (`held` += amount, no entry), VOID_HOLD and
 * EXPIRE_HOLD release it; every debit checks `balance - held - amount >= -overdraft_limit`.
 * Account status and limit (states in model.ts) change by UPDATE_ACCOUNT, here, so the
 * writer that owns the cached account is the one that changes it.
 *
 * Every posting stays inside a balance's range (money.ts): a client command whose credit
 * would take a USER account past USER_BALANCE_MAX, or a system account past BALANCE_MAX /
 * BALANCE_MIN, is REJECTED with BALANCE_LIMIT_EXCEEDED, a normal outcome like
 * INSUFFICIENT_FUNDS; a credit leg refused for it sends the money home. A refund leg is the
 * one posting that cannot be refused (the money is in transit); it may use the range above
 * USER_BALANCE_MAX, and should even that not suffice (or should this partition's transit
 * account be at BALANCE_MIN, after some 9.2e18 minor units of net inflow), the leg is
 * recorded REJECTED and the money stays visible in transit with the transfer PROCESSING,
 * for an operator to settle.
 *
 * A command whose subject account is routed to another partition (it arrived before a
 * bucket move finished) is forwarded there unchanged: this partition must not write an
 * account it does not own.
 */
import { AMOUNT_MAX, BALANCE_MAX, BALANCE_MIN, USER_BALANCE_MAX } from './money';
import { InvariantViolation, assertBatchInvariants } from './batch-invariants';
import { creditLegOf, terminalEventOf } from './derived-messages';
import {
  type AccountChangeEffect,
  type AccountEvent,
  type BatchEffects,
  type CommandOutcome,
  type EntryEffect,
  type HoldEndEffect,
  type HoldEvent,
  type NewHoldEffect,
  type NewTransferEffect,
  type OutboxEffect,
  type RefusedLegEffect,
  type ReversalTotalEffect,
  type TransferStatusEffect,
  legFactsOf,
} from './effects';
import { externalAccountId, transitAccountId } from './ids';
import {
  type AccountChangeReason,
  type AccountState,
  type AccountStatus,
  type CaptureCommand,
  type ClientCommand,
  type Command,
  type CreditLegCommand,
  type ExpireHoldCommand,
  type HoldCommand,
  type HoldState,
  type MoneyCommand,
  type MovementStep,
  type RefundLegCommand,
  type RejectionReason,
  type ReversalCommand,
  type ReversibleTransfer,
  type TransferCommand,
  type TransferKind,
  type UpdateAccountCommand,
  type VoidHoldCommand,
  REVERSIBLE_KINDS,
  SYSTEM_OWNER,
  commandIdOf,
  dedupeKeyOf,
  sagaLegOf,
  subjectAccountOf,
} from './model';

export interface ApplyContext {
  /** The partition whose batch this is. */
  readonly partition: number;
  /** Wall-clock time of the batch (ISO 8601), passed in to keep the function pure. */
  readonly now: string;
  /**
   * Every existing account the batch's commands name that this partition owns, plus this
   * partition's system accounts that already exist. A USER account this partition owns
   * that is absent here does not exist.
   */
  readonly accounts: ReadonlyMap<string, AccountState>;
  /** Routing snapshot for USER accounts. */
  partitionOf(accountId: string): number;
  /** Dedupe keys (see `dedupeKeyOf`) already applied in an earlier, committed batch. */
  readonly alreadyApplied: ReadonlySet<string>;
  /** Every existing hold the batch's CAPTURE, VOID_HOLD and EXPIRE_HOLD commands name. */
  readonly holds?: ReadonlyMap<string, HoldState>;
  /** Every existing transfer the batch's REVERSAL commands (and refunds of reversals) name. */
  readonly reversible?: ReadonlyMap<string, ReversibleTransfer>;
  /**
   * Accounts (of those the batch's UPDATE_ACCOUNT commands close) that have an outgoing
   * transfer still PROCESSING: a refund may still come home, so they cannot close yet.
   */
  readonly outgoingInFlight?: ReadonlySet<string>;
}

/**
 * A command that can never apply, whatever the state: a saga leg that names an account or an
 * original transfer that does not exist (no genuine leg does: it is built from its transfer's
 * row). Deterministic, so the worker isolates it (dead letter) and applies the rest; unlike an
 * InvariantViolation, it says nothing about the state this partition holds.
 */
export class UnprocessableCommand extends Error {
  override readonly name = 'UnprocessableCommand';
}

export function applyBatch(context: ApplyContext, commands: readonly Command[]): BatchEffects {
  const batch = new BatchBuilder(context);
  for (const command of commands) batch.apply(command);
  const effects = batch.effects();
  assertBatchInvariants(context, effects);
  return effects;
}

/**
 * The effects that isolate a client command whose write failed deterministically (the
 * worker found it by bisecting its batch): the transfer ends REJECTED with UNPROCESSABLE, so
 * the client's long poll ends, and nothing else moves. Its free text is left out (the text
 * itself may be what Postgres refused) and the principal made storable. A leg gets no
 * effects: its money is in transit and stays there, visible, with the transfer PROCESSING;
 * the dead-letter topic carries its bytes for an operator.
 */
export function isolateUnprocessable(context: Pick<ApplyContext, 'partition' | 'now'>, command: Command): BatchEffects {
  const batch = emptyBatch(context);
  // Voids, expiries and account changes move no money and have no transfer to end: the
  // dead letter is their only record (a PATCH waiting on one answers 202).
  if (command.type === 'CREDIT_LEG' || command.type === 'REFUND_LEG') return batch.effects();
  if (command.type === 'VOID_HOLD' || command.type === 'EXPIRE_HOLD' || command.type === 'UPDATE_ACCOUNT') return batch.effects();
  const principal = command.principal.toWellFormed().replaceAll('\u0000', '\ufffd');
  if (command.type === 'HOLD') {
    batch.rejectHoldAs({ ...command, principal, description: null }, 'UNPROCESSABLE');
    return batch.effects();
  }
  const safe: ClientCommand =
    command.type === 'CAPTURE' ? { ...command, principal } : { ...command, principal, description: null };
  batch.rejectAs(safe, 'UNPROCESSABLE');
  return batch.effects();
}

/**
 * Effects that change nothing: what the worker writes to advance past a message it can only
 * dead-letter, or to prove a failing write is the database's fault. Built by the builder, so
 * it has every field BatchEffects will ever have.
 */
export function noEffects(): BatchEffects {
  return emptyBatch({ partition: 0, now: '' }).effects();
}

function emptyBatch(context: Pick<ApplyContext, 'partition' | 'now'>): BatchBuilder {
  return new BatchBuilder({ ...context, accounts: new Map(), partitionOf: () => context.partition, alreadyApplied: new Set() });
}

/** Working state of one batch; every write goes through `post` so entries and balances agree. */
class BatchBuilder {
  private readonly working = new Map<string, AccountState>();
  private readonly created = new Set<string>();
  private readonly seen = new Set<string>();
  private readonly entries: EntryEffect[] = [];
  private readonly newTransfers: NewTransferEffect[] = [];
  private readonly transferStatuses: TransferStatusEffect[] = [];
  private readonly refusedLegs: RefusedLegEffect[] = [];
  private readonly outbox: OutboxEffect[] = [];
  private readonly outcomes: CommandOutcome[] = [];
  private readonly workingHolds = new Map<string, HoldState>();
  private readonly newHolds: NewHoldEffect[] = [];
  private readonly holdEnds: HoldEndEffect[] = [];
  private readonly reversalTotals = new Map<string, ReversalTotalEffect>();
  private readonly accountChanges: AccountChangeEffect[] = [];
  /** Accounts this batch debited for a saga still in flight (cannot close in this batch). */
  private readonly inFlightFrom = new Set<string>();

  constructor(private readonly context: ApplyContext) {}

  apply(command: Command): void {
    // The wire schema already bounds amounts; a command past it here is a programming error,
    // and a negative amount would turn a debit into a credit.
    if ('amount' in command && (command.amount <= 0n || command.amount > AMOUNT_MAX)) {
      throw new InvariantViolation(`command ${commandIdOf(command)} has amount ${command.amount} outside 1..${AMOUNT_MAX}`);
    }
    const id = commandIdOf(command);
    const key = dedupeKeyOf(command);
    if (key !== null && (this.context.alreadyApplied.has(key) || this.seen.has(key))) {
      this.outcomes.push({ commandId: id, result: 'DUPLICATE' });
      return;
    }
    const owner = this.context.partitionOf(subjectAccountOf(command));
    if (owner !== this.context.partition) {
      // Not ours (a bucket moved): forward without marking it seen, so the owner dedupes it.
      this.outbox.push({ kind: 'COMMAND', partition: owner, key: subjectAccountOf(command), command });
      this.outcomes.push({ commandId: id, result: 'FORWARDED' });
      return;
    }
    if (key !== null) this.seen.add(key);
    switch (command.type) {
      case 'TRANSFER':
        return this.applyTransfer(command);
      case 'DEPOSIT':
        return this.applyDeposit(command);
      case 'WITHDRAWAL':
        return this.applyWithdrawal(command);
      case 'CREDIT_LEG':
        return this.applyCreditLeg(command);
      case 'REFUND_LEG':
        return this.applyRefundLeg(command);
      case 'HOLD':
        return this.applyHold(command);
      case 'CAPTURE':
        return this.applyCapture(command);
      case 'VOID_HOLD':
      case 'EXPIRE_HOLD':
        return this.applyHoldRelease(command);
      case 'REVERSAL':
        return this.applyReversal(command);
      case 'UPDATE_ACCOUNT':
        return this.applyAccountUpdate(command);
    }
  }

  private applyTransfer(command: TransferCommand): void {
    const source = this.account(command.fromAccountId);
    const refusal = this.refuseSource(command, source);
    if (refusal) return this.reject(command, refusal);
    this.moveFromSource(command, command.fromAccountId, command.toAccountId, null);
  }

  /**
   * The debit side is accepted: move `command.amount` from `from` to `to`, at once when `to`
   * is this partition's, else through transit and a CREDIT_LEG (the saga). `afterDebit` runs
   * once the money has left `from` (a capture ends its hold there).
   */
  private moveFromSource(
    command: TransferCommand | CaptureCommand | ReversalCommand,
    from: string,
    to: string,
    afterDebit: (() => void) | null,
  ): void {
    const toPartition = this.context.partitionOf(to);
    if (toPartition === this.context.partition) {
      const destination = this.account(to);
      const destinationRefusal = refuseDestination(destination, command.currency) ?? this.refuseCredit(to, command.amount);
      if (destinationRefusal) return this.reject(command, destinationRefusal);
      afterDebit?.();
      this.post(from, command.transferId, 'DEBIT', -command.amount);
      this.post(to, command.transferId, 'CREDIT', command.amount);
      return this.complete(command);
    }
    // Cross-partition: money waits in this partition's transit account until p(B) answers.
    const transitRefusal = this.refuseCredit(this.systemAccountId('TRANSIT', command.currency), command.amount);
    if (transitRefusal) return this.reject(command, transitRefusal);
    afterDebit?.();
    this.post(from, command.transferId, 'DEBIT', -command.amount);
    this.post(this.systemAccount('TRANSIT', command.currency).id, command.transferId, 'DEBIT', command.amount);
    const row = this.transferRow(command, 'PROCESSING', null);
    if (row.fromAccountId !== from || row.toAccountId !== to) {
      throw new InvariantViolation(`transfer ${command.transferId}: its row names ${row.fromAccountId} -> ${row.toAccountId}, its money moves ${from} -> ${to}`);
    }
    this.newTransfers.push(row);
    this.inFlightFrom.add(from);
    this.outbox.push({ kind: 'COMMAND', partition: toPartition, key: to, command: creditLegOf(row), derivedAs: 'CREDIT_LEG' });
    this.outcomes.push({ commandId: command.transferId, result: 'PROCESSING' });
  }

  private applyDeposit(command: ClientCommand & { type: 'DEPOSIT' }): void {
    const account = this.account(command.accountId);
    const refusal =
      (!command.admin ? 'FORBIDDEN' : refuseDestination(account, command.currency, 'ACCOUNT_NOT_FOUND')) ??
      this.refuseCredit(command.accountId, command.amount) ??
      this.refuseDebit(this.systemAccountId('EXTERNAL', command.currency), command.amount);
    if (refusal) return this.reject(command, refusal);
    this.post(this.systemAccount('EXTERNAL', command.currency).id, command.transferId, 'DEBIT', -command.amount);
    this.post(command.accountId, command.transferId, 'CREDIT', command.amount);
    this.complete(command);
  }

  private applyWithdrawal(command: ClientCommand & { type: 'WITHDRAWAL' }): void {
    const account = this.account(command.accountId);
    const refusal = this.refuseSource(command, account) ?? this.refuseCredit(this.systemAccountId('EXTERNAL', command.currency), command.amount);
    if (refusal) return this.reject(command, refusal);
    this.post(command.accountId, command.transferId, 'DEBIT', -command.amount);
    this.post(this.systemAccount('EXTERNAL', command.currency).id, command.transferId, 'CREDIT', command.amount);
    this.complete(command);
  }

  private applyCreditLeg(command: CreditLegCommand): void {
    const destination = this.account(command.toAccountId);
    const refusal =
      refuseDestination(destination, command.currency) ??
      this.refuseCredit(command.toAccountId, command.amount) ??
      this.refuseDebit(this.systemAccountId('TRANSIT', command.currency), command.amount);
    if (refusal) {
      this.refusedLegs.push(this.refusedLeg(command, refusal));
      const refund: RefundLegCommand = {
        type: 'REFUND_LEG',
        transferId: command.transferId,
        kind: command.kind,
        reverses: command.reverses,
        holdId: command.holdId,
        fromAccountId: command.fromAccountId,
        toAccountId: command.toAccountId,
        amount: command.amount,
        currency: command.currency,
        reason: refusal,
        sourcePartition: this.context.partition,
      };
      this.outbox.push({ kind: 'COMMAND', partition: command.sourcePartition, key: command.fromAccountId, command: refund });
      this.outcomes.push({ commandId: command.transferId, result: 'LEG_REJECTED', reason: refusal });
      return;
    }
    this.post(this.systemAccount('TRANSIT', command.currency).id, command.transferId, 'CREDIT', -command.amount);
    this.post(command.toAccountId, command.transferId, 'CREDIT', command.amount);
    this.finish(command, command.kind, 'COMPLETED', null);
    this.outcomes.push({ commandId: command.transferId, result: 'LEG_APPLIED' });
  }

  private applyRefundLeg(command: RefundLegCommand): void {
    // The source account existed when it was debited and accounts are never deleted; a
    // refund must land even if the account was closed since: money goes back where it came from.
    if (!this.context.accounts.has(command.fromAccountId) && !this.working.has(command.fromAccountId)) {
      throw new UnprocessableCommand(`refund for transfer ${command.transferId} names unknown account ${command.fromAccountId}`);
    }
    if (command.kind === 'REVERSAL' && (command.reverses === null || !this.reversalTotalKnown(command.reverses))) {
      throw new UnprocessableCommand(`refund of reversal ${command.transferId} names no loaded original (${command.reverses ?? 'none'})`);
    }
    // A genuine refund repeats its transfer's facts: the source was debited in this currency,
    // and a refused reversal hands back what its debit added to the original's total. A leg
    // that says otherwise was written by someone else; applied, it would post one currency
    // against another or leave a negative total, which the batch's own check takes for a
    // bug (the worker once stopped on it; it now isolates the command as one).
    const source = this.account(command.fromAccountId);
    // A close waits for every transfer from its account to end (refuseAccountUpdate), so no
    // genuine refund follows its account's close in one batch. Applied, it would leave the
    // account closed with money, which the batch's check takes for a bug (every owner of the
    // partition stopped on it in turn until an outside review). A refund after a close in an
    // earlier batch reaches the write, which checks it against its transfer's row.
    if (source?.status === 'CLOSED' && this.context.accounts.get(command.fromAccountId)?.status !== 'CLOSED') {
      throw new UnprocessableCommand(`refund for transfer ${command.transferId} follows the close of its account ${command.fromAccountId} in the same batch`);
    }
    if (source && source.currency !== command.currency) {
      throw new UnprocessableCommand(`refund for transfer ${command.transferId} is in ${command.currency}, its account ${command.fromAccountId} in ${source.currency}`);
    }
    if (command.kind === 'REVERSAL' && command.reverses !== null && this.reversedSoFar(command.reverses) < command.amount) {
      throw new UnprocessableCommand(`refund of reversal ${command.transferId} hands back ${command.amount}, more than ${command.reverses} has reversed`);
    }
    if (this.refuseCredit(command.fromAccountId, command.amount, BALANCE_MAX) ?? this.refuseDebit(this.systemAccountId('TRANSIT', command.currency), command.amount)) {
      // Not even the reserve above USER_BALANCE_MAX holds it: keep the money in transit, where
      // reconcile shows it against this PROCESSING transfer, rather than write past bigint.
      this.refusedLegs.push(this.refusedLeg(command, 'BALANCE_LIMIT_EXCEEDED'));
      this.outcomes.push({ commandId: command.transferId, result: 'LEG_REJECTED', reason: 'BALANCE_LIMIT_EXCEEDED' });
      return;
    }
    this.post(this.systemAccount('TRANSIT', command.currency).id, command.transferId, 'REFUND', -command.amount);
    this.post(command.fromAccountId, command.transferId, 'REFUND', command.amount);
    // A refused reversal reversed nothing: its amount goes back to the original's total.
    if (command.kind === 'REVERSAL' && command.reverses !== null) this.addReversed(command.reverses, -command.amount);
    this.finish(command, command.kind, 'REJECTED', command.reason);
    this.outcomes.push({ commandId: command.transferId, result: 'LEG_APPLIED' });
  }

  private applyHold(command: HoldCommand): void {
    const account = this.account(command.accountId);
    const refusal = this.refuseSource(command, account) ?? this.refuseHeld(account, command.amount);
    if (refusal) {
      this.newHolds.push(this.holdRow(command, 'REJECTED', refusal));
      this.outbox.push({ kind: 'EVENT', key: command.holdId, event: this.holdEvent('HoldRejected', command, 0n, refusal) });
      this.outcomes.push({ commandId: command.holdId, result: 'REJECTED', reason: refusal });
      return;
    }
    this.changeHeld(command.accountId, command.amount);
    this.newHolds.push(this.holdRow(command, 'HELD', null));
    this.workingHolds.set(command.holdId, {
      id: command.holdId,
      accountId: command.accountId,
      amount: command.amount,
      capturedAmount: 0n,
      currency: command.currency,
      status: 'HELD',
      expiresAt: command.expiresAt,
    });
    this.outbox.push({ kind: 'EVENT', key: command.holdId, event: this.holdEvent('HoldPlaced', command, 0n, null) });
    this.outcomes.push({ commandId: command.holdId, result: 'HELD' });
  }

  private applyCapture(command: CaptureCommand): void {
    const hold = this.hold(command.holdId);
    if (!hold || hold.accountId !== command.accountId) return this.reject(command, 'HOLD_NOT_ACTIVE');
    // Released by the expiry scan before the capture came: the capture is late, as below.
    if (hold.status === 'EXPIRED') return this.reject(command, 'HOLD_EXPIRED');
    if (hold.status !== 'HELD') return this.reject(command, 'HOLD_NOT_ACTIVE');
    // Late is when the API accepted it, not when this writer got to it: a capture acknowledged
    // before expires_at and still finding the hold HELD is taken, however far behind the
    // partition is (an outside review: workers paused past expires_at turned a capture the
    // merchant sent in time into HOLD_EXPIRED); and a replay decides it the same way.
    if (acceptedWhenDue(command, hold)) {
      // Released here if this writer's clock agrees it is due (the scan's own rule).
      if (this.isDue(hold)) this.endHold(hold, 'EXPIRED', 0n, null);
      return this.reject(command, 'HOLD_EXPIRED');
    }
    const account = this.account(hold.accountId);
    if (!account) throw new InvariantViolation(`hold ${hold.id} names unknown account ${hold.accountId}`);
    const refusal = this.refuseCapture(command, account, hold);
    if (refusal) return this.reject(command, refusal);
    // Cannot fail for lack of funds: `held` drops by hold.amount >= amount, so available
    // (balance - held) only grows, and it was within the limit before.
    this.moveFromSource(command, hold.accountId, command.toAccountId, () => this.endHold(hold, 'CAPTURED', command.amount, command.transferId));
  }

  private refuseCapture(command: CaptureCommand, account: AccountState, hold: HoldState): RejectionReason | null {
    if (!command.admin && account.owner !== command.principal) return 'FORBIDDEN';
    if (account.status === 'CLOSED') return 'ACCOUNT_CLOSED';
    if (account.status === 'FROZEN') return 'ACCOUNT_FROZEN';
    if (command.currency !== hold.currency) return 'CURRENCY_MISMATCH';
    if (command.amount > hold.amount) return 'CAPTURE_EXCEEDS_HOLD';
    return null;
  }

  private applyHoldRelease(command: VoidHoldCommand | ExpireHoldCommand): void {
    const hold = this.hold(command.holdId);
    if (!hold || hold.status !== 'HELD' || hold.accountId !== command.accountId) {
      return void this.outcomes.push({ commandId: command.holdId, result: 'NO_CHANGE' });
    }
    if (command.type === 'VOID_HOLD') {
      const account = this.account(hold.accountId);
      if (!command.admin && account?.owner !== command.principal) {
        return void this.outcomes.push({ commandId: command.holdId, result: 'NO_CHANGE' });
      }
      // A void accepted at or after expires_at finds the hold expired; one accepted before it
      // voids it, however late it is applied (as a capture, above).
      this.endHold(hold, acceptedWhenDue(command, hold) ? 'EXPIRED' : 'VOIDED', 0n, null);
      return void this.outcomes.push({ commandId: command.holdId, result: 'HOLD_ENDED' });
    }
    // An expiry is applied only when this writer's own clock agrees the hold is due.
    if (!this.isDue(hold)) return void this.outcomes.push({ commandId: command.holdId, result: 'NO_CHANGE' });
    this.endHold(hold, 'EXPIRED', 0n, null);
    this.outcomes.push({ commandId: command.holdId, result: 'HOLD_ENDED' });
  }

  private applyReversal(command: ReversalCommand): void {
    const original = this.context.reversible?.get(command.reverses);
    if (
      !original ||
      original.status !== 'COMPLETED' ||
      !REVERSIBLE_KINDS.includes(original.kind) ||
      original.toAccountId !== command.fromAccountId ||
      (original.kind !== 'DEPOSIT' && original.fromAccountId === null)
    ) {
      return this.reject(command, 'TRANSFER_NOT_REVERSIBLE');
    }
    if (original.currency !== command.currency) return this.reject(command, 'CURRENCY_MISMATCH');
    const payer = this.account(command.fromAccountId);
    if (payer && payer.kind === 'USER' && !command.admin && payer.owner !== command.principal) return this.reject(command, 'FORBIDDEN');
    command = command.rest ? { ...command, amount: this.restOf(original) } : command;
    if (this.reversedOf(original) + command.amount > original.amount) return this.reject(command, 'REVERSAL_EXCEEDS_ORIGINAL');
    const refusal = this.refuseSource({ ...command, admin: true }, payer);
    if (refusal) return this.reject(command, refusal);
    if (original.kind === 'DEPOSIT') {
      // The money goes back outside, through this partition's external account.
      const limit = this.refuseCredit(this.systemAccountId('EXTERNAL', command.currency), command.amount);
      if (limit) return this.reject(command, limit);
      this.addReversed(original.id, command.amount);
      this.post(command.fromAccountId, command.transferId, 'DEBIT', -command.amount);
      this.post(this.systemAccount('EXTERNAL', command.currency).id, command.transferId, 'CREDIT', command.amount);
      return this.complete(command);
    }
    const before = this.newTransfers.length;
    this.moveFromSource(command, command.fromAccountId, original.fromAccountId!, null);
    // Reserved unless it was refused on the spot (same-partition destination closed...).
    const row = this.newTransfers[before];
    if (row && row.status !== 'REJECTED') this.addReversed(original.id, command.amount);
  }

  private applyAccountUpdate(command: UpdateAccountCommand): void {
    const account = this.account(command.accountId);
    const refusal = this.refuseAccountUpdate(command, account);
    if (refusal || !account) {
      const reason = refusal ?? 'ACCOUNT_NOT_FOUND';
      this.accountChanges.push(this.changeRow(command, account?.seq ?? 0n, 'REJECTED', reason));
      this.outbox.push({ kind: 'EVENT', key: command.accountId, event: this.accountEvent(command, command.status, command.overdraftLimit, reason) });
      this.outcomes.push({ commandId: command.changeId, result: 'ACCOUNT_UPDATE_REJECTED', reason });
      return;
    }
    const updated: AccountState = {
      ...account,
      status: command.status ?? account.status,
      overdraftLimit: command.overdraftLimit ?? account.overdraftLimit,
      rev: account.rev + 1n,
    };
    this.working.set(account.id, updated);
    this.accountChanges.push(this.changeRow(command, account.seq, 'APPLIED', null));
    this.outbox.push({ kind: 'EVENT', key: command.accountId, event: this.accountEvent(command, updated.status, updated.overdraftLimit, null) });
    this.outcomes.push({ commandId: command.changeId, result: 'ACCOUNT_UPDATED' });
  }

  private refuseAccountUpdate(command: UpdateAccountCommand, account: AccountState | undefined): AccountChangeReason | null {
    if (!account || account.kind !== 'USER') return 'ACCOUNT_NOT_FOUND';
    if (!command.admin) {
      // The owner may close the account and nothing else; the limit is credit, an admin's call.
      if (account.owner !== command.principal || command.overdraftLimit !== null || command.status !== 'CLOSED') return 'FORBIDDEN';
      // A freeze is an admin's too: closed by its owner, the account would refuse every credit
      // the admin who froze it still means it to take (a refund, a reversal).
      if (account.status === 'FROZEN') return 'FORBIDDEN';
    }
    if (account.status === 'CLOSED') {
      // Closing again is a no-op that succeeds; anything else would reopen or change it.
      return (command.status ?? 'CLOSED') === 'CLOSED' && command.overdraftLimit === null ? null : 'ACCOUNT_CLOSED';
    }
    const status = command.status ?? account.status;
    if (status === 'CLOSED') {
      const inFlight = this.inFlightFrom.has(account.id) || (this.context.outgoingInFlight?.has(account.id) ?? false);
      if (account.balance !== 0n || account.held !== 0n || inFlight) return 'ACCOUNT_NOT_EMPTY';
    }
    const limit = command.overdraftLimit ?? account.overdraftLimit;
    if (limit !== null && account.balance - account.held < -limit) return 'OVERDRAFT_IN_USE';
    return null;
  }

  /** Why the account named as the money's source cannot give `command.amount`, if it cannot. */
  private refuseSource(command: MoneyCommand, account: AccountState | undefined): RejectionReason | null {
    if (!account || account.kind !== 'USER') return 'ACCOUNT_NOT_FOUND';
    if (!command.admin && account.owner !== command.principal) return 'FORBIDDEN';
    if (account.status === 'CLOSED') return 'ACCOUNT_CLOSED';
    if (account.status === 'FROZEN') return 'ACCOUNT_FROZEN';
    if (account.currency !== command.currency) return 'CURRENCY_MISMATCH';
    if (!canDebit(account, command.amount)) return 'INSUFFICIENT_FUNDS';
    return null;
  }

  /**
   * BALANCE_LIMIT_EXCEEDED when crediting `amount` would take the account past its ceiling:
   * USER_BALANCE_MAX for a USER account (the rest is kept for refunds), BALANCE_MAX otherwise.
   */
  private refuseCredit(accountId: string, amount: bigint, userCeiling = USER_BALANCE_MAX): RejectionReason | null {
    const account = this.account(accountId);
    if (!account) return null; // not posted to: the caller refuses a missing account itself
    const ceiling = account.kind === 'USER' ? userCeiling : BALANCE_MAX;
    return account.balance + amount > ceiling ? 'BALANCE_LIMIT_EXCEEDED' : null;
  }

  /**
   * BALANCE_LIMIT_EXCEEDED when holding `amount` more would take the account's held total
   * past BALANCE_MAX (bigint, as `held` is in Postgres): reachable only above USER_BALANCE_MAX
   * (refunds) with a large overdraft limit, where Postgres refused the write (22003) and the
   * hold was isolated as UNPROCESSABLE (an outside review).
   */
  private refuseHeld(account: AccountState | undefined, amount: bigint): RejectionReason | null {
    return account && account.held + amount > BALANCE_MAX ? 'BALANCE_LIMIT_EXCEEDED' : null;
  }

  /** BALANCE_LIMIT_EXCEEDED when debiting `amount` would take the account below BALANCE_MIN. */
  private refuseDebit(accountId: string, amount: bigint): RejectionReason | null {
    const account = this.account(accountId);
    if (!account) return null;
    return account.balance - amount < BALANCE_MIN ? 'BALANCE_LIMIT_EXCEEDED' : null;
  }

  /** Rejects a client command whatever it says (see `isolateUnprocessable`). */
  rejectAs(command: ClientCommand, reason: RejectionReason): void {
    this.seen.add(dedupeKeyOf(command)!);
    this.reject(command, reason);
  }

  /** Refuses a hold whatever it says (see `isolateUnprocessable`). */
  rejectHoldAs(command: HoldCommand, reason: RejectionReason): void {
    this.seen.add(command.holdId);
    this.newHolds.push(this.holdRow(command, 'REJECTED', reason));
    this.outbox.push({ kind: 'EVENT', key: command.holdId, event: this.holdEvent('HoldRejected', command, 0n, reason) });
    this.outcomes.push({ commandId: command.holdId, result: 'REJECTED', reason });
  }

  private complete(command: ClientCommand): void {
    const row = this.transferRow(command, 'COMPLETED', null);
    this.newTransfers.push(row);
    this.outbox.push({ kind: 'EVENT', key: command.transferId, event: terminalEventOf(row), derivedAs: 'TERMINAL_EVENT' });
    this.outcomes.push({ commandId: command.transferId, result: 'COMPLETED' });
  }

  private reject(command: ClientCommand, reason: RejectionReason): void {
    const row = this.transferRow(command, 'REJECTED', reason);
    this.newTransfers.push(row);
    this.outbox.push({ kind: 'EVENT', key: command.transferId, event: terminalEventOf(row), derivedAs: 'TERMINAL_EVENT' });
    this.outcomes.push({ commandId: command.transferId, result: 'REJECTED', reason });
  }

  /** Terminal status of a cross-partition transfer, reached by one of its legs. */
  private finish(
    command: CreditLegCommand | RefundLegCommand,
    kind: TransferKind,
    status: 'COMPLETED' | 'REJECTED',
    reason: RejectionReason | null,
  ): void {
    this.transferStatuses.push({ id: command.transferId, status, reason, completedAt: this.context.now, leg: legFactsOf(command) });
    // The row as this status change leaves it: its facts are the leg's (creditLegOf).
    const event = terminalEventOf({
      id: command.transferId,
      kind,
      status,
      reason,
      fromAccountId: command.fromAccountId,
      toAccountId: command.toAccountId,
      amount: command.amount,
      currency: command.currency,
      completedAt: this.context.now,
      holdId: command.holdId,
      reverses: command.reverses,
    });
    this.outbox.push({ kind: 'EVENT', key: command.transferId, event, derivedAs: 'TERMINAL_EVENT' });
  }

  private account(id: string): AccountState | undefined {
    return this.working.get(id) ?? this.context.accounts.get(id);
  }

  private systemAccountId(kind: 'TRANSIT' | 'EXTERNAL', currency: string): string {
    return kind === 'TRANSIT' ? transitAccountId(this.context.partition, currency) : externalAccountId(this.context.partition, currency);
  }

  private hold(id: string): HoldState | undefined {
    return this.workingHolds.get(id) ?? this.context.holds?.get(id);
  }

  private isDue(hold: HoldState): boolean {
    return Date.parse(this.context.now) >= Date.parse(hold.expiresAt);
  }

  /** Ends a HELD hold: its whole amount leaves the account's `held`. */
  private endHold(hold: HoldState, status: 'CAPTURED' | 'VOIDED' | 'EXPIRED', capturedAmount: bigint, captureId: string | null): void {
    this.changeHeld(hold.accountId, -hold.amount);
    const ended: HoldState = { ...hold, status, capturedAmount };
    this.workingHolds.set(hold.id, ended);
    this.holdEnds.push({ id: hold.id, accountId: hold.accountId, amount: hold.amount, status, capturedAmount, captureId, completedAt: this.context.now });
    const type = status === 'CAPTURED' ? 'HoldCaptured' : status === 'VOIDED' ? 'HoldVoided' : 'HoldExpired';
    const event: HoldEvent = {
      type,
      holdId: hold.id,
      accountId: hold.accountId,
      amount: hold.amount,
      capturedAmount,
      currency: hold.currency,
      reason: null,
      occurredAt: this.context.now,
    };
    this.outbox.push({ kind: 'EVENT', key: hold.id, event });
  }

  private changeHeld(accountId: string, delta: bigint): void {
    const before = this.account(accountId);
    if (!before) throw new InvariantViolation(`hold on unknown account ${accountId}`);
    this.working.set(accountId, { ...before, held: before.held + delta, rev: before.rev + 1n });
  }

  private reversedOf(original: ReversibleTransfer): bigint {
    return this.reversalTotals.get(original.id)?.reversedAmount ?? original.reversedAmount;
  }

  /** What a reversal that named no amount takes: what is left, or the whole original when nothing is (refused). */
  private restOf(original: ReversibleTransfer): bigint {
    const left = original.amount - this.reversedOf(original);
    return left > 0n ? left : original.amount;
  }

  private reversalTotalKnown(transferId: string): boolean {
    return this.reversalTotals.has(transferId) || this.context.reversible?.get(transferId) !== undefined;
  }

  /** What has been reversed of `transferId` so far, this batch included (its total must be loaded). */
  private reversedSoFar(transferId: string): bigint {
    return this.reversalTotals.get(transferId)?.reversedAmount ?? this.context.reversible?.get(transferId)?.reversedAmount ?? 0n;
  }

  private addReversed(transferId: string, delta: bigint): void {
    if (!this.reversalTotalKnown(transferId)) throw new InvariantViolation(`reversal total of ${transferId} was not loaded`);
    const current = this.reversalTotals.get(transferId);
    const stored = this.context.reversible?.get(transferId)?.reversedAmount;
    const before = current?.before ?? stored!;
    const reversedAmount = (current?.reversedAmount ?? before) + delta;
    this.reversalTotals.set(transferId, { transferId, before, reversedAmount });
  }

  /** This partition's transit or external account for a currency, created on first use. */
  private systemAccount(kind: 'TRANSIT' | 'EXTERNAL', currency: string): AccountState {
    const id = this.systemAccountId(kind, currency);
    const existing = this.account(id);
    if (existing) {
      // Only this code writes a row at a system account's id; another row there (written with
      // the API's credentials: it picks an account's id) would be used as the partition's
      // transit or external account and break an invariant, stopping the worker on every
      // restart. It is the command's to fail, alone (an outside security review).
      if (existing.kind !== kind || existing.owner !== SYSTEM_OWNER || existing.currency !== currency) {
        throw new UnprocessableCommand(`account ${id}, this partition's ${kind} account for ${currency}, is a ${existing.kind} account of ${existing.owner} in ${existing.currency}: not one this ledger made`);
      }
      return existing;
    }
    const fresh: AccountState = {
      id,
      owner: SYSTEM_OWNER,
      kind,
      currency,
      status: 'OPEN',
      overdraftLimit: null,
      balance: 0n,
      seq: 0n,
      held: 0n,
      rev: 0n,
    };
    this.working.set(id, fresh);
    this.created.add(id);
    return fresh;
  }

  private post(accountId: string, transferId: string, step: MovementStep, amount: bigint): void {
    const before = this.account(accountId);
    if (!before) throw new InvariantViolation(`posting to unknown account ${accountId}`);
    const after: AccountState = { ...before, balance: before.balance + amount, seq: before.seq + 1n, rev: before.rev + 1n };
    this.working.set(accountId, after);
    this.entries.push({
      accountId,
      seq: after.seq,
      transferId,
      step,
      amount,
      balanceAfter: after.balance,
      currency: after.currency,
    });
  }

  private transferRow(
    command: ClientCommand,
    status: 'PROCESSING' | 'COMPLETED' | 'REJECTED',
    reason: RejectionReason | null,
  ): NewTransferEffect {
    return {
      id: command.transferId,
      kind: command.type,
      status,
      reason,
      ...transferEnds(command, this.context.reversible),
      amount: command.amount,
      currency: command.currency,
      principal: command.principal,
      requestHash: command.requestHash,
      description: command.type === 'CAPTURE' ? null : command.description,
      sourcePartition: this.context.partition,
      createdAt: command.acceptedAt,
      completedAt: status === 'PROCESSING' ? null : this.context.now,
      holdId: command.type === 'CAPTURE' ? command.holdId : null,
      reverses: command.type === 'REVERSAL' ? command.reverses : null,
    };
  }

  private holdRow(command: HoldCommand, status: 'HELD' | 'REJECTED', reason: RejectionReason | null): NewHoldEffect {
    return {
      id: command.holdId,
      accountId: command.accountId,
      amount: command.amount,
      currency: command.currency,
      status,
      reason,
      principal: command.principal,
      requestHash: command.requestHash,
      description: command.description,
      partition: this.context.partition,
      expiresAt: command.expiresAt,
      createdAt: command.acceptedAt,
      completedAt: status === 'REJECTED' ? this.context.now : null,
    };
  }

  private holdEvent(type: HoldEvent['type'], command: HoldCommand, capturedAmount: bigint, reason: RejectionReason | null): HoldEvent {
    return {
      type,
      holdId: command.holdId,
      accountId: command.accountId,
      amount: command.amount,
      capturedAmount,
      currency: command.currency,
      reason,
      occurredAt: this.context.now,
    };
  }

  private changeRow(
    command: UpdateAccountCommand,
    seqAt: bigint,
    outcome: 'APPLIED' | 'REJECTED',
    reason: AccountChangeReason | null,
  ): AccountChangeEffect {
    return {
      id: command.changeId,
      accountId: command.accountId,
      status: command.status,
      overdraftLimit: command.overdraftLimit,
      outcome,
      reason,
      principal: command.principal,
      requestHash: command.requestHash,
      seqAt,
      createdAt: command.acceptedAt,
      appliedAt: this.context.now,
    };
  }

  private accountEvent(
    command: UpdateAccountCommand,
    status: AccountStatus | null,
    overdraftLimit: bigint | null,
    reason: AccountChangeReason | null,
  ): AccountEvent {
    return {
      type: reason === null ? 'AccountUpdated' : 'AccountUpdateRejected',
      changeId: command.changeId,
      accountId: command.accountId,
      status,
      overdraftLimit,
      reason,
      occurredAt: this.context.now,
    };
  }

  private refusedLeg(command: CreditLegCommand | RefundLegCommand, reason: RejectionReason): RefusedLegEffect {
    return { transferId: command.transferId, leg: sagaLegOf(command), partition: this.context.partition, reason, facts: legFactsOf(command) };
  }

  effects(): BatchEffects {
    return {
      entries: this.entries,
      accounts: [...this.working.values()],
      createdAccountIds: this.created,
      newTransfers: this.newTransfers,
      transferStatuses: this.transferStatuses,
      refusedLegs: this.refusedLegs,
      newHolds: this.newHolds,
      holdEnds: this.holdEnds,
      reversalTotals: [...this.reversalTotals.values()],
      accountChanges: this.accountChanges,
      outbox: this.outbox,
      outcomes: this.outcomes,
    };
  }
}

/** The accounts a transfer row names: where the money left and where it arrived. */
function transferEnds(
  command: ClientCommand,
  reversible: ReadonlyMap<string, ReversibleTransfer> | undefined,
): { fromAccountId: string | null; toAccountId: string | null } {
  switch (command.type) {
    case 'TRANSFER':
      return { fromAccountId: command.fromAccountId, toAccountId: command.toAccountId };
    case 'CAPTURE':
      return { fromAccountId: command.accountId, toAccountId: command.toAccountId };
    case 'DEPOSIT':
      return { fromAccountId: null, toAccountId: command.accountId };
    case 'WITHDRAWAL':
      return { fromAccountId: command.accountId, toAccountId: null };
    case 'REVERSAL': {
      // Back to the original's source; a deposit's reversal leaves the ledger (no account).
      const original = reversible?.get(command.reverses);
      return { fromAccountId: command.fromAccountId, toAccountId: original?.kind === 'DEPOSIT' ? null : (original?.fromAccountId ?? null) };
    }
  }
}

/**
 * The API accepted `command` at or after the hold's `expires_at`. A capture's `acceptedAt` is
 * its key's claim, read from the database's clock as the hold's own claim was (expires_at
 * counts from it); a void's is the API host's clock (docs/api.md, "Holds").
 */
function acceptedWhenDue(command: CaptureCommand | VoidHoldCommand, hold: HoldState): boolean {
  return Date.parse(command.acceptedAt) >= Date.parse(hold.expiresAt);
}

/**
 * What the account can still spend: balance minus active holds plus the overdraft headroom
 * must cover `amount`. Every debit and every new hold goes through this.
 */
export function canDebit(account: AccountState, amount: bigint): boolean {
  if (account.overdraftLimit === null) return true;
  return account.balance - account.held - amount >= -account.overdraftLimit;
}

function refuseDestination(
  account: AccountState | undefined,
  currency: string,
  missing: RejectionReason = 'DESTINATION_NOT_FOUND',
): RejectionReason | null {
  if (!account || account.kind !== 'USER') return missing;
  // A FROZEN account still receives credits; only a CLOSED one refuses them.
  if (account.status === 'CLOSED') return 'ACCOUNT_CLOSED';
  if (account.currency !== currency) return 'CURRENCY_MISMATCH';
  return null;
}

