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
 * A partition is held once a transaction has stood open on it (its log going on past its
 * stable offset) at every reading for `unreadyMs`, whether or not the stable offset or the
 * applied position moved meanwhile: a writer that opens each transaction before the last one
 * ends keeps the partition behind one for as long as it goes on, every command waiting about a
 * transaction's timeout, while the stable offset moves at each abort (an outside review of the
 * first version, whose clock restarted at every move, so such a chain never tripped it). It is
 * released at the first reading with no transaction open. ledgerline writes no transactions,
 * so a partition clear of them is the normal state. A reading that could not be taken (the
 * position or the ends unknown) changes nothing.
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
  /** The applied position and stable offset at the latest reading. */
  applied: bigint;
  stableOffset: bigint;
  /** Since when a transaction has stood open on the partition at every reading (ms since the epoch). */
  since: number;
}

export class OpenTransactionWatch {
  /** Partitions seen with a transaction open at every reading, and since when. */
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
    const listed = new Set(readings.map((r) => r.partition));
    // No longer held by this worker: forgotten.
    for (const partition of this.standing.keys()) if (!listed.has(partition)) this.standing.delete(partition);
    for (const { partition, applied, end } of readings) {
      if (applied === null || end === undefined) continue; // not read this time: as it was
      if (end.logEnd <= end.stableOffset) {
        this.standing.delete(partition); // no transaction open
        continue;
      }
      const since = this.standing.get(partition)?.since ?? now;
      this.standing.set(partition, { partition, applied, stableOffset: end.stableOffset, since });
    }
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
