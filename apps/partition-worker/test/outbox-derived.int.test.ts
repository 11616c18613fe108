// Outbox rows of credit legs and transfer events store their transfer's id, not the message
// (migration 0017). What makes that safe: the message the sweeper rebuilds from the stored
// transfer row after a crash is, byte for byte, the one the relay would have published from
// memory. Checked here on real batches written to Postgres (applyBatch, then writeBatch with
// the worker's own outbox rows) for every kind of derived message: the legs of a transfer, a
// capture and a reversal, and the terminal events of a transfer completed and refused on
// its partition, completed by its leg (a capture's, naming the hold; a reversal's, naming
// the original) and refused by a refund.
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import {
  type AccountState,
  type BatchEffects,
  type Command,
  type HoldState,
  type ReversibleTransfer,
  RoutingTable,
  applyBatch,
} from '@ledgerline/domain';
import { type OutboxRow, type PartitionClaim, claimPartition, loadAccountStates, loadUnpublishedOutbox, writeBatch } from '@ledgerline/postgres';
import { outboxRowsOf, withMessage } from '../src/outbox-messages';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { decodeCommand } from '@ledgerline/schemas';
import { accountOnPartition, deposit, openAccountOn, testSeal, transfer } from '../../../test/support/ledger';

const PARTITIONS = 8;
const P = 2;
const Q = 5;

