/**
 * kafkajs 2.2.4 groups each produce call's messages by partition
 * (`producer/groupMessagesPerPartition.js`) by copying the partition's whole list for every
 * message it adds (`[...current, message]`) into an object assigned through a computed key:
 * quadratic in a request's messages per partition. A drain's relay sends a batch's credit legs
 * and events in one call, so this was 0.6-1.0 us a message against 0.01 for a linear grouping,
 * and a tenth of the bytes a drain worker allocates (loadtest/JOURNAL.md, thirty-sixth round).
 *
 * The replacement gives the same result: an object from each partition the partitioner names
 * to its messages in call order, the partitioner asked once per message in order, and `{}`
 * for a topic without partition metadata.
 *
 * kafkajs's `producer/sendMessages.js` takes the function with a `require` when it is first
 * loaded, so the replacement must be in Node's module cache before kafkajs's producer loads:
 * this module installs it when it is loaded, and the package's entry point (index.ts) and the
 * client (client.ts) import it before anything of kafkajs. Where the producer was loaded
 * before (a process that required kafkajs itself first), on another kafkajs version, or under
 * a module system with a registry of its own (Jest's), nothing is replaced and kafkajs's own
 * grouping runs, with the same result; `messageGroupingReplaced()` says which.
 * `test/message-grouping.test.ts` compares the two and checks the install in a real process.
 */
import Module from 'node:module';
import { kafkajsVersion } from './kafkajs-version';

/** The kafkajs version whose producer this replaces a module of (package.json pins it). */
const KAFKAJS_VERSION_REPLACED = '2.2.4';

interface GroupingArgs<M> {
  topic: string;
  partitionMetadata: readonly unknown[];
  messages: readonly M[];
  partitioner(args: { topic: string; partitionMetadata: readonly unknown[]; message: M }): number;
}

/** kafkajs's groupMessagesPerPartition, linear. */
export function groupMessagesByPartition<M>({ topic, partitionMetadata, messages, partitioner }: GroupingArgs<M>): Record<number, M[]> {
  const grouped: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return grouped;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (grouped[partition] ??= []).push(message);
  }
  return grouped;
}

/** kafkajs's internal module paths: only resolved here, never loaded. */
const groupingPath = (): string => require.resolve('kafkajs/src/producer/groupMessagesPerPartition');
const sendMessagesPath = (): string => require.resolve('kafkajs/src/producer/sendMessages');

/** Whether kafkajs's producer, once loaded, groups with `groupMessagesByPartition`. */
export function messageGroupingReplaced(): boolean {
  return require.cache[groupingPath()]?.exports === groupMessagesByPartition;
}

function installMessageGrouping(): void {
  if (kafkajsVersion() !== KAFKAJS_VERSION_REPLACED) return;
  // Loaded already: it holds whichever grouping was in the cache then.
  if (require.cache[sendMessagesPath()]) return;
  const path = groupingPath();
  const replacement = new Module(path);
  replacement.filename = path;
  replacement.loaded = true;
  replacement.exports = groupMessagesByPartition;
  require.cache[path] = replacement;
}

installMessageGrouping();
