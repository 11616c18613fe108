// Proves migration 0018: a saga leg that applied is recorded by the status it set (a credit
// leg: COMPLETED, a refund leg: REJECTED), a refused leg by its transfer_legs row.
// - The dedupe read (ledger_applied_keys) reports a leg applied on either record, and on a
//   row an applied leg wrote before 0018, for every state a transfer can be in with a leg
//   pending, set up straight in SQL.
// - The batch write refuses a copy that takes the other branch than its leg did: a copy
//   that applies where the leg was refused, one refused where the leg applied (LL003, which the
//   worker takes for a copy first, and only after its dedupe read for the leg's own fault),
//   and a refused refund of a transfer whose credit was never refused.
// - Reconcile names the statuses their rows contradict.
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { claimPartition, loadAppliedKeys, reconcile } from '../src';
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

describe('the batch write refuses a copy of a leg that takes the other branch', () => {
  let db: TestDatabase;
  let claim: Awaited<ReturnType<typeof claimPartition>>;
  let offset = 0;
  beforeAll(async () => {
    db = await createTestDatabase(1);
    claim = await claimPartition(db.pool, 'applied-legs', 0, 'owner');
  });
  afterAll(async () => {
    await db.drop();
  });

  /** One ledger_apply_batch call with these sections; resolves null or the SQLSTATE it failed with. */
  async function applyBatch(sections: { statuses?: object[]; legs?: object[] }): Promise<string | null> {
    const batch = { created: [], entries: [], balances: [], transfers: [], statuses: [], legs: [], fence_move_ids: [], outbox: [], ...sections };
    try {
      await db.pool.query('SELECT ledger_apply_batch($1, $2, $3, $4, $5, $6::jsonb)', [
        claim.topic,
        claim.partition,
        claim.epoch.toString(),
        String(offset),
        String(offset + 1),
        JSON.stringify(batch),
      ]);
      offset++;
      return null;
    } catch (error) {
      return (error as { code?: string }).code ?? String(error);
    }
  }
  const status = (id: string, to: 'COMPLETED' | 'REJECTED') => ({
    id,
    status: to,
    reason: to === 'REJECTED' ? 'DESTINATION_NOT_FOUND' : null,
    completed_at: new Date().toISOString(),
  });
  const refusedLeg = (id: string, leg: 'CREDIT' | 'REFUND') => ({ transfer_id: id, leg, partition: 0, outcome: 'REJECTED', reason: 'ACCOUNT_CLOSED' });
  const statusOf = async (id: string) => (await db.pool.query('SELECT status FROM transfers WHERE id = $1', [id])).rows[0].status as string;
  const legRowsOf = async (id: string) =>
    (await db.pool.query('SELECT leg FROM transfer_legs WHERE transfer_id = $1 ORDER BY leg', [id])).rows.map((r) => r.leg as string);

  test('a credit leg refused before: a copy that would now complete the transfer fails', async () => {
    const id = await plantTransfer(db.pool, 'PROCESSING', [{ leg: 'CREDIT', outcome: 'REJECTED' }]);
    expect(await applyBatch({ statuses: [status(id, 'COMPLETED')] })).toBe('LL003');
    expect(await statusOf(id)).toBe('PROCESSING');
  });

  test('a refund refused before: a copy that would now reject the transfer fails', async () => {
    const id = await plantTransfer(db.pool, 'PROCESSING', [
      { leg: 'CREDIT', outcome: 'REJECTED' },
      { leg: 'REFUND', outcome: 'REJECTED' },
    ]);
    expect(await applyBatch({ statuses: [status(id, 'REJECTED')] })).toBe('LL003');
    expect(await statusOf(id)).toBe('PROCESSING');
  });

  test('a leg applied before (the transfer is no longer PROCESSING): a copy refused now fails', async () => {
    const completed = await plantTransfer(db.pool, 'COMPLETED', []);
    expect(await applyBatch({ legs: [refusedLeg(completed, 'CREDIT')] })).toBe('LL003');
    const rejected = await plantTransfer(db.pool, 'REJECTED', [{ leg: 'CREDIT', outcome: 'REJECTED' }]);
    expect(await applyBatch({ legs: [refusedLeg(rejected, 'REFUND')] })).toBe('LL003');
    const rows = await db.pool.query('SELECT transfer_id, leg FROM transfer_legs WHERE transfer_id = ANY($1::uuid[])', [[completed, rejected]]);
    expect(rows.rows).toEqual([{ transfer_id: rejected, leg: 'CREDIT' }]);
  });

  test('a refund refused at its source with no refused credit to answer is not recorded (LL003)', async () => {
    // Every other refused-REFUND row here is refused first by its transfer's status; this one is
    // PROCESSING, so only the refund's own guard (a refund answers a refused credit) stands.
    const id = await plantTransfer(db.pool, 'PROCESSING', []);
    expect(await applyBatch({ legs: [refusedLeg(id, 'REFUND')] })).toBe('LL003');
    expect(await legRowsOf(id)).toEqual([]);
    expect(await statusOf(id)).toBe('PROCESSING');
    // The same refund answering a refused credit is written (money held in transit).
    const answering = await plantTransfer(db.pool, 'PROCESSING', [{ leg: 'CREDIT', outcome: 'REJECTED' }]);
    expect(await applyBatch({ legs: [refusedLeg(answering, 'REFUND')] })).toBeNull();
    expect(await legRowsOf(answering)).toEqual(['CREDIT', 'REFUND']);
  });

  test("a leg whose facts are not its transfer's is refused (LL003) and changes nothing; with them it is written", async () => {
    const id = await plantTransfer(db.pool, 'PROCESSING', []);
    const row = (await db.pool.query('SELECT from_account_id, to_account_id FROM transfers WHERE id = $1', [id])).rows[0];
    const facts = { kind: 'TRANSFER', from_account_id: row.from_account_id, to_account_id: row.to_account_id, amount: '1', currency: 'USD', hold_id: null, reverses: null, source_partition: 0 };
    const wrongs = [{ amount: '1000000' }, { to_account_id: randomUUID() }, { from_account_id: randomUUID() }, { currency: 'EUR' }, { source_partition: 1 }, { kind: 'REVERSAL' }, { reverses: randomUUID() }];
    for (const wrong of wrongs) {
      expect([wrong, await applyBatch({ statuses: [{ ...status(id, 'COMPLETED'), ...facts, ...wrong }] })]).toEqual([wrong, 'LL003']);
      expect([wrong, await applyBatch({ legs: [{ ...refusedLeg(id, 'CREDIT'), ...facts, ...wrong }] })]).toEqual([wrong, 'LL003']);
    }
    expect(await statusOf(id)).toBe('PROCESSING');
    // A refund leg names the partition that refused the credit, not the source: no source_partition to compare.
    expect(await applyBatch({ statuses: [{ ...status(id, 'COMPLETED'), ...facts, source_partition: null }] })).toBeNull();
    expect(await statusOf(id)).toBe('COMPLETED');
  });

  test('the first delivery of each branch is written', async () => {
    const refused = await plantTransfer(db.pool, 'PROCESSING', []);
    expect(await applyBatch({ legs: [refusedLeg(refused, 'CREDIT')] })).toBeNull();
    const completed = await plantTransfer(db.pool, 'PROCESSING', []);
    expect(await applyBatch({ statuses: [status(completed, 'COMPLETED')] })).toBeNull();
    expect(await statusOf(completed)).toBe('COMPLETED');
    const refunded = await plantTransfer(db.pool, 'PROCESSING', [{ leg: 'CREDIT', outcome: 'REJECTED' }]);
    expect(await applyBatch({ statuses: [status(refunded, 'REJECTED')] })).toBeNull();
    expect(await statusOf(refunded)).toBe('REJECTED');
  });

  test('a worker older than 0018 still records an applied leg with its status, in one batch', async () => {
    const id = await plantTransfer(db.pool, 'PROCESSING', []);
    expect(
      await applyBatch({ statuses: [status(id, 'COMPLETED')], legs: [{ transfer_id: id, leg: 'CREDIT', partition: 0, outcome: 'APPLIED', reason: null }] }),
    ).toBeNull();
    expect(await statusOf(id)).toBe('COMPLETED');
  });
});
