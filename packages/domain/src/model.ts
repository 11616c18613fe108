/** The ledger's nouns, as the pure core sees them. Money is always bigint minor units. */

export type AccountKind = 'USER' | 'TRANSIT' | 'EXTERNAL';

/**
 * Owner names the ledger uses for its own accounts (transit, external). No token may carry
 * one as its principal: `sub=system` would otherwise read, and try to move, the system
 * accounts. packages/auth refuses them (case-insensitively) at token verification; add any
 * new internal owner here.
 */
export const SYSTEM_OWNER = 'system';
export const INTERNAL_OWNERS: readonly string[] = [SYSTEM_OWNER];

/**
 * Account life cycle (applied by the account's partition writer, UPDATE_ACCOUNT commands):
 *
 *   OPEN <--> FROZEN      admin only; FROZEN refuses every debit (ACCOUNT_FROZEN), credits land
 *   OPEN | FROZEN -> CLOSED   admin or owner; needs balance 0, no active hold and no outgoing
 *                             transfer in flight (ACCOUNT_NOT_EMPTY); refuses debits and
 *                             credits (ACCOUNT_CLOSED)
 *   CLOSED -> anything else   refused (ACCOUNT_CLOSED): a closed account stays closed
 *
 * Lowering `overdraftLimit` below what the account already uses (balance minus active holds)
 * is refused with OVERDRAFT_IN_USE.
 */
export type AccountStatus = 'OPEN' | 'FROZEN' | 'CLOSED';

/**
 * An account's balance as of a commit: what the worker sends to the cache after it, the cache
 * keeps, and the API shows (available = balance - held). One shape for all three.
 */
export interface BalanceFigure {
  accountId: string;
  currency: string;
  balance: bigint;
  /** The account's entry sequence number this balance reflects. */
  seq: bigint;
  /** Sum of the account's active holds. */
  held: bigint;
  /** The account's change counter: the cache's version (a hold moves `held`, not `seq`). */
  rev: bigint;
  /** ISO 8601: when the balance was committed (or read from Postgres). */
  asOf: string;
}

/** An account's balance figure as of `asOf` (a commit's, or the row's last change). */
export function balanceFigureOf(account: AccountState, asOf: string): BalanceFigure {
  return { accountId: account.id, currency: account.currency, balance: account.balance, seq: account.seq, held: account.held, rev: account.rev, asOf };
}
export const ACCOUNT_STATUSES = ['OPEN', 'FROZEN', 'CLOSED'] as const;

export interface AccountState {
  readonly id: string;
  readonly owner: string;
  readonly kind: AccountKind;
  readonly currency: string;
  readonly status: AccountStatus;
  /** How far below zero the balance may go. null = unbounded (system accounts only). */
  readonly overdraftLimit: bigint | null;
  readonly balance: bigint;
  /** Sequence number of the account's latest entry; 0 before the first. */
  readonly seq: bigint;
  /** Sum of the account's active (HELD) holds: `available` = balance - held. Never negative. */
  readonly held: bigint;
  /**
   * Bumped by every change the writer makes to the account (entry, hold, release, status,
   * limit): the balance cache's version, since a hold changes `available` but not `seq`.
   */
  readonly rev: bigint;
}

/**
 * Every kind a stored movement can have. A list, not only a type: the history read
 * (GET /v1/transfers) walks one index range per (status, kind), so a kind missing here would
 * be missing from every account's history.
 */
export const TRANSFER_KINDS = ['TRANSFER', 'DEPOSIT', 'WITHDRAWAL', 'CAPTURE', 'REVERSAL'] as const;
export type TransferKind = (typeof TRANSFER_KINDS)[number];
/** Kinds whose money moves between two user accounts through the saga's legs. */
export type SagaKind = 'TRANSFER' | 'CAPTURE' | 'REVERSAL';
/** Kinds a REVERSAL may pay back (the original must be COMPLETED). */
export const REVERSIBLE_KINDS: readonly TransferKind[] = ['TRANSFER', 'CAPTURE', 'DEPOSIT'];
export type TransferStatus = 'ACCEPTED' | 'PROCESSING' | 'COMPLETED' | 'REJECTED';
/** The statuses of a row in `transfers` (ACCEPTED is only ever in Redis). */
export const STORED_TRANSFER_STATUSES = ['PROCESSING', 'COMPLETED', 'REJECTED'] as const;

