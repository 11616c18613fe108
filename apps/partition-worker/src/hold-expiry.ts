/**
 * Hold expiry: the partition's own writer releases holds that fall due, promptly, even on a
 * partition nobody writes to.
 *
 * Every `scanIntervalMs` this process looks for HELD holds whose `expires_at` has passed by
 * its clock by `graceMs`, on the buckets of the partitions Kafka assigned to it, and publishes an
 * EXPIRE_HOLD command for each to the hold's own partition (key: the held account). The
 * partition's writer applies it in order with everything else and expires the hold only if
 * its batch clock agrees (apply.ts): there is never a second writer, and a capture racing
 * the expiry has one outcome, decided by the partition's order.
 *
 * Publishing twice is harmless (the second finds the hold no longer HELD); a hold published
 * recently is not published again for `republishAfterMs`, so a slow partition is not flooded.
 * A lost publish is made good by the next scan. With the default 1 s scan and 1 s grace a
 * hold is released ~2-3 s after it falls due (the contract: within 5 s).
 *
 * The grace is for a capture or a void accepted a moment before `expires_at`: the API stamps
 * it, then produces it, and an EXPIRE_HOLD published in between would reach the partition
 * first and end the hold, though the command was in time (an outside review of the money
 * lifecycle). Waiting `graceMs` lets any such command whose produce took less than that stand
 * first in the partition's order, where it is decided by its acceptance time.
 */
import type { Database } from '@ledgerline/postgres';
import { BUCKET_COUNT, type Clock, type ExpireHoldCommand, type RoutingTable } from '@ledgerline/domain';
import type { BatchingProducer } from '@ledgerline/kafka';
import { loadDueHolds } from '@ledgerline/postgres';
import { encodeCommand } from '@ledgerline/schemas';

export interface HoldExpiryOptions {
  pool: Database;
  producer: Pick<BatchingProducer, 'publish'>;
  topic: string;
  routing(): RoutingTable;
  /** Partitions assigned to this process now. */
  assigned(): readonly number[];
  clock: Clock;
  scanIntervalMs: number;
  /** How long past `expires_at` a hold is left for a capture or void accepted in time and still being produced. */
  graceMs: number;
  /** Due holds handled per scan at most (the rest wait for the next scan). */
  holdsPerScanMax: number;
  republishAfterMs: number;
  log(message: string): void;
  /** A setting an operator must hear about (logged at warn). */
  warn(message: string): void;
}

export class HoldExpiry {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly publishedAt = new Map<string, number>();

  constructor(private readonly options: HoldExpiryOptions) {}

  start(): void {
    if (this.options.scanIntervalMs === 0) {
      // A test switch (production refuses it): nothing else shows that holds stopped expiring,
      // only holds read one by one (an outside review).
      this.options.warn(
        'hold expiry is off (WORKER_HOLD_EXPIRY_SCAN_MS=0, a test switch): HELD holds of the partitions this process applies keep their amount out of available past expires_at',
      );
      return;
    }
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.scan().then(() => undefined).finally(() => (this.running = null));
    }, this.options.scanIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One scan: publishes an EXPIRE_HOLD for each due hold of the assigned partitions. Returns how many. */
  async scan(): Promise<number> {
    const assigned = new Set(this.options.assigned());
    if (assigned.size === 0) return 0;
    const routing = this.options.routing();
    const buckets: number[] = [];
    for (let bucket = 0; bucket < BUCKET_COUNT; bucket++) if (assigned.has(routing.partitionOfBucket(bucket))) buckets.push(bucket);
    const now = this.options.clock.now();
    let due;
    try {
      due = await loadDueHolds(this.options.pool, buckets, new Date(now.getTime() - this.options.graceMs), this.options.holdsPerScanMax);
    } catch (error) {
      this.options.log(`hold expiry scan failed: ${(error as Error).message}`);
      return 0;
    }
    const nowMs = now.getTime();
    for (const [id, at] of this.publishedAt) if (nowMs - at >= this.options.republishAfterMs) this.publishedAt.delete(id);
    const fresh = due.filter((hold) => !this.publishedAt.has(hold.id));
    await Promise.all(
      fresh.map(async (hold) => {
        const command: ExpireHoldCommand = { type: 'EXPIRE_HOLD', holdId: hold.id, accountId: hold.accountId };
        try {
          await this.options.producer.publish({
            topic: this.options.topic,
            partition: routing.partitionOf(hold.accountId),
            key: hold.accountId,
            value: encodeCommand(command),
          });
          this.publishedAt.set(hold.id, nowMs);
        } catch (error) {
          this.options.log(`hold expiry: publishing EXPIRE_HOLD for ${hold.id} failed (${(error as Error).message}); next scan retries`);
        }
      }),
    );
    return fresh.length;
  }
}
