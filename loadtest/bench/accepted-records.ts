/**
 * The ACCEPTED records Redis still holds once every command of the API phases is applied.
 *
 * The worker that commits a transfer's or hold's row replaces its record right after with the
 * applied mark, and the API writes a record anywhere but over the mark, so one that arrives
 * after a fast worker's commit is kept out. What is left is what no mark replaced: marks
 * Redis did not take, records written more than APPLIED_MARK_TTL_S after their commit. They
 * expire after API_ACCEPTED_TTL_S; README sizes Redis with this figure. Marks are not counted.
 */
import type { KafkaAdmin } from '@ledgerline/kafka';
import { topicNames } from '@ledgerline/kafka';
import { APPLIED_MARK } from '@ledgerline/redis';
import Redis from 'ioredis';
import type { BenchContext } from './context';
import { waitSettled } from './services';

export interface AcceptedRecordsLeft {
  /** Records under the bench's Redis prefix once the backlog was applied. */
  records: number;
  /** Transfers and holds the API phases created (each got a record when accepted). */
  resources: number;
  /** records / resources. */
  per_resource: number;
}

const SETTLE_TIMEOUT_MS = 600_000;

export async function measureAcceptedRecordsLeft(ctx: BenchContext, admin: KafkaAdmin): Promise<AcceptedRecordsLeft> {
  const settled = await waitSettled(ctx.pool, admin, topicNames(ctx.mainPrefix).commands, SETTLE_TIMEOUT_MS);
  if (settled.ms === null) throw new Error(`the API phases' commands were not all applied (${settled.reason})`);
  const redis = new Redis(ctx.services.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  let records = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${ctx.redisPrefix}acc:*`, 'COUNT', 5000);
      if (keys.length > 0) records += (await redis.mget(keys)).filter((value) => value !== null && value !== APPLIED_MARK).length;
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  const { rows } = await ctx.pool.query('SELECT (SELECT count(*) FROM transfers) + (SELECT count(*) FROM holds) AS n');
  const resources = Number(rows[0].n);
  return { records, resources, per_resource: resources > 0 ? Math.round((records / resources) * 1e6) / 1e6 : 0 };
}
