/**
 * account -> bucket -> partition.
 *
 * The bucket is a fixed hash of the account id (BUCKET_COUNT never changes, so an account's
 * bucket never does); the bucket -> partition map is a versioned table an operator can
 * change with the move protocol. Rebalancing is therefore a table change, not a re-hash.
 */
import { BUCKET_COUNT } from './limits';

/** FNV-1a over the canonical (lower-case) id: cheap, stable across languages, well spread. */
export function bucketOf(accountId: string): number {
  const text = accountId.toLowerCase();
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % BUCKET_COUNT;
}

export class RoutingTable {
  private constructor(
    readonly version: number,
    private readonly partitionByBucket: readonly number[],
    /** Buckets being moved: ingest holds their commands until the move is fenced. */
    private readonly heldBuckets: ReadonlySet<number> = new Set(),
  ) {}

  /** The initial table: buckets dealt round-robin over the partitions. */
  static initial(partitionCount: number, version = 1): RoutingTable {
    assertPartitionCount(partitionCount);
    const map = Array.from({ length: BUCKET_COUNT }, (_, bucket) => bucket % partitionCount);
    return new RoutingTable(version, map);
  }

  static fromRows(version: number, rows: readonly { bucket: number; partition: number; held?: boolean }[]): RoutingTable {
    const map = new Array<number>(BUCKET_COUNT).fill(-1);
    const held = new Set<number>();
    for (const row of rows) {
      if (!Number.isInteger(row.bucket) || row.bucket < 0 || row.bucket >= BUCKET_COUNT) {
        throw new Error(`routing row has bucket ${row.bucket} out of range`);
      }
      if (!Number.isInteger(row.partition) || row.partition < 0) throw new Error(`routing row has partition ${row.partition}`);
      map[row.bucket] = row.partition;
      if (row.held) held.add(row.bucket);
    }
    const missing = map.findIndex((p) => p < 0);
    if (missing >= 0) throw new Error(`routing table version ${version} has no partition for bucket ${missing}`);
    return new RoutingTable(version, map, held);
  }

  /** How many buckets are held now (being moved: their accounts' commands answer 503). */
  get heldBucketCount(): number {
    return this.heldBuckets.size;
  }

  /** True while the account's bucket is being moved and ingest must hold its commands. */
  isHeld(accountId: string): boolean {
    return this.heldBuckets.has(bucketOf(accountId));
  }

  partitionOfBucket(bucket: number): number {
    const partition = this.partitionByBucket[bucket];
    if (partition === undefined) throw new Error(`bucket ${bucket} out of range`);
    return partition;
  }

  partitionOf(accountId: string): number {
    return this.partitionOfBucket(bucketOf(accountId));
  }

  rows(): { bucket: number; partition: number }[] {
    return this.partitionByBucket.map((partition, bucket) => ({ bucket, partition }));
  }
}

function assertPartitionCount(count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > BUCKET_COUNT) {
    throw new Error(`partition count must be an integer in 1..${BUCKET_COUNT}, got ${count}`);
  }
}