describe('outbox rows derived from their transfer', () => {
  let db: TestDatabase;
  const routing = RoutingTable.initial(PARTITIONS);
  const claims = new Map<number, PartitionClaim>();
  const states = new Map<number, Map<string, AccountState>>();
  const written: (OutboxRow & { sourcePartition: number })[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(PARTITIONS);
  });
  afterAll(async () => {
    await db.drop();
  });

  /** One batch at `partition`, written as the worker writes it; its account states carried forward. */
  async function apply(partition: number, commands: Command[], extra: { holds?: Map<string, HoldState>; reversible?: Map<string, ReversibleTransfer> } = {}): Promise<BatchEffects> {
    const topic = 'derived';
    if (!claims.has(partition)) claims.set(partition, await claimPartition(db.pool, topic, partition, 'test'));
    const claim = claims.get(partition)!;
    const known = states.get(partition) ?? new Map<string, AccountState>();
    const effects = applyBatch(
      { partition, now: new Date().toISOString(), accounts: known, partitionOf: (id) => routing.partitionOf(id), alreadyApplied: new Set(), ...extra },
      commands,
    );
    const toOffset = claim.nextOffset + BigInt(commands.length);
    const { published: rows } = await writeBatch(db.pool, { claim, fromOffset: claim.nextOffset, toOffset, effects, before: known, outbox: outboxRowsOf(effects, [], testSeal) });
    claim.nextOffset = toOffset;
    const next = new Map(known);
    for (const account of effects.accounts) next.set(account.id, account);
    states.set(partition, next);
    for (const row of rows) written.push({ ...row, sourcePartition: partition });
    return effects;
  }

  async function loadStates(pool: Pool, partition: number, ids: string[]): Promise<void> {
    states.set(partition, new Map([...(states.get(partition) ?? new Map()), ...(await loadAccountStates(pool, ids))]));
  }

  const legsOf = (effects: BatchEffects) => effects.outbox.flatMap((o) => (o.kind === 'COMMAND' ? [o.command] : []));

  test('the sweeper rebuilds every derived message exactly as the relay publishes it', async () => {
    const owner = 'derived-owner';
    const a = await openAccountOn(db.pool, routing, P, owner);
    const a2 = await openAccountOn(db.pool, routing, P, owner);
    const b = await openAccountOn(db.pool, routing, Q, owner);
    await db.pool.query('UPDATE accounts SET balance = 1000 WHERE id = ANY($1::uuid[])', [[a, a2, b]]);
    await loadStates(db.pool, P, [a, a2]);
    await loadStates(db.pool, Q, [b]);
    const nowhere = accountOnPartition(routing, Q);

    // At P: a leg to b; a transfer completed and one refused on P; a hold; a leg to an account that does not exist.
    const holdId = randomUUID();
    const cross = transfer(a, b, owner, 100n);
    const lost = transfer(a, nowhere, owner, 5n);
    const source = await apply(P, [
      cross,
      transfer(a, a2, owner, 10n),
      transfer(a, a2, owner, 1_000_000n),
      { type: 'HOLD', holdId, accountId: a, amount: 50n, currency: 'USD', principal: owner, admin: false, requestHash: 'h', acceptedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 3_600_000).toISOString(), description: null },
      lost,
    ]);
    const hold = source.newHolds.find((h) => h.id === holdId)!;
    expect(hold.status).toBe('HELD');
    // At P: the hold captured to b (a capture's leg names its hold).
    const capture: Command = { type: 'CAPTURE', transferId: randomUUID(), holdId, accountId: a, toAccountId: b, amount: 50n, currency: 'USD', principal: owner, admin: false, requestHash: 'c', acceptedAt: new Date().toISOString() };
    const captured = await apply(P, [capture], { holds: new Map([[holdId, { ...hold, capturedAmount: 0n }]]) });

    // At Q: the three legs; the one to a missing account is refused and refunded.
    const atQ = await apply(Q, [...legsOf(source), ...legsOf(captured)]);
    expect(atQ.outcomes.map((o) => o.result).sort()).toEqual(['LEG_APPLIED', 'LEG_APPLIED', 'LEG_REJECTED']);
    // At P: the refund comes home (TransferRejected).
    await apply(P, legsOf(atQ));

    // At Q: b pays the first transfer back (a reversal's leg to a at P), completed at P.
    const reversal: Command = { type: 'REVERSAL', transferId: randomUUID(), reverses: cross.transferId, fromAccountId: b, amount: 40n, currency: 'USD', principal: owner, admin: false, requestHash: 'r', acceptedAt: new Date().toISOString(), description: null };
    const original: ReversibleTransfer = { id: cross.transferId, kind: 'TRANSFER', status: 'COMPLETED', fromAccountId: a, toAccountId: b, amount: 100n, currency: 'USD', reversedAmount: 0n };
    const reversed = await apply(Q, [reversal], { reversible: new Map([[cross.transferId, original]]) });
    await apply(P, legsOf(reversed));

    // Every derived kind is here: three legs, and the terminal events of each way to finish.
    const derived = written.filter((w) => w.derived);
    const payloads = derived.map((w) => JSON.parse(w.payload) as Record<string, unknown>);
    expect(payloads.filter((m) => m.type === 'CREDIT_LEG').map((m) => m.kind).sort()).toEqual(['CAPTURE', 'REVERSAL', 'TRANSFER', 'TRANSFER']);
    const events = payloads.filter((m) => m.type !== 'CREDIT_LEG');
    expect(events.filter((m) => m.kind === 'CAPTURE' && m.hold_id === holdId && m.type === 'TransferCompleted')).toHaveLength(1);
    expect(events.filter((m) => m.kind === 'REVERSAL' && m.reverses === cross.transferId && m.type === 'TransferCompleted')).toHaveLength(1);
    expect(events.filter((m) => m.transfer_id === lost.transferId && m.type === 'TransferRejected' && m.reason === 'DESTINATION_NOT_FOUND')).toHaveLength(1);
    expect(events.filter((m) => m.type === 'TransferRejected' && m.reason === 'INSUFFICIENT_FUNDS')).toHaveLength(1);
    expect(events.filter((m) => m.type === 'TransferCompleted')).toHaveLength(4);
    // What is not a leg or a terminal event keeps its payload: the hold's events, the refund leg.
    expect(written.filter((w) => !w.derived).map((w) => JSON.parse(w.payload).type).sort()).toEqual(['HoldCaptured', 'HoldPlaced', 'REFUND_LEG']);

    // Stored: the transfer's id, no payload and no key.
    const stored = await db.pool.query(`SELECT count(*)::int AS n FROM outbox WHERE derived_as IS NOT NULL AND payload IS NULL AND message_key IS NULL AND transfer_id IS NOT NULL`);
    expect(stored.rows[0].n).toBe(derived.length);

    // Nothing was relayed: every row is a leftover, and the sweeper's message is the relay's:
    // byte for byte when rebuilt; as JSON when stored (jsonb orders the members its own way).
    const swept = (await loadUnpublishedOutbox(db.pool, [P, Q], 0)).map((row) => withMessage(row, testSeal));
    expect(swept).toHaveLength(written.length);
    const relayed = new Map(written.map((w) => [`${w.sourcePartition}/${w.id}`, w]));
    for (const row of swept) {
      const id = `${row.sourcePartition}/${row.id}`;
      const sent = relayed.get(id)!;
      expect({ id, topic: row.topic, key: row.key }).toEqual({ id, topic: sent.topic, key: sent.key });
      if (sent.derived) expect(row.payload).toBe(sent.payload);
      else expect(JSON.parse(row.payload)).toEqual(JSON.parse(sent.payload));
    }
  });

  test('a derived row whose transfer does not exist is refused alone; the others still get their message', async () => {
    const ghost = randomUUID();
    await db.pool.query(`INSERT INTO outbox (source_partition, topic, transfer_id, derived_as) VALUES ($1, 'events', $2, 'TERMINAL_EVENT')`, [P, ghost]);
    const leftovers = await loadUnpublishedOutbox(db.pool, [P], 0);
    const broken = leftovers.filter((r) => r.derivedFrom?.transferId === ghost);
    expect(broken).toHaveLength(1);
    expect(() => withMessage(broken[0]!, testSeal)).toThrow(ghost);
    expect(leftovers.filter((r) => r !== broken[0]).map((row) => withMessage(row, testSeal)).length).toBe(leftovers.length - 1);
  });

  test("an operator's command forwarded after a bucket move and left unpublished goes out with a seal that verifies", async () => {
    // A deposit (sealed: only an operator may deposit) reaches P, but its account is Q's now:
    // P forwards it, sealed again, in its outbox. A crash before the relay published it leaves
    // the row to the sweeper, which reads the payload back from jsonb: its own rendering.
    const b = await openAccountOn(db.pool, routing, Q, 'derived-owner');
    const command = deposit(b, 70n);
    const effects = await apply(P, [command]);
    expect(effects.outcomes).toEqual([{ commandId: command.transferId, result: 'FORWARDED' }]);
    const stored = (await loadUnpublishedOutbox(db.pool, [P], 0)).filter((r) => r.topic === 'commands' && r.payload?.includes(command.transferId));
    expect(stored).toHaveLength(1);
    // As Postgres renders it, the seal no longer verifies: the owner would dead-letter it as forged.
    expect(decodeCommand(Buffer.from(stored[0]!.payload!), testSeal)).toMatchObject({ ok: false, reason: expect.stringMatching(/^forged:/) });
    // As the sweeper sends it, the owner reads the operator's deposit.
    const swept = withMessage(stored[0]!, testSeal);
    expect(swept.key).toBe(b);
    expect(decodeCommand(Buffer.from(swept.payload), testSeal)).toEqual({ ok: true, command });
    // An unsealed command's leftover is sent as stored.
    const plain = (await loadUnpublishedOutbox(db.pool, [P, Q], 0)).find((r) => r.topic === 'commands' && r.derivedFrom === null && !r.payload!.includes('operator_seal'));
    expect(plain).toBeDefined();
    expect(withMessage(plain!, testSeal).payload).toBe(plain!.payload);
  });
});
