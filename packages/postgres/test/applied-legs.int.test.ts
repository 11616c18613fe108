// Proves which saga legs the dedupe read (ledger_applied_keys, migration 0018) reports as
// applied: a leg that applied is recorded by the status it set (a credit leg: COMPLETED, a
// refund leg: REJECTED), a refused leg by its transfer_legs row, and a row an applied leg
// wrote before 0018 still counts. Every state a transfer can be in with a leg pending,
// straight from SQL, so each row of the table below is the database's answer.
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { loadAppliedKeys, reconcile } from '../src';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';

type Status = 'PROCESSING' | 'COMPLETED' | 'REJECTED';
type LegRow = { leg: 'CREDIT' | 'REFUND'; outcome: 'APPLIED' | 'REJECTED' };

/** A transfer in `status` with these transfer_legs rows, written straight to the tables. */
async function plantTransfer(pool: Pool, status: Status, legs: LegRow[]): Promise<string> {
  const id = randomUUID();
  await pool.query(
    `INSERT INTO transfers (id, kind, status, reason, from_account_id, to_account_id, amount, currency, principal,
                            request_hash, source_partition, created_at, completed_at)
     VALUES ($1, 'TRANSFER', $2, $3, gen_random_uuid(), gen_random_uuid(), 1, 'USD', 'p', 'h', 0, now(),
             CASE WHEN $2 = 'PROCESSING' THEN NULL ELSE now() END)`,
    [id, status, status === 'REJECTED' ? 'DESTINATION_NOT_FOUND' : null],
  );
  for (const { leg, outcome } of legs) {
    await pool.query(`INSERT INTO transfer_legs (transfer_id, leg, partition, outcome, reason) VALUES ($1, $2, 0, $3, $4)`, [
      id,
      leg,
      outcome,
      outcome === 'REJECTED' ? 'DESTINATION_NOT_FOUND' : null,
    ]);
  }
  return id;
}

describe('applied saga legs', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(1);
  });
  afterAll(async () => {
    await db.drop();
  });

  async function appliedLegs(id: string): Promise<string[]> {
    const applied = await loadAppliedKeys(db.pool, [], [
      { transferId: id, leg: 'CREDIT' },
      { transferId: id, leg: 'REFUND' },
    ]);
    return [...applied].map((key) => key.slice(id.length + 1)).sort();
  }

  test.each<[string, Status, LegRow[], string[]]>([
    ['in flight: nothing applied', 'PROCESSING', [], []],
    ['credit applied (no row since 0018)', 'COMPLETED', [], ['CREDIT']],
    ['credit applied before 0018 (its row)', 'COMPLETED', [{ leg: 'CREDIT', outcome: 'APPLIED' }], ['CREDIT']],
    ['credit refused, refund on its way', 'PROCESSING', [{ leg: 'CREDIT', outcome: 'REJECTED' }], ['CREDIT']],
    ['credit refused, refund applied (no row since 0018)', 'REJECTED', [{ leg: 'CREDIT', outcome: 'REJECTED' }], ['CREDIT', 'REFUND']],
    [
      'credit refused, refund applied before 0018 (its row)',
      'REJECTED',
      [
        { leg: 'CREDIT', outcome: 'REJECTED' },
        { leg: 'REFUND', outcome: 'APPLIED' },
      ],
      ['CREDIT', 'REFUND'],
    ],
    [
      'credit refused, refund refused too (money held in transit)',
      'PROCESSING',
      [
        { leg: 'CREDIT', outcome: 'REJECTED' },
        { leg: 'REFUND', outcome: 'REJECTED' },
      ],
      ['CREDIT', 'REFUND'],
    ],
  ])('%s', async (_case, status, legs, expected) => {
    expect(await appliedLegs(await plantTransfer(db.pool, status, legs))).toEqual(expected);
  });

  test('a leg of a transfer this database has never seen is not applied', async () => {
    expect(await appliedLegs(randomUUID())).toEqual([]);
  });
});

describe('reconcile: legs agree with status', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(1);
  });
  afterAll(async () => {
    await db.drop();
  });

  test('applied legs without rows pass; a status its leg rows contradict is named', async () => {
    const plant = (status: Status, legs: LegRow[]) => plantTransfer(db.pool, status, legs);
    // Consistent, with and without the rows applied legs wrote before migration 0018.
    await plant('PROCESSING', []);
    await plant('COMPLETED', []);
    await plant('COMPLETED', [{ leg: 'CREDIT', outcome: 'APPLIED' }]);
    await plant('PROCESSING', [{ leg: 'CREDIT', outcome: 'REJECTED' }]);
    await plant('REJECTED', [{ leg: 'CREDIT', outcome: 'REJECTED' }]);
    await plant('REJECTED', [
      { leg: 'CREDIT', outcome: 'REJECTED' },
      { leg: 'REFUND', outcome: 'APPLIED' },
    ]);
    // Contradictions.
    const contradicted = [
      await plant('COMPLETED', [{ leg: 'CREDIT', outcome: 'REJECTED' }]),
      await plant('REJECTED', [{ leg: 'CREDIT', outcome: 'APPLIED' }]),
      await plant('PROCESSING', [{ leg: 'CREDIT', outcome: 'APPLIED' }]),
      await plant('REJECTED', [
        { leg: 'CREDIT', outcome: 'REJECTED' },
        { leg: 'REFUND', outcome: 'REJECTED' },
      ]),
    ];
    const report = await reconcile(db.pool, { outboxAgeMaxMs: 60_000 });
    const check = report.checks.find((c) => c.name === 'legs-agree-with-status')!;
    expect(check.violations).toBe(contradicted.length);
    expect(check.examples.map((e) => e.split(' ')[0]).sort()).toEqual([...contradicted].sort());
  });
});
