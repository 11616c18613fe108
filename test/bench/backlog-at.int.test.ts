// The batch phase's backlog at the load's end (loadtest/bench/batch.ts backlogAt), read from a
// real ledger's transfers by Postgres clocks: what batch_ingest's backlog_at_end and
// drained_per_s are computed from. Rows are written directly, each at a chosen applied_at and
// completed_at around the instant, so every boundary is pinned.
import { randomUUID } from 'node:crypto';
import { backlogAt } from '../../loadtest/bench/batch';
import { useTestDatabase } from '../support/database';

const TAG = 'bench-batch-tag';
const AT = Date.parse('2026-12-07T12:00:00.000Z');

describe('the batch phase\'s backlog at the load\'s end (backlogAt)', () => {
  const ctx = useTestDatabase(8);

  /** One transfer of `description`, applied and (when decided) completed at offsets from AT. */
  async function row(description: string, status: 'PROCESSING' | 'COMPLETED' | 'REJECTED', appliedS: number, completedS: number | null): Promise<void> {
    await ctx.db.pool.query(
      `INSERT INTO transfers (id, kind, status, reason, amount, currency, principal, request_hash, description, source_partition, created_at, applied_at, completed_at)
       VALUES ($1, 'DEPOSIT', $2, $3, 1, 'USD', 'bench', 'h', $4, 0, $5, $5, $6)`,
      [randomUUID(), status, status === 'REJECTED' ? 'INSUFFICIENT_FUNDS' : null, description, new Date(AT + appliedS * 1000), completedS === null ? null : new Date(AT + completedS * 1000)],
    );
  }

  it('counts the tag\'s rows applied by the instant, those COMPLETED by it, and those applied but not yet decided', async () => {
    await row(TAG, 'COMPLETED', -10, -5); // done before the end
    await row(TAG, 'COMPLETED', -1, 0); // COMPLETED at the instant itself: done
    await row(TAG, 'COMPLETED', -3, 2); // debit applied before the end, credit after: PROCESSING then
    await row(TAG, 'PROCESSING', -1, null); // still PROCESSING
    await row(TAG, 'REJECTED', -2, -2); // decided, not COMPLETED, not PROCESSING
    await row(TAG, 'COMPLETED', 1, 3); // no row yet at the end: not applied
    await row('another-run', 'COMPLETED', -10, -5); // another tag: not this batch's
    await row('another-run', 'PROCESSING', -10, null);

    expect(await backlogAt(ctx.db.pool, TAG, AT)).toEqual({ completed: 2, rows: 5, processing: 2 });
    // Two seconds later: the transfer applied at +1 s has its row (PROCESSING until +3 s), and
    // the one COMPLETED at +2 s is done.
    expect(await backlogAt(ctx.db.pool, TAG, AT + 2_000)).toEqual({ completed: 3, rows: 6, processing: 2 });
  });
});
