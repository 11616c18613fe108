/**
 * Turns the messages of one partition's fetch, a batch at a time, into what the pure apply needs: decoded
 * commands (poison messages set aside for the dead-letter topic), the accounts they name
 * that this partition owns, and the keys to check for duplicates.
 */
import {
  type Command,
  type ReversibleTransfer,
  type SagaLeg,
  dedupeKeyOf,
  externalAccountId,
  sagaLegOf,
  subjectAccountOf,
  transitAccountId,
} from '@ledgerline/domain';
import type { ConsumedMessage } from '@ledgerline/kafka';
import { type CommandSeal, type DeadLetterMessage, type Fence, deadLetterOf, decodeCommand } from '@ledgerline/schemas';


export interface DecodedBatch {
  commands: Command[];
  deadLetters: DeadLetterMessage[];
  /** The FENCE marker the batch ends at, if any (see `decodeBatch`). */
  fence: Fence | null;
}

/**
 * Decodes the next batch: messages up to and including the first FENCE marker (the batch
 * ends at the fence), and says how many it took. Commands after a fence must see the
 * routing the fence changes, so they go in the next batch (the next transaction).
 *
 * A REVERSAL, or a close of an account, also ends the batch before it (readsCommittedState):
 * it begins the next one, which the applier prepares only once this one has committed, as
 * after a fence. Each reads rows the commands before it in the log may change, and that
 * neither the batch's own apply nor the overlay of the batch being committed carries: a
 * reversal its original transfer's row (the credit leg that completes it), a close which of
 * its account's transfers are still PROCESSING (a REFUND_LEG that ends one). In one batch
 * with them, or prepared while their batch commits, it would be refused
 * (TRANSFER_NOT_REVERSIBLE, ACCOUNT_NOT_EMPTY) where applied after them it succeeds. In normal
 * operation such a command comes long after what it depends on, which its client read first;
 * a replay of the log (a restored database, docs/operations.md) brings them together, and the
 * log must apply to the same result however it is cut into batches.
 */
export function decodeBatch(
  topic: string,
  partition: number,
  messages: readonly ConsumedMessage[],
  now: string,
  seal: CommandSeal,
): { batch: DecodedBatch; taken: number } {
  const commands: Command[] = [];
  const deadLetters: DeadLetterMessage[] = [];
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    const decoded = decodeCommand(message.value, seal);
    if (decoded.ok && decoded.command) {
      if (readsCommittedState(decoded.command) && i > 0) return { batch: { commands, deadLetters, fence: null }, taken: i };
      commands.push(decoded.command);
      continue;
    }
    if (decoded.ok) return { batch: { commands, deadLetters, fence: decoded.fence }, taken: i + 1 };
    deadLetters.push(deadLetterOf({ topic, partition, offset: message.offset, key: message.key, value: message.value }, decoded.reason, now));
  }
  return { batch: { commands, deadLetters, fence: null }, taken: messages.length };
}

/**
 * Whether `command` begins its own batch, prepared once the batch before it has committed
 * (decodeBatch), wherever that batch ended: at it, or full right before it
 * (WORKER_BATCH_COMMANDS_MAX, or a saga leg tried alone). It does when it reads committed
 * state that the overlay of the batch ahead (`Ahead` in partition-applier.ts: balances,
 * holds, reversal totals, new transfers' sources) does not carry. Every command type has its
 * case and there is no default (as in packages/domain's per-type switches), so a new type
 * does not compile until someone decides: left out, it would be batched with what it
 * depends on, and no test would notice until a replay cut the log differently.
 */
export function readsCommittedState(command: Command): boolean {
  switch (command.type) {
    // Balances and account states only, which the overlay carries.
    case 'TRANSFER':
    case 'DEPOSIT':
    case 'WITHDRAWAL':
    // The hold's state (hold-state.ts), overlaid.
    case 'HOLD':
    case 'CAPTURE':
    case 'VOID_HOLD':
    case 'EXPIRE_HOLD':
    // A leg's transfer row is checked by ledger_apply_batch at commit, not read here; a leg of
    // a reversal reads its original's reversal total, which the overlay carries.
    case 'CREDIT_LEG':
    case 'REFUND_LEG':
      return false;
    // The original's status (COMPLETED by its credit leg, which the overlay does not carry).
    case 'REVERSAL':
      return true;
    // A close reads which of its account's transfers are still PROCESSING (a REFUND_LEG ends
    // one, and the overlay carries only new ones); a freeze or a limit reads the account only.
    case 'UPDATE_ACCOUNT':
      return command.status === 'CLOSED';
  }
}

/** Whether `message` is a command that begins its own batch (readsCommittedState). */
export function beginsItsOwnBatch(message: ConsumedMessage, seal: CommandSeal): boolean {
  const decoded = decodeCommand(message.value, seal);
  return decoded.ok && !!decoded.command && readsCommittedState(decoded.command);
}

/** Accounts the batch may read or write on this partition, system accounts included. */
export function accountsNamed(
  commands: readonly Command[],
  partition: number,
  partitionOf: (id: string) => number,
  reversible: ReadonlyMap<string, ReversibleTransfer> = new Map(),
): string[] {
  const ids = new Set<string>();
  const currencies = new Set<string>();
  for (const command of commands) {
    ids.add(subjectAccountOf(command));
    if ('currency' in command) currencies.add(command.currency);
    if ((command.type === 'TRANSFER' || command.type === 'CAPTURE') && partitionOf(command.toAccountId) === partition) ids.add(command.toAccountId);
    if (command.type === 'REVERSAL') {
      // A reversal pays the original's source back: on this partition, at once.
      const source = reversible.get(command.reverses)?.fromAccountId;
      if (source && partitionOf(source) === partition) ids.add(source);
    }
  }
  for (const currency of currencies) {
    ids.add(transitAccountId(partition, currency));
    ids.add(externalAccountId(partition, currency));
  }
  return [...ids];
}

export function dedupeCandidates(commands: readonly Command[]): {
  transferIds: string[];
  legs: { transferId: string; leg: SagaLeg }[];
} {
  const transferIds: string[] = [];
  const legs: { transferId: string; leg: SagaLeg }[] = [];
  for (const command of commands) {
    if (command.type === 'CREDIT_LEG' || command.type === 'REFUND_LEG') legs.push({ transferId: command.transferId, leg: sagaLegOf(command) });
    else {
      // Transfers, holds and account changes by id; voids and expiries have no key (state decides).
      const key = dedupeKeyOf(command);
      if (key !== null) transferIds.push(key);
    }
  }
  return { transferIds, legs };
}
