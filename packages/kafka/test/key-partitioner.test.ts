/**
 * The events topic's partitioner (src/key-partitioner.ts) against kafkajs's DefaultPartitioner:
 * the same murmur2 for any key, so the same partition, and the same answer for a message
 * with a partition or without a key.
 */
import fc from 'fast-check';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { keyPartitioner, murmur2 } from '../src/key-partitioner';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- kafkajs's own murmur2 (BigInt Longs), the reference.
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: Buffer | string) => number;

const metadata = (count: number): PartitionMetadata[] =>
  Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0, offlineReplicas: [] }));

describe('the key partitioner', () => {
  it('hashes any bytes as kafkajs (and the Java client) do', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(murmur2(bytes)).toBe(kafkajsMurmur2(Buffer.from(bytes)));
      }),
      { numRuns: 2_000 },
    );
  });

  it("gives the Java client's own test vectors (UtilsTest.testMurmur2 in apache/kafka)", () => {
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of vectors) expect(murmur2(Buffer.from(key))).toBe(hash);
  });

  it('puts every keyed message where kafkajs DefaultPartitioner puts it', () => {
    const ours = keyPartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a))), fc.integer({ min: 1, max: 1_024 }), (key, count) => {
        const args = { topic: 'ledger.events', partitionMetadata: metadata(count), message: { key, value: 'v' } };
        expect(ours(args)).toBe(theirs(args));
      }),
      { numRuns: 2_000 },
    );
  });

  it('keeps a message its own partition, and sends one without a key round robin', () => {
    const ours = keyPartitioner();
    expect(ours({ topic: 't', partitionMetadata: metadata(8), message: { key: 'k', value: 'v', partition: 6 } })).toBe(6);
    const seen = new Set<number>();
    for (let i = 0; i < 16; i++) seen.add(ours({ topic: 't', partitionMetadata: metadata(4), message: { value: 'v' } }));
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  });
});
