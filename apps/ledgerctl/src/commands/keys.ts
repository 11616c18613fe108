/** `ledgerctl keys rebind`: Idempotency-Keys after a restore from a backup (docs/operations.md). */
import { rebindLostClaims } from '@ledgerline/postgres';
import type { CtlConfig } from '../config';
import { withPostgres } from './operate';

/**
 * Binds again the keys whose claims a restore lost, from the transfers, holds and account
 * changes written since `since`: run once the workers have applied Kafka's commands again,
 * before the APIs start. As the schema owner (the API role may only claim through the API's
 * path); Postgres is all it needs.
 */
export async function rebindKeys(config: CtlConfig, since: string): Promise<void> {
  const bound = await withPostgres(config, 'owner', (pool) => rebindLostClaims(pool, since));
  process.stdout.write(`keys rebind: ${bound} Idempotency-Key claims bound again to the transfers, holds and account changes written since ${since}\n`);
}
