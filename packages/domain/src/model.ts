/** The ledger's nouns, as the pure core sees them. Money is always bigint minor units. */

export type AccountKind = 'USER' | 'TRANSIT' | 'EXTERNAL';

/**
 * Owner names the ledger uses for its own accounts (transit, external). No token may carry
 * one as its principal: `sub=system` would otherwise read, and try to move, the system
 * accounts. packages/auth refuses them (case-insensitively) at token verification; add any
 * new internal owner here.
 */
export const INTERNAL_OWNERS: readonly string[] = ['system'];
export type AccountStatus = 'OPEN' | 'CLOSED';

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
}

/**
 * Every kind a stored movement can have. A list, not only a type: the history read
 * (GET /v1/transfers) walks one index range per (status, kind), so a kind missing here would
 * be missing from every account's history.
 */
export const TRANSFER_KINDS = ['TRANSFER', 'DEPOSIT', 'WITHDRAWAL'] as const;
export type TransferKind = (typeof TRANSFER_KINDS)[number];
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
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** Which half of a movement an entry or a saga message belongs to. */
export type Leg = 'DEBIT' | 'CREDIT' | 'REFUND';

interface MoneyCommandBase {
  readonly transferId: string;
  readonly amount: bigint;
  readonly currency: string;
  /** The authenticated principal that asked for it (JWT `sub`). */
  readonly principal: string;
  /** True when the principal held `ledger:admin` at ingest. */
  readonly admin: boolean;
  /** Hash of the request body: the API compares it to refuse a reused Idempotency-Key. */
  readonly requestHash: string;
  /** When the ingest API had Kafka acknowledge it (ISO 8601). */
  readonly acceptedAt: string;
}

export interface TransferCommand extends MoneyCommandBase {
  readonly type: 'TRANSFER';
  readonly fromAccountId: string;
  readonly toAccountId: string;
  readonly description: string | null;
}

export interface DepositCommand extends MoneyCommandBase {
  readonly type: 'DEPOSIT';
  readonly accountId: string;
}

export interface WithdrawalCommand extends MoneyCommandBase {
  readonly type: 'WITHDRAWAL';
  readonly accountId: string;
}

/** Saga step 2: sent by the source partition to the destination's partition. */
export interface CreditLegCommand {
  readonly type: 'CREDIT_LEG';
  readonly transferId: string;
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
  readonly fromAccountId: string;
  readonly toAccountId: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly reason: RejectionReason;
  /** The partition that refused the credit. */
  readonly sourcePartition: number;
}

export type ClientCommand = TransferCommand | DepositCommand | WithdrawalCommand;
export type LegCommand = CreditLegCommand | RefundLegCommand;
export type Command = ClientCommand | LegCommand;

/** The account a command must be applied next to: it decides the partition. */
export function subjectAccountOf(command: Command): string {
  switch (command.type) {
    case 'TRANSFER':
      return command.fromAccountId;
    case 'DEPOSIT':
    case 'WITHDRAWAL':
      return command.accountId;
    case 'CREDIT_LEG':
      return command.toAccountId;
    case 'REFUND_LEG':
      return command.fromAccountId;
  }
}

/** The key the single writer dedupes on: a client command once per transfer, each leg once. */
export function dedupeKeyOf(command: Command): string {
  switch (command.type) {
    case 'CREDIT_LEG':
      return `${command.transferId}:CREDIT`;
    case 'REFUND_LEG':
      return `${command.transferId}:REFUND`;
    default:
      return command.transferId;
  }
}
