/**
 * The partition of a message published without one (the events topic's, by their key), as
 * kafkajs's DefaultPartitioner chooses it: the Java client's murmur2 of the key's bytes, made
 * positive, modulo the topic's partition count; a message with a partition keeps it, and one
 * with neither goes round robin, by kafkajs's own partitioner.
 *
 * kafkajs computes murmur2 in 64-bit `Long`s backed by BigInt: about 4.6 us for a 36-character
 * key, 4.7% of a worker's busy time in the drain's profile (one event a transfer). The same
 * hash in 32-bit integer arithmetic (`Math.imul`) gives the same partition for every key
 * (`test/key-partitioner.test.ts` compares the two), so events land where they always did.
 */
import { type ICustomPartitioner, type PartitionerArgs, Partitioners } from 'kafkajs';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** The Java client's murmur2 (org.apache.kafka.common.utils.Utils.murmur2) of `data`, as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) h = Math.imul(h ^ data[whole]!, M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** kafkajs's key bytes: a Buffer as it is, anything else as the UTF-8 of its string. */
function keyBytes(key: Buffer | string): Uint8Array {
  return Buffer.isBuffer(key) ? key : Buffer.from(String(key));
}

/** kafkajs's DefaultPartitioner with the hash above; pass as the producer's `createPartitioner`. */
export const keyPartitioner: ICustomPartitioner = () => {
  const roundRobin = Partitioners.DefaultPartitioner();
  return (args: PartitionerArgs) => {
    const { message, partitionMetadata } = args;
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    if (message.key !== null && message.key !== undefined) return (murmur2(keyBytes(message.key)) & 0x7fffffff) % partitionMetadata.length;
    return roundRobin(args);
  };
};
