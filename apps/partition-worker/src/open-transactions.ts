/**
 * Which partitions stand behind a Kafka transaction left open.
 *
 * The worker's consumer reads READ_COMMITTED (it must: READ_UNCOMMITTED would apply aborted
 * records), so a fetch returns nothing past a partition's last stable offset, the first offset
 * of the oldest transaction still open on it. One transactional record another client writes
 * and never commits hides every later record of the partition, the API's commands included,
 * until the broker aborts it (transaction.max.timeout.ms, 15 min by Kafka's default). Nothing
 * in the worker runs meanwhile, so nothing fails: an outside review saw /readyz stay 200 and the
 * lag read ~0 for as long as it lasted.
 *
 * A partition is held when its log goes on past its stable offset while its applied position
 * is at (or below: only markers or aborted records may lie between) that stable offset, and
 * neither has moved for `unreadyMs`. A transaction that commits or aborts moves the stable
 * offset, and the partition is released at the next reading.
 */
import type { PartitionEnd } from '@ledgerline/kafka';
import type { Logger } from '@ledgerline/logging';

export interface PartitionReading {
  partition: number;
  /** The next offset to apply, or null when not known (not claimed and not read). */
  applied: bigint | null;
  /** The partition's ends as Kafka gave them, or undefined when Kafka did not list it. */
  end: PartitionEnd | undefined;
}

export interface HeldPartition {
  partition: number;
  applied: bigint;
  stableOffset: bigint;
  /** When the partition was first seen standing where it is (ms since the epoch). */
  since: number;
}

export class OpenTransactionWatch {
  /** Partitions seen standing at their stable offset with the log past it, and since when. */
  private readonly standing = new Map<number, HeldPartition>();
  /** Partitions reported held (logged), so that each is logged once when held and once when released. */
  private readonly reported = new Set<number>();

  constructor(
    private readonly unreadyMs: number,
    private readonly logger: Logger,
  ) {}

  /**
   * Takes one reading of the partitions this worker holds (a partition left out is no longer
   * held by it) and returns those that have stood behind an open transaction for `unreadyMs`.
   */
  observe(readings: readonly PartitionReading[], now = Date.now()): HeldPartition[] {
    const present = new Set<number>();
    for (const { partition, applied, end } of readings) {
      if (applied === null || end === undefined || end.logEnd <= end.stableOffset || applied > end.stableOffset) continue;
      present.add(partition);
      const before = this.standing.get(partition);
      if (before && before.applied === applied && before.stableOffset === end.stableOffset) continue;
      this.standing.set(partition, { partition, applied, stableOffset: end.stableOffset, since: now });
    }
    for (const partition of this.standing.keys()) if (!present.has(partition)) this.standing.delete(partition);
    const held = [...this.standing.values()].filter((p) => now - p.since >= this.unreadyMs).sort((a, b) => a.partition - b.partition);
    this.logChanges(held, now);
    return held;
  }

  private logChanges(held: readonly HeldPartition[], now: number): void {
    const heldNow = new Set(held.map((p) => p.partition));
    for (const p of held) {
      if (this.reported.has(p.partition)) continue;
      this.reported.add(p.partition);
      this.logger.warn(`partition ${p.partition} is behind an open Kafka transaction: nothing past its last stable offset reaches the worker until the transaction ends`, {
        partition: p.partition,
        appliedTo: p.applied.toString(),
        stableOffset: p.stableOffset.toString(),
        forS: Math.round((now - p.since) / 1000),
      });
    }
    for (const partition of [...this.reported]) {
      if (heldNow.has(partition)) continue;
      this.reported.delete(partition);
      this.logger.info(`partition ${partition} is no longer behind an open Kafka transaction`, { partition });
    }
  }
}

/** How a held partition reads in the readiness verdict (seconds as "for N s", which the health log folds). */
export function describeHeld(p: HeldPartition, now = Date.now()): string {
  return `partition ${p.partition}: behind an open Kafka transaction for ${Math.round((now - p.since) / 1000)} s (applied to ${p.applied}, its last stable offset ${p.stableOffset}, the log goes on past it: another client's transaction left open; the broker aborts it at transaction.max.timeout.ms)`;
}
