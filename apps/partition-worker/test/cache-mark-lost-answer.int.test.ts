// A write whose answer was lost (the connection ended after the commit, the write timeout
// fired while the statement ran on) throws out of apply() with its outcome unknown, and the
// worker retries it after a pause (partition-worker.ts, applyGuarded). During that pause the
// applier has no apply() in progress: the cache mark must not take that for "every write
// sent has committed and handed its refresh over", or it moves past a batch whose refresh
// was never sent, and a kill before the retry leaves the cached balance behind for good.
import type { Pool, QueryConfig } from 'pg';
import type { BalanceFigure, RoutingTable } from '@ledgerline/domain';
import { GroupCommitWriter, loadRouting } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { balanceOf, deposit, openAccountOn } from '../../../test/support/ledger';
import { QUIET_POST_COMMIT, messagesOf, realApplier } from './support/real-applier';

/**
 * The real pool; on request, the next batch write commits and its answer is lost, or the
 * next batch write waits to be sent until the test lets it go.
 */
function answerLosingPool(pool: Pool): { pool: Pool; loseNext(): void; holdNext(): () => void } {
  let lose = false;
  let held: Promise<void> | null = null;
  const proxy = new Proxy(pool, {
    get(target, property) {
      if (property !== 'query') return Reflect.get(target, property, target);
      return async (query: string | QueryConfig, values?: unknown[]) => {
        const text = typeof query === 'string' ? query : query.text;
        if (held && text.includes('ledger_apply_batch')) {
          const wait = held;
          held = null;
          await wait;
        }
        const result = await target.query(query, values);
        if (lose && text.includes('ledger_apply_batch')) {
          lose = false;
          throw new Error('injected: Connection terminated unexpectedly (after the commit)');
        }
        return result;
      };
    },
  });
  return {
    pool: proxy,
    loseNext: () => void (lose = true),
    holdNext: () => {
      let release!: () => void;
      held = new Promise<void>((resolve) => (release = resolve));
      return release;
    },
  };
}

/** The real pool, telling when a query asking the database's clock has been answered. */
function clockWatchingPool(pool: Pool): { pool: Pool; nextClockRead(): Promise<void> } {
  let waiting: (() => void) | null = null;
  const proxy = new Proxy(pool, {
    get(target, property) {
      if (property !== 'query') return Reflect.get(target, property, target);
      return async (query: string | QueryConfig, values?: unknown[]) => {
        const text = typeof query === 'string' ? query : query.text;
        const result = await target.query(query, values);
        if (waiting && text.includes(' AS now')) {
          waiting();
          waiting = null;
        }
        return result;
      };
    },
  });
  return { pool: proxy, nextClockRead: () => new Promise<void>((resolve) => (waiting = resolve)) };
}

