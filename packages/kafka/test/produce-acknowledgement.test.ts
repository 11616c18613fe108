// PartitionPlan: which messages of a produce call the call's answer does not cover. The case
// a test stack cannot make (a leader moved to a broker that already answered: kafkajs resolves
// with the other brokers' partitions only) is the answer below without partition 1.
import type { Message, PartitionMetadata, RecordMetadata } from 'kafkajs';
import { keyPartitioner } from '../src/key-partitioner';
import { PartitionPlan } from '../src/produce-acknowledgement';

const partitions = (n: number): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], offlineReplicas: [], partitionErrorCode: 0 }));
const answer = (topicName: string, partition: number, errorCode = 0): RecordMetadata => ({ topicName, partition, errorCode });

describe('PartitionPlan', () => {
  test('a message is unacknowledged unless the answer names the partition it was planned for, in its topic', () => {
    const plan = new PartitionPlan();
    const partitioner = plan.createPartitioner();
    const sent = [
      { topic: 'commands', message: { key: 'a', value: '1', partition: 0 } as Message },
      { topic: 'commands', message: { key: 'b', value: '2', partition: 1 } as Message },
      { topic: 'events', message: { key: 'c', value: '3', partition: 1 } as Message },
      { topic: 'events', message: { key: 'd', value: '4' } as Message }, // by its key
    ];
    for (const { topic, message } of sent) partitioner({ topic, partitionMetadata: partitions(2), message });
    const keyedPartition = keyPartitioner()({ topic: 'events', partitionMetadata: partitions(2), message: { key: 'd', value: '4' } });

    expect(plan.unacknowledged(sent, [answer('commands', 0), answer('commands', 1), answer('events', 0), answer('events', 1)])).toEqual([]);
    // The leader of commands/1 moved to the broker that answered for commands/0.
    expect(plan.unacknowledged(sent, [answer('commands', 0), answer('events', 0), answer('events', 1)])).toEqual([sent[1]]);
    // The keyed message's partition is the one its key chose; a partition answered in one topic
    // does not cover the same number in another.
    const keyed = sent.slice(3);
    expect(plan.unacknowledged(keyed, [answer('events', keyedPartition)])).toEqual([]);
    expect(plan.unacknowledged(keyed, [answer('events', 1 - keyedPartition), answer('commands', keyedPartition)])).toEqual(keyed);
    // An answer with an error code is no acknowledgement; a message never planned is unacknowledged.
    expect(plan.unacknowledged(sent.slice(0, 1), [answer('commands', 0, 6)])).toEqual(sent.slice(0, 1));
    const unplanned = { topic: 'commands', message: { key: 'e', value: '5', partition: 0 } as Message };
    expect(plan.unacknowledged([unplanned], [answer('commands', 0)])).toEqual([unplanned]);
  });
});
