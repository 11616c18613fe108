/**
 * How long the JSON document of a batch (src/batch-writer.ts, `batchDocument`) takes to build,
 * per command, for the two batches a drained cross-partition transfer makes: the source
 * partition's (2,000 TRANSFERs: entries, balances, new transfers, a derived credit leg and
 * event each) and the destination's (2,000 CREDIT_LEGs: entries, balances, status changes).
 *
 *   npx tsx packages/postgres/bench/batch-document.ts
 *
 * One process, after a warm-up; a figure moves with the machine. Prints the document's size
 * too, so a change that alters what is sent shows.
 */
import { createHash, randomUUID } from 'node:crypto';
import { type AccountState, type Command, applyBatch, creditLegOf } from '@ledgerline/domain';
import { type BatchWrite, batchDocument } from '../src/batch-writer';
import type { PartitionClaim } from '../src/partition-state';

const COMMANDS = 2_000;
const ACCOUNTS = 1_000;
const CURRENCY = 'USD';
/** A message's text; a derived row (every row here) sends its transfer's id instead. */
const PAYLOAD = '{"v":1}';

function account(id: string): AccountState {
  return { id, owner: `user:${id}`, kind: 'USER', currency: CURRENCY, status: 'OPEN', overdraftLimit: 0n, balance: 10n ** 12n, seq: 5n, held: 0n, rev: 7n };
}

const sources = Array.from({ length: ACCOUNTS }, () => randomUUID());
const destinations = Array.from({ length: ACCOUNTS }, () => randomUUID());
const sourceIds = new Set<string>(sources);
const partitionOf = (id: string) => (sourceIds.has(id) ? 0 : 1);
const claim = (partition: number): PartitionClaim => ({ topic: 'commands', partition, epoch: 1n, nextOffset: 0n, cacheBehindSince: '2026-12-06T00:00:00.000000Z' });

/** The partition's user accounts; its system accounts are created by the batch's apply. */
function states(users: readonly string[]): Map<string, AccountState> {
  return new Map(users.map((id) => [id, account(id)]));
}

function write(partition: number, accounts: Map<string, AccountState>, commands: Command[]): BatchWrite {
  const effects = applyBatch({ partition, now: new Date().toISOString(), accounts, partitionOf, alreadyApplied: new Set() }, commands);
  const outbox = effects.outbox.map((item) =>
    item.kind === 'COMMAND'
      ? { topic: 'commands' as const, targetPartition: item.partition, key: item.key, payload: PAYLOAD, derived: item.derivedAs ? { as: item.derivedAs, transferId: item.command.transferId } : undefined }
      : { topic: 'events' as const, targetPartition: null, key: item.key, payload: PAYLOAD, derived: item.derivedAs ? { as: item.derivedAs, transferId: item.event.transferId } : undefined },
  );
  return { claim: claim(partition), fromOffset: 0n, toOffset: BigInt(commands.length), effects, before: accounts, outbox };
}

const transfers: Command[] = Array.from({ length: COMMANDS }, (_, i) => {
  const from = sources[i % ACCOUNTS]!;
  return {
    type: 'TRANSFER',
    transferId: randomUUID(),
    fromAccountId: from,
    toAccountId: destinations[(i * 7) % ACCOUNTS]!,
    description: 'bench transfer',
    amount: BigInt(100 + i),
    currency: CURRENCY,
    principal: `user:${from}`,
    admin: false,
    requestHash: createHash('sha256').update(String(i)).digest('hex'),
    acceptedAt: new Date().toISOString(),
  };
});
const source = write(0, states(sources), transfers);
const legs = source.effects.newTransfers.map((t) => creditLegOf(t));
const destination = write(1, states(destinations), legs);

function microsPerCommand(batch: BatchWrite): { us: number; characters: number } {
  const rounds = 200;
  let characters = 0;
  for (let i = 0; i < rounds / 4; i++) characters = batchDocument(batch).length;
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) characters = batchDocument(batch).length;
  return { us: Number(process.hrtime.bigint() - started) / 1_000 / rounds / COMMANDS, characters };
}

for (const [name, batch] of [['source (TRANSFER)', source], ['destination (CREDIT_LEG)', destination]] as const) {
  const { us, characters } = microsPerCommand(batch);
  console.log(`${name}: ${us.toFixed(2)} us a command, ${characters} characters a batch`);
}