describe('the cache mark and a write whose answer was lost', () => {
  let db: TestDatabase;
  let routing: RoutingTable;
  beforeAll(async () => {
    db = await createTestDatabase(1);
    routing = await loadRouting(db.pool);
  });
  afterAll(async () => {
    await db.drop();
  });

  /**
   * An account on partition 0, an applier whose batch writes can lose their answer (`losing`),
   * a cache (`cached`) the refreshes and the mark's catch-up fill, and the first of two
   * deposits applied and marked: the cache shows 100. `markPool` is what the mark's rounds ask.
   */
  async function lostAnswerSetup(topic: string, owner: string, markPool: Pool = db.pool) {
    const account = await openAccountOn(db.pool, routing, 0, owner);
    const cached = new Map<string, BalanceFigure>();
    const send = async (balances: readonly BalanceFigure[]) => {
      for (const b of balances) if ((cached.get(b.accountId)?.rev ?? -1n) < b.rev) cached.set(b.accountId, b);
    };
    const losing = answerLosingPool(db.pool);
    const applier = realApplier(losing.pool, {
      topic,
      routing,
      ports: {
        writer: new GroupCommitWriter(losing.pool, { groupMessagesMax: 0 }),
        postCommit: { ...QUIET_POST_COMMIT, refreshBalances: send },
        cacheMark: { pool: markPool, sendBalances: send, cacheTtlS: 3600, refreshesLanded: async () => true, refreshesDropped: () => 0, log: () => undefined },
      },
      batchCommandsMax: 100,
    });
    const commands = [deposit(account, 100n), deposit(account, 50n)];
    expect(await applier.apply(messagesOf(commands.slice(0, 1)))).toEqual({ kind: 'applied', nextOffset: 1n });
    await applier.cacheCaughtUp();
    await applier.advanceCacheMark();
    expect(cached.get(account)?.balance).toBe(100n);
    return { account, cached, losing, applier, commands };
  }

  test('the mark does not move past a batch that may have committed without its refresh', async () => {
    const { account, cached, losing, applier, commands } = await lostAnswerSetup('lost-answer-topic', 'lost-answer');

    losing.loseNext();
    await expect(applier.apply(messagesOf(commands.slice(1), 1))).rejects.toThrow(/injected/);
    // Committed, and nothing sent to the cache: the applier does not know it committed.
    expect(await balanceOf(db.pool, account)).toBe(150n);
    expect(cached.get(account)?.balance).toBe(100n);

    // The worker's pause before the retry: the mark's timer fires (a kill -9 may follow).
    await applier.advanceCacheMark();
    const r = await db.pool.query(
      `SELECT p.cache_behind_since <= a.updated_at AS covered FROM partition_state p, accounts a WHERE p.topic = $1 AND p.partition = 0 AND a.id = $2`,
      ['lost-answer-topic', account],
    );
    // Every change committed before the mark is in the cache, or the mark has not passed it.
    expect(r.rows[0].covered || cached.get(account)?.balance === 150n).toBe(true);

    // The retry meets the fence (the first attempt committed) and releases the partition; the
    // next claim catches the cache up from the mark, which never passed the lost write.
    expect(await applier.apply(messagesOf(commands.slice(1), 1))).toEqual({ kind: 'fenced', byAnotherOwner: false });
    expect(await applier.apply(messagesOf(commands.slice(1), 1))).toEqual({ kind: 'applied', nextOffset: 2n });
    await applier.cacheCaughtUp();
    expect(cached.get(account)?.balance).toBe(150n);
  });

  test('a mark round waiting across a retry that meets its own fence does not move the mark past the lost write', async () => {
    // Found by an outside crash-consistency review: the round read its instant while the
    // retry ran, and once the retry's fence released the claim it took "no claim" for "a new
    // claim's catch-up covers it" and moved the old claim's mark (still the partition's
    // latest epoch) past the write whose refresh was never sent.
    const clock = clockWatchingPool(db.pool);
    const { account, cached, losing, applier, commands } = await lostAnswerSetup('lost-answer-fenced-round', 'lost-answer-fenced', clock.pool);

    losing.loseNext();
    await expect(applier.apply(messagesOf(commands.slice(1), 1))).rejects.toThrow(/injected/);
    expect(await balanceOf(db.pool, account)).toBe(150n);

    // The retry is on its way (held before it reaches Postgres) when the mark's timer fires:
    // the round reads its instant, after the lost write's commit, and waits for the retry.
    const release = losing.holdNext();
    const retry = applier.apply(messagesOf(commands.slice(1), 1));
    const clockRead = clock.nextClockRead();
    const round = applier.advanceCacheMark();
    await clockRead;
    release();
    expect(await retry).toEqual({ kind: 'fenced', byAnotherOwner: false });
    expect(await round).toBe(false);

    // The next claim's catch-up starts at the mark, which has not passed the lost write.
    expect(await applier.apply(messagesOf(commands.slice(1), 1))).toEqual({ kind: 'applied', nextOffset: 2n });
    await applier.cacheCaughtUp();
    expect(cached.get(account)?.balance).toBe(150n);
  });
});
