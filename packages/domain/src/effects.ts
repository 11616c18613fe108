/**
 * What applying a batch produces (`applyBatch`, apply.ts): the rows the worker writes in one
 * transaction, the messages it leaves for the outbox relay, and one outcome per command.
 * Plain data; the worker's batch write (packages/postgres) turns them into rows.
 */
import type {
  AccountChangeReason,
  AccountState,
  AccountStatus,
  Command,
  CreditLegCommand,
  MovementStep,
  RefundLegCommand,
  RejectionReason,
  SagaLeg,
  TransferKind,
  TransferStatus,
} from './model';

export interface EntryEffect {
  readonly accountId: string;
  readonly seq: bigint;
  readonly transferId: string;
  readonly step: MovementStep;
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
  /** CAPTURE: the hold it captures. */
  readonly holdId: string | null;
  /** REVERSAL: the transfer it pays back. */
  readonly reverses: string | null;
}

/** A hold the batch placed (HELD) or refused (REJECTED). */
export interface NewHoldEffect {
  readonly id: string;
  readonly accountId: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly status: 'HELD' | 'REJECTED';
  readonly reason: RejectionReason | null;
  readonly principal: string;
  readonly requestHash: string;
  readonly description: string | null;
  readonly partition: number;
  readonly expiresAt: string;
  readonly createdAt: string;
  readonly completedAt: string | null;
}

/** A HELD hold (of this or an earlier batch) that ended: its whole `amount` is released. */
export interface HoldEndEffect {
  readonly id: string;
  readonly accountId: string;
  readonly amount: bigint;
  readonly status: 'CAPTURED' | 'VOIDED' | 'EXPIRED';
  readonly capturedAmount: bigint;
  /** The CAPTURE transfer that ended it. */
  readonly captureId: string | null;
  readonly completedAt: string;
}

/** The new reversal total of a transfer (`before` is what the writer expects stored). */
export interface ReversalTotalEffect {
  readonly transferId: string;
  readonly before: bigint;
  readonly reversedAmount: bigint;
}

/** The outcome of an UPDATE_ACCOUNT, applied or refused. */
export interface AccountChangeEffect {
  readonly id: string;
  readonly accountId: string;
  readonly status: AccountStatus | null;
  readonly overdraftLimit: bigint | null;
  readonly outcome: 'APPLIED' | 'REJECTED';
  readonly reason: AccountChangeReason | null;
  readonly principal: string;
  readonly requestHash: string;
  /** The account's entry seq when the change was applied (no entry may follow a closing). */
  readonly seqAt: bigint;
  readonly createdAt: string;
  readonly appliedAt: string;
}

/** A status change of a transfer some earlier batch (possibly another partition's) created. */
export interface TransferStatusEffect {
  readonly id: string;
  readonly status: 'COMPLETED' | 'REJECTED';
  readonly reason: RejectionReason | null;
  readonly completedAt: string;
  /** The facts of the leg that sets it: the write refuses a status whose row has other facts. */
  readonly leg: LegFacts;
}

/**
 * What a saga leg claims about its transfer. A genuine leg is built from nothing but its
 * transfer's row (`creditLegOf`), so the write checks these against the row before it takes
 * the leg's status or records its refusal: a leg that names a transfer that does not exist,
 * or a real one with another amount, accounts or currency, is refused as the leg's own fault
 * (LL003) and dead-lettered, never applied and never taken for a second writer.
 */
export type LegFacts = Pick<CreditLegCommand, 'kind' | 'fromAccountId' | 'toAccountId' | 'amount' | 'currency' | 'holdId' | 'reverses'> & {
  /** The transfer's source partition: a credit leg's; null for a refund leg, whose `sourcePartition` is the partition that refused the credit. */
  readonly sourcePartition: number | null;
};

export function legFactsOf(command: CreditLegCommand | RefundLegCommand): LegFacts {
  const { kind, fromAccountId, toAccountId, amount, currency, holdId, reverses } = command;
  return { kind, fromAccountId, toAccountId, amount, currency, holdId, reverses, sourcePartition: command.type === 'CREDIT_LEG' ? command.sourcePartition : null };
}

/**
 * Whether a leg's facts are its transfer's row's, compared as the write compares them
 * (ledger_apply_batch: a capture's leg from before legs named their hold stands for any hold
 * of its transfer; a refund's source partition is not compared). The row's facts never change
 * once it is written, so a leg that does not carry them can never apply to it: a leg of a
 * restore's first run whose transfer the replay applied again on another source partition (its
 * account's bucket had moved after the backup), or a forged one.
 */
