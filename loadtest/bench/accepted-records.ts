/**
 * The ACCEPTED records Redis still holds once every command of the API phases is applied.
 *
 * The worker that commits a transfer's or hold's row removes its record right after, so what
 * is left is what no worker removed: records the API wrote after their worker had already
 * removed them (the API's write lost the race with a fast worker: it is issued after Kafka's
 * acknowledgement, a batch's after its last produce request), and removals Redis did not
 * take. They expire after API_ACCEPTED_TTL_S; this figure is what README sizes Redis with.
 */
import type { KafkaAdmin } from '@ledgerline/kafka';
import { topicNames } from '@ledgerline/kafka';
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
      records += keys.length;
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  const { rows } = await ctx.pool.query('SELECT (SELECT count(*) FROM transfers) + (SELECT count(*) FROM holds) AS n');
  const resources = Number(rows[0].n);
  return { records, resources, per_resource: resources > 0 ? Math.round((records / resources) * 1e6) / 1e6 : 0 };
}
