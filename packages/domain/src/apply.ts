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
 *
 * Every posting stays inside a balance's range (money.ts): a client command whose credit
 * would take a USER account past USER_BALANCE_MAX, or a system account past BALANCE_MAX /
 * BALANCE_MIN, is REJECTED with BALANCE_LIMIT_EXCEEDED, a normal outcome like
 * INSUFFICIENT_FUNDS; a credit leg refused for it sends the money home. A refund leg is the
 * one posting that cannot be refused (the money is in transit); it may use the range above
 * USER_BALANCE_MAX, and should even that not suffice, the leg is recorded REJECTED and the
 * money stays visible in transit with the transfer PROCESSING, for an operator to settle.
 *
 * A command whose subject account is routed to another partition (it arrived before a
 * bucket move finished) is forwarded there unchanged: this partition must not write an
 * account it does not own.
 */
import { AMOUNT_MAX, BALANCE_MAX, BALANCE_MIN, USER_BALANCE_MAX, withinBalanceRange } from './money';
import { externalAccountId, transitAccountId } from './ids';
import {
  type AccountState,
  type ClientCommand,
  type Command,
  type CreditLegCommand,
  type Leg,
  type RefundLegCommand,
  type RejectionReason,
  type TransferCommand,
  type TransferKind,
  type TransferStatus,
  dedupeKeyOf,
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
}

export interface EntryEffect {
  readonly accountId: string;
  readonly seq: bigint;
  readonly transferId: string;
  readonly leg: Leg;
  /** Signed: negative debits, positive credits. */
  readonly amount: bigint;
  readonly balanceAfter: bigint;
  readonly currency: string;
}

export interface NewTransferEffect {
  readonly id: string;
  readonly kind: TransferKind;
  readonly status: Exclude<TransferStatus, 'ACCEPTED'>;
  readonly reason: RejectionReason | null;
  readonly fromAccountId: string | null;
  readonly toAccountId: string | null;
  readonly amount: bigint;
  readonly currency: string;
  readonly principal: string;
  readonly requestHash: string;
  readonly description: string | null;
  readonly sourcePartition: number;
  readonly createdAt: string;
  readonly completedAt: string | null;
}

/** A status change of a transfer some earlier batch (possibly another partition's) created. */
export interface TransferStatusEffect {
  readonly id: string;
  readonly status: 'COMPLETED' | 'REJECTED';
  readonly reason: RejectionReason | null;
  readonly completedAt: string;
}

export interface LegEffect {
  readonly transferId: string;
  readonly leg: 'CREDIT' | 'REFUND';
  readonly partition: number;
  readonly outcome: 'APPLIED' | 'REJECTED';
  readonly reason: RejectionReason | null;
}

export interface TransferEvent {
  readonly type: 'TransferCompleted' | 'TransferRejected';
  readonly transferId: string;
  readonly kind: TransferKind;
  readonly fromAccountId: string | null;
  readonly toAccountId: string | null;
  readonly amount: bigint;
  readonly currency: string;
  readonly reason: RejectionReason | null;
  readonly occurredAt: string;
}

export type OutboxEffect =
  | { readonly kind: 'COMMAND'; readonly partition: number; readonly key: string; readonly command: Command }
  | { readonly kind: 'EVENT'; readonly key: string; readonly event: TransferEvent };

export type CommandOutcome =
  | { readonly transferId: string; readonly result: 'COMPLETED' | 'PROCESSING' | 'LEG_APPLIED' }
  | { readonly transferId: string; readonly result: 'REJECTED' | 'LEG_REJECTED'; readonly reason: RejectionReason }
  | { readonly transferId: string; readonly result: 'DUPLICATE' | 'FORWARDED' };

export interface BatchEffects {
  readonly entries: readonly EntryEffect[];
  /** Final state of every account whose balance changed or that the batch created. */
  readonly accounts: readonly AccountState[];
  /** Ids (subset of `accounts`) of system accounts the batch created. */
  readonly createdAccountIds: ReadonlySet<string>;
  readonly newTransfers: readonly NewTransferEffect[];
  readonly transferStatuses: readonly TransferStatusEffect[];
  readonly legs: readonly LegEffect[];
  readonly outbox: readonly OutboxEffect[];
  /** One per input command, same order. */
  readonly outcomes: readonly CommandOutcome[];
}

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
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
  const batch = new BatchBuilder({ ...context, accounts: new Map(), partitionOf: () => context.partition, alreadyApplied: new Set() });
  if (command.type === 'CREDIT_LEG' || command.type === 'REFUND_LEG') return batch.effects();
  const principal = command.principal.toWellFormed().replaceAll('\u0000', '\ufffd');
  const safe: ClientCommand = command.type === 'TRANSFER' ? { ...command, principal, description: null } : { ...command, principal };
  batch.rejectAs(safe, 'UNPROCESSABLE');
  return batch.effects();
}

