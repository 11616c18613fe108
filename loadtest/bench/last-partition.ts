/**
 * The partition a drain waits for last, before and after it is the only one left.
 *
 * Why: a hot drain is as fast as its hot partition, which holds half the backlog. Its rate
 * while the other partitions still share the box with it, and once it has the box to itself,
 * tell apart two limits: a partition that is slow even alone (its chain of batches, one
 * Postgres backend) and one that only gets its share of the CPU while the others run.
 *
 * Fed by the drain's poll of partition_state (drain.ts): `observe` at every poll with the
 * stored next offsets, `summary` once every partition is done.
 */

import { round } from './util';

/** What `summary` reports; a rate is null where its window is empty (no poll inside it). */
export interface LastPartition {
  partition: number;
  /** Backlog commands of the partition. */
  commands: number;
  /** Applied per second from the drain's first commit until it was the only partition left. */
  shared_per_s: number | null;
  /** Seconds it was the only partition left, and what it applied per second then. */
  alone_s: number;
  alone_per_s: number | null;
}

export class LastPartitionTracker {
  private first: { at: number; applied: Map<number, bigint> } | null = null;
  private alone: { at: number; partition: number; applied: bigint } | null = null;

  /** `targets`: each partition's backlog end offset. */
  constructor(private readonly targets: ReadonlyMap<number, bigint>) {}

  /** One poll: `applied` holds each partition's stored next offset at `at` (ms). */
  observe(at: number, applied: ReadonlyMap<number, bigint>): void {
    const offsetOf = (partition: number) => applied.get(partition) ?? 0n;
    const partitions = [...this.targets.keys()];
    if (this.first === null) {
      if (partitions.every((p) => offsetOf(p) === 0n)) return; // nothing committed yet
      this.first = { at, applied: new Map(partitions.map((p) => [p, offsetOf(p)])) };
    }
    if (this.alone !== null) return;
    // Done: its stored offset covers the backlog (legs appended after it come later).
    const left = partitions.filter((p) => offsetOf(p) < this.targets.get(p)!);
    if (left.length === 1) this.alone = { at, partition: left[0]!, applied: offsetOf(left[0]!) };
  }

  /** Once every partition is done, at `doneAt` (ms); null if fewer than two partitions or no alone window was seen. */
  summary(doneAt: number): LastPartition | null {
    if (this.first === null || this.alone === null || this.targets.size < 2) return null;
    const { partition } = this.alone;
    const end = this.targets.get(partition)!;
    const sharedS = (this.alone.at - this.first.at) / 1000;
    const aloneS = (doneAt - this.alone.at) / 1000;
    const startedAt = this.first.applied.get(partition) ?? 0n;
    return {
      partition,
      commands: Number(end),
      shared_per_s: sharedS > 0 ? round(Number(this.alone.applied - startedAt) / sharedS, 0) : null,
      alone_s: round(aloneS, 2) ?? 0,
      alone_per_s: aloneS > 0 ? round(Number(end - this.alone.applied) / aloneS, 0) : null,
    };
  }
}
