// A balance the worker sends to the cache carries an `as_of` at which the ledger held it
// (docs/api.md, GET .../balance): given back as `at`, it reads the same figure. The entries'
// time is Postgres's clock (migration 0019); the `as_of` was once the worker's own clock, read
// after the commit, to the millisecond. On hosts whose clocks differ (any two hosts: NTP keeps
// them milliseconds apart, a bad one seconds), a worker behind the database gave an `as_of`
// before the entries it reflects, so `?at=<as_of>` read an older balance; one ahead gave an
// `as_of` after the next batch's entries, so `?at=<as_of>` read a newer one; and to the
// millisecond, a next batch in the same millisecond was inside it. Here the worker's clock is
// set 5 s off in each direction, against real Postgres, batches back to back.
import type { BalanceFigure, Clock, RoutingTable } from '@ledgerline/domain';
import { balanceAt, loadRouting } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { deposit, openAccountOn } from '../../../test/support/ledger';
import { QUIET_POST_COMMIT, messagesOf, realApplier } from './support/real-applier';

describe("the as_of of a worker's balance refresh", () => {
  let db: TestDatabase;
  let routing: RoutingTable;
  beforeAll(async () => {
    db = await createTestDatabase(1);
    routing = await loadRouting(db.pool);
  });
  afterAll(async () => {
    await db.drop();
  });

  test.each([
    ['5 s behind', -5_000],
    ['5 s ahead of', 5_000],
  ])("reads its own balance back as `at` with the worker's clock %s the database's", async (_, skewMs) => {
    const topic = `as-of-clock-${skewMs}`;
    const account = await openAccountOn(db.pool, routing, 0, 'as-of-clock');
    const sent: BalanceFigure[] = [];
    const send = async (balances: readonly BalanceFigure[]) => void sent.push(...balances);
    const skewed: Clock = { now: () => new Date(Date.now() + skewMs) };
    const applier = realApplier(db.pool, {
      topic,
      routing,
      ports: {
        clock: skewed,
        postCommit: { ...QUIET_POST_COMMIT, refreshBalances: send },
        cacheMark: { pool: db.pool, sendBalances: send, cacheTtlS: 3600, refreshesLanded: async () => true, refreshesDropped: () => 0, log: () => undefined },
      },
    });
    const amounts = [100n, 50n, 25n];
    for (const [i, amount] of amounts.entries()) {
      // Back to back: the next batch's entries may fall in the same millisecond, which an
      // `as_of` to the microsecond tells apart.
      expect(await applier.apply(messagesOf([deposit(account, amount)], i))).toMatchObject({ kind: 'applied' });
    }

    const figures = sent.filter((f) => f.accountId === account);
    expect(figures.map((f) => f.balance)).toEqual([100n, 150n, 175n]);
    for (const figure of figures) {
      expect(figure.asOf).toMatch(/^[0-9-]{10}T[0-9:]{8}\.[0-9]{6}Z$/);
      expect({ at: figure.asOf, ...(await balanceAt(db.pool, account, figure.asOf)) }).toEqual({ at: figure.asOf, seq: figure.seq, balance: figure.balance });
    }
  });
});
