/**
 * Tells when this member's view of the consumer group has gone stale: a partition Kafka
 * still says is ours keeps being fenced by another owner's claim.
 *
 * One fence while assigned is normal: during a rebalance the old owner may finish a batch
 * after the new one claimed. Repeated fences of one partition within one group generation
 * are not: another worker was assigned it too, so one of the two was dropped from the group
 * without noticing (seen once by an outside review after the broker was paused for 19 s:
 * kafkajs logged "the coordinator is not aware of this member, re-joining", never joined
 * again, and kept fetching its old partitions, while the group gave them to the other
 * worker). The two then re-claimed each other's partitions about 20 times a second: the
 * epoch fencing kept the money right, but every batch paid for a claim and a reload. The
 * remedy is to leave and rejoin the group (PartitionConsumer.rejoin), which a stale member
 * does not do on its own.
 */
export interface FenceStormOptions {
  /** Fences of one partition within `windowMs` that mean the membership is stale. */
  fencesMax: number;
  windowMs: number;
}

export const FENCE_STORM_DEFAULTS: FenceStormOptions = { fencesMax: 3, windowMs: 30_000 };

export class FenceStorm {
  private readonly fences = new Map<number, number[]>();

  constructor(private readonly options: FenceStormOptions = FENCE_STORM_DEFAULTS) {}

  /** A new generation (or a rejoin): earlier fences say nothing about it. */
  reset(): void {
    this.fences.clear();
  }

  /** Records a fence of an assigned partition; true when it makes the storm (and resets). */
  fenced(partition: number, nowMs: number): boolean {
    const recent = (this.fences.get(partition) ?? []).filter((at) => nowMs - at < this.options.windowMs);
    recent.push(nowMs);
    if (recent.length < this.options.fencesMax) {
      this.fences.set(partition, recent);
      return false;
    }
    this.reset();
    return true;
  }
}