/** Working state of one batch; every write goes through `post` so entries and balances agree. */
class BatchBuilder {
  private readonly working = new Map<string, AccountState>();
  private readonly created = new Set<string>();
  private readonly seen = new Set<string>();
  private readonly entries: EntryEffect[] = [];
  private readonly newTransfers: NewTransferEffect[] = [];
  private readonly transferStatuses: TransferStatusEffect[] = [];
  private readonly legs: LegEffect[] = [];
  private readonly outbox: OutboxEffect[] = [];
  private readonly outcomes: CommandOutcome[] = [];

  constructor(private readonly context: ApplyContext) {}

  apply(command: Command): void {
    // The wire schema already bounds amounts; a command past it here is a programming error,
    // and a negative amount would turn a debit into a credit.
    if (command.amount <= 0n || command.amount > AMOUNT_MAX) {
      throw new InvariantViolation(`command ${command.transferId} has amount ${command.amount} outside 1..${AMOUNT_MAX}`);
    }
    const key = dedupeKeyOf(command);
    if (this.context.alreadyApplied.has(key) || this.seen.has(key)) {
      this.outcomes.push({ transferId: command.transferId, result: 'DUPLICATE' });
      return;
    }
    const owner = this.context.partitionOf(subjectAccountOf(command));
    if (owner !== this.context.partition) {
      // Not ours (a bucket moved): forward without marking it seen, so the owner dedupes it.
      this.outbox.push({ kind: 'COMMAND', partition: owner, key: subjectAccountOf(command), command });
      this.outcomes.push({ transferId: command.transferId, result: 'FORWARDED' });
      return;
    }
    this.seen.add(key);
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
    }
  }

  private applyTransfer(command: TransferCommand): void {
    const source = this.account(command.fromAccountId);
    const refusal = this.refuseSource(command, source);
    if (refusal) return this.reject(command, refusal);
    const toPartition = this.context.partitionOf(command.toAccountId);
    if (toPartition === this.context.partition) {
      const destination = this.account(command.toAccountId);
      const destinationRefusal = refuseDestination(destination, command.currency) ?? this.refuseCredit(command.toAccountId, command.amount);
      if (destinationRefusal) return this.reject(command, destinationRefusal);
      this.post(command.fromAccountId, command.transferId, 'DEBIT', -command.amount);
      this.post(command.toAccountId, command.transferId, 'CREDIT', command.amount);
      return this.complete(command);
    }
    // Cross-partition: money waits in this partition's transit account until p(B) answers.
    const transitRefusal = this.refuseCredit(this.systemAccountId('TRANSIT', command.currency), command.amount);
    if (transitRefusal) return this.reject(command, transitRefusal);
    this.post(command.fromAccountId, command.transferId, 'DEBIT', -command.amount);
    this.post(this.systemAccount('TRANSIT', command.currency).id, command.transferId, 'DEBIT', command.amount);
    this.newTransfers.push(this.transferRow(command, 'PROCESSING', null));
    const leg: CreditLegCommand = {
      type: 'CREDIT_LEG',
      transferId: command.transferId,
      fromAccountId: command.fromAccountId,
      toAccountId: command.toAccountId,
      amount: command.amount,
      currency: command.currency,
      sourcePartition: this.context.partition,
    };
    this.outbox.push({ kind: 'COMMAND', partition: toPartition, key: command.toAccountId, command: leg });
    this.outcomes.push({ transferId: command.transferId, result: 'PROCESSING' });
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
      this.legs.push(this.legRow(command, 'REJECTED', refusal));
      const refund: RefundLegCommand = {
        type: 'REFUND_LEG',
        transferId: command.transferId,
        fromAccountId: command.fromAccountId,
        toAccountId: command.toAccountId,
        amount: command.amount,
        currency: command.currency,
        reason: refusal,
        sourcePartition: this.context.partition,
      };
      this.outbox.push({ kind: 'COMMAND', partition: command.sourcePartition, key: command.fromAccountId, command: refund });
      this.outcomes.push({ transferId: command.transferId, result: 'LEG_REJECTED', reason: refusal });
      return;
    }
    this.post(this.systemAccount('TRANSIT', command.currency).id, command.transferId, 'CREDIT', -command.amount);
    this.post(command.toAccountId, command.transferId, 'CREDIT', command.amount);
    this.legs.push(this.legRow(command, 'APPLIED', null));
    this.finish(command, 'TRANSFER', 'COMPLETED', null);
    this.outcomes.push({ transferId: command.transferId, result: 'LEG_APPLIED' });
  }

  private applyRefundLeg(command: RefundLegCommand): void {
    // The source account existed when it was debited and accounts are never deleted; a
    // refund must land even if the account was closed since: money goes back where it came from.
    if (!this.context.accounts.has(command.fromAccountId) && !this.working.has(command.fromAccountId)) {
      throw new InvariantViolation(`refund for transfer ${command.transferId} names unknown account ${command.fromAccountId}`);
    }
    if (this.refuseCredit(command.fromAccountId, command.amount, BALANCE_MAX) ?? this.refuseDebit(this.systemAccountId('TRANSIT', command.currency), command.amount)) {
      // Not even the reserve above USER_BALANCE_MAX holds it: keep the money in transit, where
      // reconcile shows it against this PROCESSING transfer, rather than write past bigint.
      this.legs.push(this.legRow(command, 'REJECTED', 'BALANCE_LIMIT_EXCEEDED'));
      this.outcomes.push({ transferId: command.transferId, result: 'LEG_REJECTED', reason: 'BALANCE_LIMIT_EXCEEDED' });
      return;
    }
    this.post(this.systemAccount('TRANSIT', command.currency).id, command.transferId, 'REFUND', -command.amount);
    this.post(command.fromAccountId, command.transferId, 'REFUND', command.amount);
    this.legs.push(this.legRow(command, 'APPLIED', null));
    this.finish(command, 'TRANSFER', 'REJECTED', command.reason);
    this.outcomes.push({ transferId: command.transferId, result: 'LEG_APPLIED' });
  }

  /** Why the account named as the money's source cannot give `command.amount`, if it cannot. */
  private refuseSource(command: ClientCommand, account: AccountState | undefined): RejectionReason | null {
    if (!account || account.kind !== 'USER') return 'ACCOUNT_NOT_FOUND';
    if (!command.admin && account.owner !== command.principal) return 'FORBIDDEN';
    if (account.status !== 'OPEN') return 'ACCOUNT_CLOSED';
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

  /** BALANCE_LIMIT_EXCEEDED when debiting `amount` would take the account below BALANCE_MIN. */
  private refuseDebit(accountId: string, amount: bigint): RejectionReason | null {
    const account = this.account(accountId);
    if (!account) return null;
    return account.balance - amount < BALANCE_MIN ? 'BALANCE_LIMIT_EXCEEDED' : null;
  }

  /** Rejects a client command whatever it says (see `isolateUnprocessable`). */
  rejectAs(command: ClientCommand, reason: RejectionReason): void {
    this.seen.add(dedupeKeyOf(command));
    this.reject(command, reason);
  }

  private complete(command: ClientCommand): void {
    this.newTransfers.push(this.transferRow(command, 'COMPLETED', null));
    this.outbox.push({ kind: 'EVENT', key: command.transferId, event: this.event(command, 'COMPLETED', null) });
    this.outcomes.push({ transferId: command.transferId, result: 'COMPLETED' });
  }

  private reject(command: ClientCommand, reason: RejectionReason): void {
    this.newTransfers.push(this.transferRow(command, 'REJECTED', reason));
    this.outbox.push({ kind: 'EVENT', key: command.transferId, event: this.event(command, 'REJECTED', reason) });
    this.outcomes.push({ transferId: command.transferId, result: 'REJECTED', reason });
  }

  /** Terminal status of a cross-partition transfer, reached by one of its legs. */
  private finish(
    command: CreditLegCommand | RefundLegCommand,
    kind: TransferKind,
    status: 'COMPLETED' | 'REJECTED',
    reason: RejectionReason | null,
  ): void {
    this.transferStatuses.push({ id: command.transferId, status, reason, completedAt: this.context.now });
    const event: TransferEvent = {
      type: status === 'COMPLETED' ? 'TransferCompleted' : 'TransferRejected',
      transferId: command.transferId,
      kind,
      fromAccountId: command.fromAccountId,
      toAccountId: command.toAccountId,
      amount: command.amount,
      currency: command.currency,
      reason,
      occurredAt: this.context.now,
    };
    this.outbox.push({ kind: 'EVENT', key: command.transferId, event });
  }

  private account(id: string): AccountState | undefined {
    return this.working.get(id) ?? this.context.accounts.get(id);
  }

  private systemAccountId(kind: 'TRANSIT' | 'EXTERNAL', currency: string): string {
    return kind === 'TRANSIT' ? transitAccountId(this.context.partition, currency) : externalAccountId(this.context.partition, currency);
  }

  /** This partition's transit or external account for a currency, created on first use. */
  private systemAccount(kind: 'TRANSIT' | 'EXTERNAL', currency: string): AccountState {
    const id = this.systemAccountId(kind, currency);
    const existing = this.account(id);
    if (existing) return existing;
    const fresh: AccountState = {
      id,
      owner: 'system',
      kind,
      currency,
      status: 'OPEN',
      overdraftLimit: null,
      balance: 0n,
      seq: 0n,
    };
    this.working.set(id, fresh);
    this.created.add(id);
    return fresh;
  }

  private post(accountId: string, transferId: string, leg: Leg, amount: bigint): void {
    const before = this.account(accountId);
    if (!before) throw new InvariantViolation(`posting to unknown account ${accountId}`);
    const after: AccountState = { ...before, balance: before.balance + amount, seq: before.seq + 1n };
    this.working.set(accountId, after);
    this.entries.push({
      accountId,
      seq: after.seq,
      transferId,
      leg,
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
    const isTransfer = command.type === 'TRANSFER';
    return {
      id: command.transferId,
      kind: command.type,
      status,
      reason,
      fromAccountId: isTransfer ? command.fromAccountId : command.type === 'WITHDRAWAL' ? command.accountId : null,
      toAccountId: isTransfer ? command.toAccountId : command.type === 'DEPOSIT' ? command.accountId : null,
      amount: command.amount,
      currency: command.currency,
      principal: command.principal,
      requestHash: command.requestHash,
      description: isTransfer ? command.description : null,
      sourcePartition: this.context.partition,
      createdAt: command.acceptedAt,
      completedAt: status === 'PROCESSING' ? null : this.context.now,
    };
  }

  private legRow(
    command: CreditLegCommand | RefundLegCommand,
    outcome: 'APPLIED' | 'REJECTED',
    reason: RejectionReason | null,
  ): LegEffect {
    const leg = command.type === 'CREDIT_LEG' ? 'CREDIT' : 'REFUND';
    return { transferId: command.transferId, leg, partition: this.context.partition, outcome, reason };
  }

  private event(command: ClientCommand, status: 'COMPLETED' | 'REJECTED', reason: RejectionReason | null): TransferEvent {
    const row = this.transferRow(command, status, reason);
    return {
      type: status === 'COMPLETED' ? 'TransferCompleted' : 'TransferRejected',
      transferId: row.id,
      kind: row.kind,
      fromAccountId: row.fromAccountId,
      toAccountId: row.toAccountId,
      amount: row.amount,
      currency: row.currency,
      reason,
      occurredAt: this.context.now,
    };
  }

  effects(): BatchEffects {
    return {
      entries: this.entries,
      accounts: [...this.working.values()],
      createdAccountIds: this.created,
      newTransfers: this.newTransfers,
      transferStatuses: this.transferStatuses,
      legs: this.legs,
      outbox: this.outbox,
      outcomes: this.outcomes,
    };
  }
}

export function canDebit(account: AccountState, amount: bigint): boolean {
  if (account.overdraftLimit === null) return true;
  return account.balance - amount >= -account.overdraftLimit;
}

function refuseDestination(
  account: AccountState | undefined,
  currency: string,
  missing: RejectionReason = 'DESTINATION_NOT_FOUND',
): RejectionReason | null {
  if (!account || account.kind !== 'USER') return missing;
  if (account.status !== 'OPEN') return 'ACCOUNT_CLOSED';
  if (account.currency !== currency) return 'CURRENCY_MISMATCH';
  return null;
}

/**
 * Asserted before anything is written: a batch that breaks one of these is a bug, and the
 * worker must stop rather than commit it (docs/design.md, invariants 1, 2 and 6).
 */
export function assertBatchInvariants(context: ApplyContext, effects: BatchEffects): void {
  const sumByCurrency = new Map<string, bigint>();
  const lastSeq = new Map<string, bigint>();
  const postedByAccount = new Map<string, bigint>();
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
    const previous = lastSeq.get(entry.accountId) ?? context.accounts.get(entry.accountId)?.seq ?? 0n;
    if (entry.seq !== previous + 1n) {
      throw new InvariantViolation(`account ${entry.accountId} entry seq ${entry.seq} does not follow ${previous}`);
    }
    lastSeq.set(entry.accountId, entry.seq);
  }
  for (const [currency, sum] of sumByCurrency) {
    if (sum !== 0n) throw new InvariantViolation(`batch is unbalanced in ${currency} by ${sum}`);
  }
  for (const account of effects.accounts) {
    if (!withinBalanceRange(account.balance)) {
      throw new InvariantViolation(`account ${account.id} would end at ${account.balance}, outside bigint`);
    }
    if (account.overdraftLimit !== null && account.balance < -account.overdraftLimit) {
      throw new InvariantViolation(`account ${account.id} would end at ${account.balance}, below its limit`);
    }
    const before = context.accounts.get(account.id)?.balance ?? 0n;
    if (before + (postedByAccount.get(account.id) ?? 0n) !== account.balance) {
      throw new InvariantViolation(`account ${account.id} balance does not equal its entries`);
    }
  }
}
