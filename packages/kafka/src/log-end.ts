/**
 * Where each partition's log really ends, beside where a read_committed consumer stops.
 *
 * kafkajs's admin sends ListOffsets with the isolation level of its cluster, which it never
 * sets: the broker then answers READ_COMMITTED, whose "latest" offset is the partition's last
 * stable offset (LSO), the first offset of the oldest transaction still open on it. A
 * transaction another client leaves open freezes the LSO, and every record after it, the API's
 * included, is invisible to the workers' read_committed consumers until it ends; measured
 * against the LSO, their lag read ~0 meanwhile (an outside review). So lag is measured against
 * the log end (a READ_UNCOMMITTED ListOffsets), and the gap between the two is what says a
 * transaction holds the partition.
 *
 * kafkajs 2.2.4 lets only a consumer choose its isolation level (`readUncommitted`), and a
 * consumer cannot list offsets. The admin here is kafkajs's own, made over a cluster created
 * with READ_UNCOMMITTED: `Kafka#admin` creates its cluster through a private method keyed by a
 * symbol, which a child object of the client shadows for that one call. kafkajs is pinned
 * (package.json); if the symbol is gone this throws rather than silently read the LSO again,
 * and test/log-end.int.test.ts fails.
 */
import type { Admin, Kafka } from 'kafkajs';
import type { KafkaClient } from './client';
import { kafkajsOf } from './kafkajs';

/** kafkajs's protocol/isolationLevel.js: READ_UNCOMMITTED. */
const READ_UNCOMMITTED = 0;
const CREATE_CLUSTER = 'private:Kafka:createCluster';

/** One partition's two ends. */
export interface PartitionEnd {
  /** The next offset to be written: every record, committed, aborted or in an open transaction. */
  logEnd: bigint;
  /** The last stable offset: where a read_committed consumer stops. Below logEnd while a transaction is open on the partition. */
  stableOffset: bigint;
}

type CreateCluster = (options: Record<string, unknown>) => unknown;

/** A kafkajs admin whose offset reads (`fetchTopicOffsets`) answer the log end: READ_UNCOMMITTED. */
export function logEndAdmin(client: KafkaClient): Admin {
  const kafka = kafkajsOf(client);
  const key = Object.getOwnPropertySymbols(kafka).find((symbol) => symbol.description === CREATE_CLUSTER);
  const createCluster = key === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[key];
  if (key === undefined || typeof createCluster !== 'function') {
    throw new Error(`kafkajs no longer creates its clusters through "${CREATE_CLUSTER}": log-end.ts cannot read the log end`);
  }
  const uncommitted = Object.create(kafka, {
    [key]: { value: (options: Record<string, unknown>) => (createCluster as CreateCluster).call(kafka, { ...options, isolationLevel: READ_UNCOMMITTED }) },
  }) as Kafka;
  return uncommitted.admin();
}

/**
 * Each partition's ends: the log end first, then the stable offset. Both only grow, and without
 * an open transaction the stable offset is the log end, so it is then at least the log end read
 * before it: a stable offset below that earlier log end is a record that was written and is
 * still not stable, a transaction open on it. Read the other way round, a record appended
 * between the two reads looked like one (an outside operator review: `ledgerctl workers`
 * named an open transaction on a few partitions in most runs at 25 transfers/s, with no
 * transactional client at all). The log end given is the later of the two.
 */
export async function readPartitionEnds(committed: Admin, uncommitted: Admin, topic: string): Promise<Map<number, PartitionEnd>> {
  const ends = new Map((await uncommitted.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
  const stable = await committed.fetchTopicOffsets(topic);
  return new Map(
    stable.map((o) => {
      const stableOffset = BigInt(o.high);
      const logEnd = ends.get(o.partition) ?? stableOffset;
      return [o.partition, { logEnd: logEnd > stableOffset ? logEnd : stableOffset, stableOffset }];
    }),
  );
}