export const REJECTION_REASONS = [
  'INSUFFICIENT_FUNDS',
  'ACCOUNT_NOT_FOUND',
  'DESTINATION_NOT_FOUND',
  'CURRENCY_MISMATCH',
  'ACCOUNT_CLOSED',
  'FORBIDDEN',
  /** The result would not fit the balance's range (money.ts BALANCE_MAX / USER_BALANCE_MAX). */
  'BALANCE_LIMIT_EXCEEDED',
  /** The command could not be written (a deterministic write failure); it was dead-lettered. */
  'UNPROCESSABLE',
  'ACCOUNT_FROZEN',
  /** A capture of a hold that is not HELD (captured, voided, expired, rejected or unknown). */
  'HOLD_NOT_ACTIVE',
  /** A capture applied at or after the hold's `expires_at` by the partition's clock. */
  'HOLD_EXPIRED',
  /** A capture of more than the hold (only a message not written by the API can ask it). */
  'CAPTURE_EXCEEDS_HOLD',
  /** The reversals of a transfer would add up to more than its amount. */
  'REVERSAL_EXCEEDS_ORIGINAL',
  /** The original is not a COMPLETED TRANSFER, CAPTURE or DEPOSIT paid to the named account. */
  'TRANSFER_NOT_REVERSIBLE',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** Why an UPDATE_ACCOUNT was refused (409 on `PATCH /v1/accounts/{id}`). */
export const ACCOUNT_CHANGE_REASONS = ['ACCOUNT_NOT_EMPTY', 'OVERDRAFT_IN_USE', 'ACCOUNT_CLOSED', 'ACCOUNT_NOT_FOUND', 'FORBIDDEN'] as const;
export type AccountChangeReason = (typeof ACCOUNT_CHANGE_REASONS)[number];

/**
 * Hold life cycle (the hold row has one writer: the held account's partition):
 *
 *   ACCEPTED (API, Redis only) --HOLD applied--> HELD | REJECTED(reason)
 *   HELD --CAPTURE before expires_at--> CAPTURED (captured_amount <= amount; the rest released)
 *   HELD --VOID_HOLD before expires_at--> VOIDED
 *   HELD --EXPIRE_HOLD, or any capture/void, at or after expires_at--> EXPIRED
 *
 * Every arrow out of HELD releases the whole hold from the account's `held`; only CAPTURE
 * also posts entries. The writer decides "at or after expires_at" with its batch clock, so
 * a capture racing the expiry has exactly one outcome whatever order things are retried in.
 */
export type HoldStatus = 'HELD' | 'CAPTURED' | 'VOIDED' | 'EXPIRED' | 'REJECTED';
export const HOLD_STATUSES = ['HELD', 'CAPTURED', 'VOIDED', 'EXPIRED', 'REJECTED'] as const;

export interface HoldState {
  readonly id: string;
  readonly accountId: string;
  readonly amount: bigint;
  readonly capturedAmount: bigint;
  readonly currency: string;
  readonly status: HoldStatus;
  /** ISO 8601. */
  readonly expiresAt: string;
}

/** What a REVERSAL needs to know about the transfer it pays back. */
export interface ReversibleTransfer {
  readonly id: string;
  readonly kind: TransferKind;
  readonly status: 'PROCESSING' | 'COMPLETED' | 'REJECTED';
  readonly fromAccountId: string | null;
  readonly toAccountId: string | null;
  readonly amount: bigint;
  readonly currency: string;
  /** Sum of its COMPLETED and PROCESSING reversals (kept by the partition of `toAccountId`). */
  readonly reversedAmount: bigint;
}

/**
 * The step of a money movement that posted an entry (stored in `entries.leg`): DEBIT where
 * the money leaves (the source, or EXTERNAL for a deposit), CREDIT where it arrives, REFUND
 * where a refused credit brings it home. Not the entry's sign: a cross-partition debit
 * posts -amount on the source and +amount on the transit account, both DEBIT.
 */
export type MovementStep = 'DEBIT' | 'CREDIT' | 'REFUND';

/**
 * A saga message that crossed partitions (CREDIT_LEG, REFUND_LEG), deduped on `transfer:leg`:
 * applied, by the status it set on the transfer; refused, by its `transfer_legs` row.
 */
export type SagaLeg = 'CREDIT' | 'REFUND';

export function sagaLegOf(command: { readonly type: 'CREDIT_LEG' | 'REFUND_LEG' }): SagaLeg {
  return command.type === 'CREDIT_LEG' ? 'CREDIT' : 'REFUND';
}

interface MoneyCommandBase {
  readonly amount: bigint;
  readonly currency: string;
  /** The authenticated principal that asked for it (JWT `sub`). */
  readonly principal: string;
  /**
   * True when the principal held `ledger:admin` at ingest. On the wire this is never a flag:
   * the API seals the message (`CommandSeal`) and the worker sets it only if the seal verifies.
   */
  readonly admin: boolean;
  /** Hash of the request body: the API compares it to refuse a reused Idempotency-Key. */
  readonly requestHash: string;
  /**
   * When the ingest API first claimed its Idempotency-Key (ISO 8601): the claim row's
   * created_at (a batch item's: its batch's claim), taken before publishing, so every
   * publish of the same id carries the same value. Not when Kafka acknowledged it.
   */
  readonly acceptedAt: string;
}

/** A command that creates a transfer row, named by its id. */
interface ClientCommandBase extends MoneyCommandBase {
  readonly transferId: string;
}

export interface TransferCommand extends ClientCommandBase {
  readonly type: 'TRANSFER';
  readonly fromAccountId: string;
  readonly toAccountId: string;
  readonly description: string | null;
}

export interface DepositCommand extends ClientCommandBase {
  readonly type: 'DEPOSIT';
  readonly accountId: string;
  /** The depositor's reference (a wire's, a cheque's); null when none was given. */
  readonly description: string | null;
}

export interface WithdrawalCommand extends ClientCommandBase {
  readonly type: 'WITHDRAWAL';
  readonly accountId: string;
  readonly description: string | null;
}

/** Reserve `amount` of the account's available money until `expiresAt`. */
export interface HoldCommand extends MoneyCommandBase {
  readonly type: 'HOLD';
  readonly holdId: string;
  readonly accountId: string;
  /** ISO 8601, fixed by the API (accepted_at + expires_in_s) so every replay agrees. */
  readonly expiresAt: string;
  readonly description: string | null;
}

/** Move `amount` of a HELD hold from the held account (`accountId`) to `toAccountId`. */
export interface CaptureCommand extends ClientCommandBase {
  readonly type: 'CAPTURE';
  readonly holdId: string;
  readonly accountId: string;
  readonly toAccountId: string;
}

/** Pay back (part of) a COMPLETED transfer: from its destination (`fromAccountId`) to its source. */
export interface ReversalCommand extends ClientCommandBase {
  readonly type: 'REVERSAL';
  readonly reverses: string;
  /** The original's destination account: the payer, and the subject. */
  readonly fromAccountId: string;
  readonly description: string | null;
  /**
   * Set when the client named no amount: the reversal takes what is left of the original when
   * its writer applies it (the whole original when nothing is, which is refused), and `amount`
   * is only what was left when the API read it. The writer is the one place where every
   * earlier reversal of the original, in flight included, is counted.
   */
  readonly rest?: true;
}

/** Release a HELD hold without moving money. Idempotent by the hold's state, so no dedupe key. */
export interface VoidHoldCommand {
  readonly type: 'VOID_HOLD';
  readonly holdId: string;
  readonly accountId: string;
  readonly principal: string;
  readonly admin: boolean;
  readonly acceptedAt: string;
}

/**
 * Release a hold whose time has passed. Published by the partition's own worker to its own
 * partition when the hold falls due; the writer applies it only if its own clock agrees.
 */
export interface ExpireHoldCommand {
  readonly type: 'EXPIRE_HOLD';
  readonly holdId: string;
  readonly accountId: string;
}

/** Change an account's status and/or overdraft limit (`PATCH /v1/accounts/{id}`). */
export interface UpdateAccountCommand {
  readonly type: 'UPDATE_ACCOUNT';
  readonly changeId: string;
  readonly accountId: string;
  readonly status: AccountStatus | null;
  readonly overdraftLimit: bigint | null;
  readonly principal: string;
  readonly admin: boolean;
  readonly requestHash: string;
  readonly acceptedAt: string;
}

/** Saga step 2: sent by the source partition to the destination's partition. */
export interface CreditLegCommand {
  readonly type: 'CREDIT_LEG';
  readonly transferId: string;
  /** The saga's transfer kind (events and the reversal total need it). */
  readonly kind: SagaKind;
  /** For a REVERSAL: the transfer it pays back. */
  readonly reverses: string | null;
  /** For a CAPTURE: the hold it takes the money from (the transfer's events name it). */
  readonly holdId: string | null;
  readonly fromAccountId: string;
  readonly toAccountId: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly sourcePartition: number;
}

/** Saga step 3b: the destination could not take the money; send it home. */
export interface RefundLegCommand {
  readonly type: 'REFUND_LEG';
  readonly transferId: string;
  readonly kind: SagaKind;
  /** For a REVERSAL: its refund gives the amount back to the original's reversal total. */
  readonly reverses: string | null;
  /** For a CAPTURE: the hold it took the money from (the transfer's events name it). */
  readonly holdId: string | null;
  readonly fromAccountId: string;
  readonly toAccountId: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly reason: RejectionReason;
  /** The partition that refused the credit. */
  readonly sourcePartition: number;
}

/** Commands that create a transfer row. */
export type ClientCommand = TransferCommand | DepositCommand | WithdrawalCommand | CaptureCommand | ReversalCommand;
/** Commands that move money (or reserve it) and carry an amount. */
export type MoneyCommand = ClientCommand | HoldCommand;
export type LegCommand = CreditLegCommand | RefundLegCommand;
/** Commands that change state without an amount of their own. */
export type ControlCommand = VoidHoldCommand | ExpireHoldCommand | UpdateAccountCommand;
export type Command = MoneyCommand | LegCommand | ControlCommand;

/** The id a command's outcome is reported under: transfer, hold or account change. */
export function commandIdOf(command: Command): string {
  switch (command.type) {
    case 'HOLD':
    case 'VOID_HOLD':
    case 'EXPIRE_HOLD':
      return command.holdId;
    case 'UPDATE_ACCOUNT':
      return command.changeId;
    default:
      return command.transferId;
  }
}

/** The account a command must be applied next to: it decides the partition. */
export function subjectAccountOf(command: Command): string {
  switch (command.type) {
    case 'TRANSFER':
    case 'REVERSAL':
      return command.fromAccountId;
    case 'DEPOSIT':
    case 'WITHDRAWAL':
    case 'HOLD':
    case 'CAPTURE':
    case 'VOID_HOLD':
    case 'EXPIRE_HOLD':
    case 'UPDATE_ACCOUNT':
      return command.accountId;
    case 'CREDIT_LEG':
      return command.toAccountId;
    case 'REFUND_LEG':
      return command.fromAccountId;
  }
}

/**
 * The key the single writer dedupes on: a client command once per transfer (a hold once per
 * hold, an account change once per change), each leg once. null for VOID_HOLD and
 * EXPIRE_HOLD: applying one twice finds the hold no longer HELD and changes nothing, and an
 * expiry found not yet due must be able to come again.
 */
export function dedupeKeyOf(command: Command): string | null {
  switch (command.type) {
    case 'CREDIT_LEG':
      return `${command.transferId}:CREDIT`;
    case 'REFUND_LEG':
      return `${command.transferId}:REFUND`;
    case 'VOID_HOLD':
    case 'EXPIRE_HOLD':
      return null;
    case 'UPDATE_ACCOUNT':
      return command.changeId;
    case 'HOLD':
      return command.holdId;
    default:
      return command.transferId;
  }
}