export function legFactsMatch(
  facts: LegFacts,
  transfer: Pick<NewTransferEffect, 'kind' | 'fromAccountId' | 'toAccountId' | 'amount' | 'currency' | 'sourcePartition' | 'holdId' | 'reverses'>,
): boolean {
  const same = (a: string | null, b: string | null) => (a === null ? b === null : b !== null && a.toLowerCase() === b.toLowerCase());
  return (
    facts.kind === transfer.kind &&
    facts.amount === transfer.amount &&
    facts.currency === transfer.currency &&
    same(facts.fromAccountId, transfer.fromAccountId) &&
    same(facts.toAccountId, transfer.toAccountId) &&
    same(facts.reverses, transfer.reverses) &&
    (same(facts.holdId, transfer.holdId) || (facts.holdId === null && facts.kind === 'CAPTURE')) &&
    (facts.sourcePartition === null || facts.sourcePartition === transfer.sourcePartition)
  );
}

/**
 * A saga leg the partition refused: it moved no money and changed no transfer's status, so
 * this row is its only record (and its dedupe key). A leg that applies is recorded by the
 * status it sets instead (COMPLETED for a credit leg, REJECTED for a refund leg): a copy then
 * finds the transfer no longer PROCESSING (docs/design.md, invariant 3).
 */
export interface RefusedLegEffect {
  readonly transferId: string;
  readonly leg: SagaLeg;
  readonly partition: number;
  readonly reason: RejectionReason;
  /** Checked against the transfer's row like a status change's (TransferStatusEffect). */
  readonly facts: LegFacts;
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
  readonly holdId?: string | null;
  readonly reverses?: string | null;
}

export interface HoldEvent {
  readonly type: 'HoldPlaced' | 'HoldRejected' | 'HoldCaptured' | 'HoldVoided' | 'HoldExpired';
  readonly holdId: string;
  readonly accountId: string;
  readonly amount: bigint;
  readonly capturedAmount: bigint;
  readonly currency: string;
  readonly reason: RejectionReason | null;
  readonly occurredAt: string;
}

export interface AccountEvent {
  readonly type: 'AccountUpdated' | 'AccountUpdateRejected';
  readonly changeId: string;
  readonly accountId: string;
  /** The account's status and limit after the change (as asked, when refused). */
  readonly status: AccountStatus | null;
  readonly overdraftLimit: bigint | null;
  readonly reason: AccountChangeReason | null;
  readonly occurredAt: string;
}

export type LedgerEvent = TransferEvent | HoldEvent | AccountEvent;

/**
 * A message the batch leaves for the outbox relay. `derivedAs` is set on the messages built
 * from nothing but their transfer's row as this batch leaves it (`creditLegOf`,
 * `terminalEventOf`): the outbox may store the transfer's id instead of the message, and
 * the sweeper rebuild it from that row.
 */
export type OutboxEffect =
  | { readonly kind: 'COMMAND'; readonly partition: number; readonly key: string; readonly command: Command; readonly derivedAs?: undefined }
  | { readonly kind: 'COMMAND'; readonly partition: number; readonly key: string; readonly command: CreditLegCommand; readonly derivedAs: 'CREDIT_LEG' }
  | { readonly kind: 'EVENT'; readonly key: string; readonly event: LedgerEvent; readonly derivedAs?: undefined }
  | { readonly kind: 'EVENT'; readonly key: string; readonly event: TransferEvent; readonly derivedAs: 'TERMINAL_EVENT' };

/** `commandId` is the command's id (`commandIdOf`): a transfer's, a hold's or an account change's. */
export type CommandOutcome =
  | { readonly commandId: string; readonly result: 'COMPLETED' | 'PROCESSING' | 'LEG_APPLIED' | 'HELD' | 'HOLD_ENDED' | 'ACCOUNT_UPDATED' }
  | { readonly commandId: string; readonly result: 'REJECTED' | 'LEG_REJECTED'; readonly reason: RejectionReason }
  | { readonly commandId: string; readonly result: 'ACCOUNT_UPDATE_REJECTED'; readonly reason: AccountChangeReason }
  /** A void or expiry that found the hold no longer HELD (or, for an expiry, not yet due). */
  | { readonly commandId: string; readonly result: 'NO_CHANGE' }
  | { readonly commandId: string; readonly result: 'DUPLICATE' | 'FORWARDED' };

export interface BatchEffects {
  readonly entries: readonly EntryEffect[];
  /** Final state of every account whose balance changed or that the batch created. */
  readonly accounts: readonly AccountState[];
  /** Ids (subset of `accounts`) of system accounts the batch created. */
  readonly createdAccountIds: ReadonlySet<string>;
  readonly newTransfers: readonly NewTransferEffect[];
  readonly transferStatuses: readonly TransferStatusEffect[];
  readonly refusedLegs: readonly RefusedLegEffect[];
  readonly newHolds: readonly NewHoldEffect[];
  readonly holdEnds: readonly HoldEndEffect[];
  readonly reversalTotals: readonly ReversalTotalEffect[];
  readonly accountChanges: readonly AccountChangeEffect[];
  readonly outbox: readonly OutboxEffect[];
  /** One per input command, same order. */
  readonly outcomes: readonly CommandOutcome[];
}
