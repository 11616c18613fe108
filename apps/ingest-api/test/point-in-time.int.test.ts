// Proves that the API's reads of a past instant (GET balance `?at=`, entries `?to=`) wait for
// the writes still in flight that stamped entries at or before it (docs/design.md invariant 2,
// migration 0019), against the real API, Postgres through PgBouncer and Redis: answered before
// the writer commits, the same instant would read more a moment later.
// packages/postgres/test/entries-settled.int.test.ts proves awaitEntriesSettled itself; this
// proves the routes call it.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { noEffects } from '@ledgerline/domain';
import { claimPartition, loadRouting, writeBatch } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { type Answer, Client, startApi, token } from '../../../test/support/api';
import { openAccountOn } from '../../../test/support/ledger';

describe('a read of a past instant through the API', () => {
  // Its own hooks, not useTestLedger's: the API stops before the database and topics go.
  let db: TestDatabase;
  let topics: TestTopics;
  let api: Awaited<ReturnType<typeof startApi>>;
  let alice: Client;

  beforeAll(async () => {
    db = await createTestDatabase(1);
    topics = await createTestTopics(1);
    api = await startApi({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` });
    alice = new Client(api.url, await token('alice'));
  });

  afterAll(async () => {
    await api.stop();
    await topics.delete();
    await db.drop();
  });

  /**
   * Opens a transaction that writes a balanced pair of entries (another account -> alice's
   * new account, 7) through ledger_apply_batch, as a worker's batch does, and leaves it open:
   * it holds the partition's row until `commit`. `at` is the entries' stamp.
   */
  async function writeInFlight(): Promise<{ account: string; at: string; commit: () => Promise<void>; close: () => void }> {
    const opened = await alice.post('/v1/accounts', { currency: 'USD' });
    expect(opened.status).toBe(201);
    const account = opened.body.id as string;
    const payer = await openAccountOn(db.pool, await loadRouting(db.pool), 0, 'payer');
    const claim = await claimPartition(db.pool, 'point-in-time', 0, 'owner');
    const writer = await db.pool.connect();
    await writer.query('BEGIN');
    const transferId = randomUUID();
    const entry = (accountId: string, amount: bigint) => ({ accountId, seq: 1n, transferId, step: amount < 0n ? ('DEBIT' as const) : ('CREDIT' as const), amount, balanceAfter: amount, currency: 'USD' });
    await writeBatch(writer, {
      claim,
      fromOffset: claim.nextOffset,
      toOffset: claim.nextOffset + 1n,
      before: new Map(),
      outbox: [],
      effects: { ...noEffects(), entries: [entry(payer, -7n), entry(account, 7n)] },
    });
    const { rows } = await writer.query<{ at: string }>(
      `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at FROM entries WHERE account_id = $1`,
      [account],
    );
    const at = rows[0]!.at;
    while (Date.now() <= Date.parse(at) + 5) await sleep(1); // `at` has passed
    return {
      account,
      at,
      commit: async () => {
        await writer.query('COMMIT');
      },
      close: () => writer.release(true), // closed, not pooled: a failed test must not leave its transaction open
    };
  }

  /** Sends `path` now: its answer once it comes, and whether it has come yet. */
  function pending(path: string): { answer: Promise<Answer>; answered: () => boolean } {
    let done = false;
    const answer = alice.get(path).finally(() => {
      done = true;
    });
    return { answer, answered: () => done };
  }

  test('GET balance ?at= waits for the write in flight that stamped entries at or before it', async () => {
    const write = await writeInFlight();
    try {
      const read = pending(`/v1/accounts/${write.account}/balance?at=${write.at}`);
      await sleep(300);
      expect(read.answered()).toBe(false); // still waiting for the writer
      await write.commit();
      const { status, body } = await read.answer;
      expect(status).toBe(200);
      expect(body).toMatchObject({ account_id: write.account, balance: '7', version: '1' });
    } finally {
      write.close();
    }
  });

  test('GET entries ?to= a past instant waits for it too', async () => {
    const write = await writeInFlight();
    try {
      const to = new Date(Date.parse(write.at) + 1).toISOString(); // the entry's instant is inside [.., to)
      while (Date.now() <= Date.parse(to) + 5) await sleep(1);
      const read = pending(`/v1/accounts/${write.account}/entries?to=${to}`);
      await sleep(300);
      expect(read.answered()).toBe(false);
      await write.commit();
      const { status, body } = await read.answer;
      expect(status).toBe(200);
      expect(body.entries.map((e: { amount: string }) => e.amount)).toEqual(['7']);
    } finally {
      write.close();
    }
  });

  // Found by an outside review: whether an instant had passed was read from the API host's
  // clock, while the ledger's instants (entries, `as_of`) are Postgres's. An API host whose
  // clock runs behind read a `to` the ledger had passed without waiting for the writes in
  // flight before it, and refused an `as_of` given straight back as `at`.
  describe('by an API whose clock runs a minute behind the ledger', () => {
    let late: Awaited<ReturnType<typeof startApi>>;
    let aliceThere: Client;

    beforeAll(async () => {
      const behind = { now: () => new Date(Date.now() - 60_000) };
      late = await startApi({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` }, {}, undefined, behind);
      aliceThere = new Client(late.url, await token('alice'));
    });

    afterAll(async () => {
      await late.stop();
    });

    test('an `as_of` given back as `at` reads the same figure, not "in the future"', async () => {
      const write = await writeInFlight();
      await write.commit();
      write.close();
      const now = await aliceThere.get(`/v1/accounts/${write.account}/balance`);
      expect(now.status).toBe(200);
      const then = await aliceThere.get(`/v1/accounts/${write.account}/balance?at=${now.body.as_of}`);
      expect([then.status, then.body.balance]).toEqual([200, now.body.balance]);
    });

    test('GET entries ?to= an instant the ledger has passed waits for the write in flight before it', async () => {
      const write = await writeInFlight();
      try {
        const to = new Date(Date.parse(write.at) + 1).toISOString();
        while (Date.now() <= Date.parse(to) + 5) await sleep(1);
        let done = false;
        const answer = aliceThere.get(`/v1/accounts/${write.account}/entries?to=${to}`).finally(() => {
          done = true;
        });
        await sleep(300);
        expect(done).toBe(false);
        await write.commit();
        const { status, body } = await answer;
        expect(status).toBe(200);
        expect(body.entries.map((e: { amount: string }) => e.amount)).toEqual(['7']);
      } finally {
        write.close();
      }
    });
  });
});
