/**
 * The producer's grouping of a call's messages by partition (src/message-grouping.ts): the
 * same result as kafkajs's own, and installed in a real Node process before kafkajs's
 * producer takes it.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import { groupMessagesByPartition } from '../src/message-grouping';

type Grouping = typeof groupMessagesByPartition;

// Jest's module registry is not Node's cache, so this is kafkajs's own module here.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- kafkajs's grouping, the reference.
const kafkajsGrouping = require('kafkajs/src/producer/groupMessagesPerPartition') as Grouping;

interface Message {
  serial: number;
  partition: number;
}

/** The grouping's result, as entries in key order, and the partitioner's calls in order. */
function run(grouping: Grouping, topic: string, partitions: number, messages: readonly Message[]) {
  const calls: [string, number, number][] = [];
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId }));
  const grouped = grouping({
    topic,
    partitionMetadata,
    messages,
    partitioner: ({ topic: asked, partitionMetadata: metadata, message }) => {
      calls.push([asked, metadata.length, message.serial]);
      return message.partition;
    },
  });
  return { groups: Object.entries(grouped), calls };
}

describe("the producer's grouping of messages by partition", () => {
  it("gives what kafkajs's gives, asking the partitioner the same questions in the same order", () => {
    const messages = fc.array(fc.integer({ min: 0, max: 11 }), { maxLength: 300 }).map((partitions) => partitions.map((partition, serial) => ({ serial, partition })));
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.integer({ min: 0, max: 12 }), messages, (topic, partitions, list) => {
        const ours = run(groupMessagesByPartition, topic, partitions, list);
        const theirs = run(kafkajsGrouping, topic, partitions, list);
        expect(ours).toEqual(theirs);
        // The very messages, not copies.
        for (const [partition, group] of ours.groups) group.forEach((message, i) => expect(message).toBe(theirs.groups.find(([p]) => p === partition)![1][i]));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps each partition in call order and asks nothing of a topic without partitions', () => {
    const list = [0, 2, 0, 1, 2, 0].map((partition, serial) => ({ serial, partition }));
    expect(run(groupMessagesByPartition, 't', 3, list).groups).toEqual([
      ['0', [list[0], list[2], list[5]]],
      ['1', [list[3]]],
      ['2', [list[1], list[4]]],
    ]);
    expect(run(groupMessagesByPartition, 't', 0, list)).toEqual({ groups: [], calls: [] });
  });

  describe('in a real Node process (not under Jest, whose registry is not Node’s module cache)', () => {
    const root = join(__dirname, '..', '..', '..');
    const probe = (first: string) =>
      `${first}
       const sendMessages = require.resolve('kafkajs/src/producer/sendMessages');
       const grouping = require('kafkajs/src/producer/groupMessagesPerPartition');
       const { messageGroupingReplaced } = require('@ledgerline/kafka');
       process.stdout.write(JSON.stringify({ producerLoaded: require.cache[sendMessages] !== undefined, replaced: messageGroupingReplaced(), grouping: grouping.name }));`;
    const inChild = (script: string) => {
      const result = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: root, encoding: 'utf8' });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      return JSON.parse(result.stdout) as { producerLoaded: boolean; replaced: boolean; grouping: string };
    };

    it("is what kafkajs's producer takes when the package is loaded first", () => {
      expect(inChild(probe("require('@ledgerline/kafka');"))).toEqual({ producerLoaded: true, replaced: true, grouping: 'groupMessagesByPartition' });
    }, 30_000);

    it("leaves kafkajs's own in place, and says so, when kafkajs's producer was loaded before it", () => {
      expect(inChild(probe("require('kafkajs');"))).toEqual({ producerLoaded: true, replaced: false, grouping: '' });
    }, 30_000);
  });
});
