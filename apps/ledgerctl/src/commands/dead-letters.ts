/**
 * `ledgerctl dead-letters`: the commands a partition could not apply, as Postgres keeps them
 * (the outbox rows of the dead-letter topic stay after publishing). Reads as the API role.
 */
import { createPool, listDeadLetters } from '@ledgerline/postgres';
import type { CtlConfig } from '../config';
import { printTable } from '../table';

const REASON_SHOWN_MAX = 100;

export async function showDeadLetters(config: CtlConfig, options: { limit: number; partition?: number; json: boolean }): Promise<void> {
  const pool = createPool({ connectionString: config.readDatabaseUrl, connectionsMax: 1, connectTimeoutMs: config.pgConnectTimeoutMs, idleTimeoutMs: config.pgIdleTimeoutMs, applicationName: 'ledgerctl' });
  try {
    const rows = await listDeadLetters(pool, options);
    if (options.json) {
      // The whole message, bytes included (docs/events.md), one JSON line each: for tools.
      for (const row of rows) process.stdout.write(`${JSON.stringify({ id: String(row.id), source_partition: row.sourcePartition, published: row.publishedAt !== null, ...row.letter })}\n`);
      return;
    }
    if (rows.length === 0) {
      process.stdout.write('no dead letters\n');
      return;
    }
    printTable(
      ['id', 'partition', 'offset', 'dead-lettered at', 'on topic', 'reason'],
      rows.map((row) => {
        const reason = String(row.letter.reason ?? '');
        return [
          String(row.id),
          String(row.letter.partition ?? row.sourcePartition),
          String(row.letter.offset ?? ''),
          String(row.letter.dead_lettered_at ?? row.createdAt.toISOString()),
          row.publishedAt ? 'yes' : 'not yet',
          reason.length > REASON_SHOWN_MAX ? `${reason.slice(0, REASON_SHOWN_MAX)}...` : reason,
        ];
      }),
    );
  } finally {
    await pool.end();
  }
}
