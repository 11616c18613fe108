/**
 * Which messages of a produce call Kafka acknowledged: kafkajs 2.2.4's `sendBatch` can resolve
 * while part of its request was never written, and this is how its callers find out.
 *
 * Two ways it happens, both in kafkajs's `producer/sendMessages.js` (kafkajs issue 1303):
 * - A call keeps one answer per broker across its retries and, on a retry, sends only to
 *   brokers without one. When a broker refuses a partition it no longer leads (a rolling
 *   restart, a broker lost) and fresh metadata names a broker that already answered for
 *   other partitions as the new leader, the retry sends nothing and the call resolves.
 * - A partition its cached metadata does not have yet (one `ledgerctl partitions add` just
 *   created) is dropped from the plan (`cluster.findLeaderForPartitions`) and never sent.
 *
 * The call's result names every (topic, partition) a broker appended to, and the partitioner
 * names the partition each message was planned for: a message whose partition is not in the
 * result was not written. Found by an outside review; with one broker (every test stack) only
 * the second way can happen, which `test/produce-acknowledgement.int.test.ts` shows.
 */
import type { ICustomPartitioner, Message, RecordMetadata } from 'kafkajs';
import { keyPartitioner } from './key-partitioner';

/**
 * The producer's partitioner (keyPartitioner), remembering the partition it chose for each
 * message object. kafkajs asks it again on each retry of a call, so what it holds is the last
 * plan, the one the call's answer is about.
 */
export class PartitionPlan {
  private readonly chosen = new WeakMap<object, number>();

  readonly createPartitioner: ICustomPartitioner = () => {
    const partitioner = keyPartitioner();
    return (args) => {
      const partition = partitioner(args);
      this.chosen.set(args.message, partition);
      return partition;
    };
  };

  /**
   * The messages of `sent` (message objects as handed to `sendBatch`, with their topics) that
   * the call's `acknowledged` answer does not cover, in their order.
   */
  unacknowledged<T extends { topic: string; message: Message }>(sent: readonly T[], acknowledged: readonly RecordMetadata[]): T[] {
    // Per topic, the partitions written: a lookup per message, no key built per message.
    const written = new Map<string, Set<number>>();
    for (const { topicName, partition, errorCode } of acknowledged) {
      if (errorCode !== 0) continue;
      let partitions = written.get(topicName);
      if (!partitions) written.set(topicName, (partitions = new Set()));
      partitions.add(partition);
    }
    return sent.filter(({ topic, message }) => {
      const partition = this.chosen.get(message);
      return partition === undefined || written.get(topic)?.has(partition) !== true;
    });
  }
}

/** A produce call resolved with part of its request not written. */
export class PartlyUnwrittenError extends Error {
  override readonly name = 'PartlyUnwrittenError';
  constructor(unwritten: number, sent: number) {
    super(`Kafka acknowledged the produce request without ${unwritten} of its ${sent} messages`);
  }
}
