// Shared builders for the domain tests: accounts, commands, apply contexts, and carrying a
// batch's account effects forward into the next batch's state.
import type { ApplyContext, BatchEffects } from '../src';
import type {
  AccountState,
  AccountStatus,
  CreditLegCommand,
  DepositCommand,
  RefundLegCommand,
  RejectionReason,
  TransferCommand,
  WithdrawalCommand,
} from '../src/model';

export const NOW = '2026-11-21T05:00:00.000Z';
export const ACCEPTED_AT = '2026-11-21T04:59:59.000Z';
export const HASH = 'a'.repeat(64);

export interface UserOptions {
  owner?: string;
  currency?: string;
  balance?: bigint;
  overdraftLimit?: bigint;
  status?: AccountStatus;
  seq?: bigint;
  held?: bigint;
}

export function userAccount(id: string, options: UserOptions = {}): AccountState {
  return {
    id,
    owner: options.owner ?? 'alice',
    kind: 'USER',
    currency: options.currency ?? 'USD',
    status: options.status ?? 'OPEN',
    overdraftLimit: options.overdraftLimit ?? 0n,
    balance: options.balance ?? 0n,
    seq: options.seq ?? 0n,
    held: options.held ?? 0n,
    rev: options.seq ?? 0n,
  };
}

export function systemAccount(id: string, kind: 'TRANSIT' | 'EXTERNAL', currency: string, balance: bigint, seq: bigint): AccountState {
  return { id, owner: 'system', kind, currency, status: 'OPEN', overdraftLimit: null, balance, seq, held: 0n, rev: seq };
}

export interface ContextOptions {
  /** Where each named account lives; ids not listed live on `partition`. */
  routes?: ReadonlyMap<string, number> | Record<string, number>;
  alreadyApplied?: Iterable<string>;
  now?: string;
}

export function contextFor(partition: number, accounts: readonly AccountState[] | ReadonlyMap<string, AccountState>, options: ContextOptions = {}): ApplyContext {
  const routes = options.routes instanceof Map ? options.routes : new Map(Object.entries(options.routes ?? {}));
  const accountMap = accounts instanceof Map ? accounts : new Map((accounts as readonly AccountState[]).map((a) => [a.id, a]));
  return {
    partition,
    now: options.now ?? NOW,
    accounts: accountMap,
    partitionOf: (id: string) => routes.get(id) ?? partition,
    alreadyApplied: new Set(options.alreadyApplied ?? []),
  };
}

interface ClientOptions {
  currency?: string;
  principal?: string;
  admin?: boolean;
}

export function transferCmd(transferId: string, from: string, to: string, amount: bigint, options: ClientOptions & { description?: string | null } = {}): TransferCommand {
  return {
    type: 'TRANSFER',
    transferId,
    fromAccountId: from,
    toAccountId: to,
    amount,
    currency: options.currency ?? 'USD',
    principal: options.principal ?? 'alice',
    admin: options.admin ?? false,
    requestHash: HASH,
    acceptedAt: ACCEPTED_AT,
    description: options.description === undefined ? null : options.description,
  };
}

export function depositCmd(transferId: string, accountId: string, amount: bigint, options: ClientOptions = {}): DepositCommand {
  return {
    type: 'DEPOSIT',
    transferId,
    accountId,
    description: null,
    amount,
    currency: options.currency ?? 'USD',
    principal: options.principal ?? 'ops',
    admin: options.admin ?? true,
    requestHash: HASH,
    acceptedAt: ACCEPTED_AT,
  };
}

export function withdrawalCmd(transferId: string, accountId: string, amount: bigint, options: ClientOptions = {}): WithdrawalCommand {
  return {
    type: 'WITHDRAWAL',
    transferId,
    accountId,
    description: null,
    amount,
    currency: options.currency ?? 'USD',
    principal: options.principal ?? 'alice',
    admin: options.admin ?? false,
    requestHash: HASH,
    acceptedAt: ACCEPTED_AT,
  };
}

export function creditLegCmd(transferId: string, from: string, to: string, amount: bigint, sourcePartition: number, currency = 'USD'): CreditLegCommand {
  return { type: 'CREDIT_LEG', transferId, kind: 'TRANSFER', reverses: null, holdId: null, fromAccountId: from, toAccountId: to, amount, currency, sourcePartition };
}

export function refundLegCmd(
  transferId: string,
  from: string,
  to: string,
  amount: bigint,
  reason: RejectionReason,
  sourcePartition: number,
  currency = 'USD',
): RefundLegCommand {
  return { type: 'REFUND_LEG', transferId, kind: 'TRANSFER', reverses: null, holdId: null, fromAccountId: from, toAccountId: to, amount, currency, reason, sourcePartition };
}

/** The next batch's state: the previous map with every account the batch wrote replaced. */
export function carryForward(previous: ReadonlyMap<string, AccountState>, effects: BatchEffects): Map<string, AccountState> {
  const next = new Map(previous);
  for (const account of effects.accounts) next.set(account.id, account);
  return next;
}

export function accountIn(effects: BatchEffects, id: string): AccountState | undefined {
  return effects.accounts.find((a) => a.id === id);
}

/** JSON with bigints as tagged strings: a stable fingerprint of any effect or input. */
export function fingerprint(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (v instanceof Map) return { map: [...v.entries()] };
    if (v instanceof Set) return { set: [...v.values()] };
    return v;
  });
}
