/**
 * The operator faults of the chaos run: move a random bucket (one that holds accounts the
 * load uses, so the move happens under traffic) and, optionally, grow the partitions midway
 * and spread the buckets onto them. Both go through the same code as `ledgerctl`.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Pool } from 'pg';
import { bucketOf } from '@ledgerline/domain';
import type { BatchingProducer, KafkaAdmin } from '@ledgerline/kafka';
import { loadRouting } from '@ledgerline/postgres';
import { moveBucketsRetrying } from '../../apps/ledgerctl/src/rebalance/move-buckets';
import { spreadPlan } from '../../apps/ledgerctl/src/rebalance/plan';
import type { Rng } from './random';

/** Buckets held at once while spreading onto new partitions (as `ledgerctl partitions add`). */
const SPREAD_BUCKETS_PER_MOVE_MAX = 64;

export class ChaosRebalancer {
  /** How long each move held its buckets (ms): the pause the moved buckets' clients saw. */
  readonly holdsMs: number[] = [];

  constructor(
    private readonly deps: { pool: Pool; admin: KafkaAdmin; producer: BatchingProducer; commandsTopic: string; rng: Rng; accountIds: readonly string[] },
  ) {}

  private moveDeps() {
    return { pool: this.deps.pool, producer: this.deps.producer, commandsTopic: this.deps.commandsTopic, log: () => undefined };
  }

  async moveRandomBucket(): Promise<string> {
    const { pool, admin, commandsTopic, rng, accountIds } = this.deps;
    const partitions = await admin.partitionCount(commandsTopic);
    const bucket = bucketOf(rng.pick(accountIds));
    const from = (await loadRouting(pool)).partitionOfBucket(bucket);
    const to = (from + 1 + Math.floor(rng.between(0, partitions - 1))) % partitions;
    const result = await moveBucketsRetrying(this.moveDeps(), [bucket], to);
    this.holdsMs.push(result.holdMs);
    return `bucket ${bucket} p${from} -> p${to}, held ${result.holdMs} ms`;
  }

  async growPartitions(to: number): Promise<string> {
    const { pool, admin, commandsTopic } = this.deps;
    const current = await admin.partitionCount(commandsTopic);
    if (to <= current) return `already ${current} partitions`;
    await admin.addPartitions([commandsTopic], to); // as ledgerctl partitions add: the events topic keeps its count
    await delay(6_000); // clients refresh topic metadata every 5 s
    const routing = await loadRouting(pool);
    const plan = spreadPlan((b) => routing.partitionOfBucket(b), to);
    const byTarget = new Map<number, number[]>();
    for (const move of plan) byTarget.set(move.to, [...(byTarget.get(move.to) ?? []), move.bucket]);
    let steps = 0;
    for (const [target, buckets] of byTarget) {
      for (let i = 0; i < buckets.length; i += SPREAD_BUCKETS_PER_MOVE_MAX) {
        const result = await moveBucketsRetrying(this.moveDeps(), buckets.slice(i, i + SPREAD_BUCKETS_PER_MOVE_MAX), target);
        this.holdsMs.push(result.holdMs);
        steps++;
      }
    }
    return `${current} -> ${to} partitions, ${plan.length} buckets moved in ${steps} steps`;
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
