/**
 * What the outbox stores for a batch's messages, and how the sweeper gets a stored row's
 * message back.
 *
 * A credit leg and a transfer's terminal event are built from nothing but their transfer's
 * row (the domain's `creditLegOf` and `terminalEventOf`), so their rows store the transfer's
 * id instead of the message (migration 0017): the relay publishes the message it holds in
 * memory, and after a crash the sweeper rebuilds it from the transfer's row with the same
 * functions. Every other message is stored as it is published.
 */
import { type BatchEffects, creditLegOf, terminalEventOf } from '@ledgerline/domain';
import type { OutboxRow, OutboxRowInput, UnpublishedOutboxRow } from '@ledgerline/postgres';
import { type CommandSeal, encodeCommand, toLedgerEventMessage } from '@ledgerline/schemas';

/**
 * The outbox rows of a batch: its messages in order, then its dead letters. `seal` seals a
 * forwarded operator command again (its seal was verified when it was decoded here, and the
 * new owner verifies it again): a command that reached the partition that owned its bucket
 * before a move goes on with the authority it came with.
 */
export function outboxRowsOf(effects: BatchEffects, deadLetters: readonly object[], seal: CommandSeal): OutboxRowInput[] {
  const rows: OutboxRowInput[] = [];
  for (const item of effects.outbox) {
    if (item.kind === 'COMMAND') {
      const row: OutboxRowInput = { topic: 'commands', targetPartition: item.partition, key: item.key, payload: encodeCommand(item.command, seal) };
      rows.push(item.derivedAs ? { ...row, derived: { as: item.derivedAs, transferId: item.command.transferId } } : row);
    } else {
      const row: OutboxRowInput = { topic: 'events', targetPartition: null, key: item.key, payload: JSON.stringify(toLedgerEventMessage(item.event)) };
      rows.push(item.derivedAs ? { ...row, derived: { as: item.derivedAs, transferId: item.event.transferId } } : row);
    }
  }
  for (const letter of deadLetters) rows.push({ topic: 'dead-letter', targetPartition: 0, key: null, payload: JSON.stringify(letter) });
  return rows;
}

/**
 * A row the sweeper found, with its message: as stored, or rebuilt from its transfer's row.
 * Throws for a derived row whose transfer does not exist (a broken ledger, never a leftover).
 *
 * A stored payload comes back as Postgres renders jsonb (members reordered, a space after each
 * colon and comma), not as the text the relay had: the same JSON value, which is all an event
 * or a leg needs. Not a sealed command's, though: its seal is an HMAC of the exact text, the
 * last member of it, so the rendering would be dead-lettered as forged (an operator's command
 * forwarded after a bucket move, left unpublished by a crash). `seal` seals it again, over
 * the text sent: the outbox is written by this ledger's workers only, and the command was
 * verified when it was decoded, before the batch that stored it.
 */
export function withMessage(row: UnpublishedOutboxRow, seal: CommandSeal): OutboxRow & { sourcePartition: number } {
  const { id, sourcePartition, topic, targetPartition } = row;
  if (row.derivedFrom === null) {
    const payload = topic === 'commands' ? seal.sealAgain(row.payload) : row.payload;
    return { id, sourcePartition, topic, targetPartition, key: row.key, payload };
  }
  const { as, transfer, transferId } = row.derivedFrom;
  if (transfer === null) throw new Error(`outbox row ${sourcePartition}/${id} is derived from transfer ${transferId}, which does not exist`);
  if (as === 'CREDIT_LEG') {
    const leg = creditLegOf(transfer);
    return { id, sourcePartition, topic, targetPartition, key: leg.toAccountId, payload: encodeCommand(leg) };
  }
  return { id, sourcePartition, topic, targetPartition, key: transfer.id, payload: JSON.stringify(toLedgerEventMessage(terminalEventOf(transfer))) };
}
