/**
 * Turns one partition's fetched Kafka messages into what the pure apply needs: decoded
 * commands (poison messages set aside for the dead-letter topic), the accounts they name
 * that this partition owns, and the keys to check for duplicates.
 */
import {
  type Command,
  externalAccountId,
  subjectAccountOf,
  transitAccountId,
} from '@ledgerline/domain';
import { type DeadLetterMessage, decodeCommand } from '@ledgerline/schemas';

export interface RawMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

export interface DecodedBatch {
  commands: Command[];
  deadLetters: DeadLetterMessage[];
}

export function decodeBatch(topic: string, partition: number, messages: readonly RawMessage[], now: string): DecodedBatch {
  const commands: Command[] = [];
  const deadLetters: DeadLetterMessage[] = [];
  for (const message of messages) {
    const decoded = decodeCommand(message.value);
    if (decoded.ok) {
      commands.push(decoded.command);
      continue;
    }
    deadLetters.push({
      v: 1,
      reason: decoded.reason,
      topic,
      partition,
      offset: message.offset,
      key_base64: message.key ? message.key.toString('base64') : null,
      value_base64: message.value ? message.value.toString('base64') : null,
      dead_lettered_at: now,
    });
  }
  return { commands, deadLetters };
}

/** Accounts the batch may read or write on this partition, system accounts included. */
export function accountsNamed(commands: readonly Command[], partition: number, partitionOf: (id: string) => number): string[] {
  const ids = new Set<string>();
  const currencies = new Set<string>();
  for (const command of commands) {
    ids.add(subjectAccountOf(command));
    currencies.add(command.currency);
    if (command.type === 'TRANSFER' && partitionOf(command.toAccountId) === partition) ids.add(command.toAccountId);
  }
  for (const currency of currencies) {
    ids.add(transitAccountId(partition, currency));
    ids.add(externalAccountId(partition, currency));
  }
  return [...ids];
}

export function dedupeCandidates(commands: readonly Command[]): {
  transferIds: string[];
  legs: { transferId: string; leg: 'CREDIT' | 'REFUND' }[];
} {
  const transferIds: string[] = [];
  const legs: { transferId: string; leg: 'CREDIT' | 'REFUND' }[] = [];
  for (const command of commands) {
    if (command.type === 'CREDIT_LEG') legs.push({ transferId: command.transferId, leg: 'CREDIT' });
    else if (command.type === 'REFUND_LEG') legs.push({ transferId: command.transferId, leg: 'REFUND' });
    else transferIds.push(command.transferId);
  }
  return { transferIds, legs };
}
