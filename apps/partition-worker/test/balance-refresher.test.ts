// Proves the bookkeeping of owed balance refreshes: only the newest figure of an account is
// owed, a figure the cache took is no longer owed, the bound drops the oldest debts, and
// retries stop once everything landed.
import type { BalanceFigure } from '@ledgerline/domain';
import { BalanceRefresher } from '../src/balance-refresher';

const figure = (accountId: string, seq: bigint): BalanceFigure => ({
  accountId,
  currency: 'USD',
  balance: seq * 10n,
  seq,
  held: 0n,
  rev: seq, // every change of an account raises its rev
  asOf: '2026-12-03T00:00:00.000Z',
});

/** A cache that refuses while `down` and records what it took. */
function flakyCache() {
  const state = { down: true, sends: 0, taken: new Map<string, bigint>() };
  const send = async (balances: readonly BalanceFigure[]) => {
    state.sends++;
    if (state.down) throw new Error('OOM command not allowed');
    for (const b of balances) state.taken.set(b.accountId, b.seq);
  };
  return { state, send };
}

const until = async (condition: () => boolean) => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe('BalanceRefresher', () => {
  test('owes the newest figure per account and sends it once the cache takes writes again', async () => {
    const cache = flakyCache();
    const refresher = new BalanceRefresher({ send: cache.send, retryDelayFirstMs: 5, retryDelayMaxMs: 20, owedMax: 100, sliceMax: 1, log: () => undefined });
    await refresher.refresh([figure('a', 1n), figure('b', 1n)]);
    await refresher.refresh([figure('a', 3n)]);
    await refresher.refresh([figure('a', 2n)]); // older than what is owed: changes nothing
    expect(refresher.owedCount).toBe(2);
    cache.state.down = false;
    await until(() => refresher.owedCount === 0);
    expect(cache.state.taken).toEqual(new Map([['b', 1n], ['a', 3n]]));
    const sends = cache.state.sends;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(cache.state.sends).toBe(sends); // nothing owed: no more retries
    refresher.stop();
  });

  test('a later refresh that lands settles the older debt of the same account', async () => {
    const cache = flakyCache();
    const refresher = new BalanceRefresher({ send: cache.send, retryDelayFirstMs: 10_000, retryDelayMaxMs: 10_000, owedMax: 100, sliceMax: 1, log: () => undefined });
    await refresher.refresh([figure('a', 1n)]);
    cache.state.down = false;
    await refresher.refresh([figure('a', 2n)]);
    expect(refresher.owedCount).toBe(0);
    refresher.stop();
  });

  test('retries go in slices, each settled on its own; a figure the cache can never take is dropped', async () => {
    const taken: string[] = [];
    let down = true;
    const send = async (balances: readonly BalanceFigure[]) => {
      if (down) throw new Error('connection lost');
      if (balances.some((b) => b.accountId === 'bad')) throw new RangeError('seq of bad must not be negative');
      if (balances.some((b) => b.accountId === 'later')) throw new Error('OOM command not allowed');
      taken.push(...balances.map((b) => b.accountId));
    };
    const refresher = new BalanceRefresher({ send, retryDelayFirstMs: 5, retryDelayMaxMs: 5, owedMax: 100, sliceMax: 1, log: () => undefined });
    await refresher.refresh([figure('a', 1n), figure('bad', 1n), figure('b', 1n), figure('later', 1n)]);
    down = false;
    await until(() => refresher.owedCount === 1);
    expect(taken).toEqual(['a', 'b']);
    expect(refresher.owedCount).toBe(1); // 'later' is still owed; 'bad' was dropped
    refresher.stop();
  });

  test('past the bound the oldest debts are dropped', async () => {
    const cache = flakyCache();
    const refresher = new BalanceRefresher({ send: cache.send, retryDelayFirstMs: 10_000, retryDelayMaxMs: 10_000, owedMax: 2, sliceMax: 1, log: () => undefined });
    await refresher.refresh([figure('a', 1n), figure('b', 1n), figure('c', 1n)]);
    expect(refresher.owedCount).toBe(2);
    cache.state.down = false;
    await refresher.refresh([figure('b', 1n), figure('c', 1n)]);
    expect(refresher.owedCount).toBe(0);
    refresher.stop();
  });

  test('allLanded waits for the sends in flight, and says no while a figure is owed or after one was dropped', async () => {
    const cache = flakyCache();
    cache.state.down = false;
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const refresher = new BalanceRefresher({
      send: async (balances) => {
        await held; // the first send is slow
        return cache.send(balances);
      },
      retryDelayFirstMs: 5,
      retryDelayMaxMs: 20,
      owedMax: 1,
      sliceMax: 10,
      log: () => undefined,
    });
    void refresher.refresh([figure('a', 1n)]);
    let answer: boolean | null = null;
    void refresher.allLanded().then((landed) => (answer = landed));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(answer).toBeNull(); // still in flight
    release();
    await until(() => answer !== null);
    expect(answer).toBe(true);
    expect(cache.state.taken.get('a')).toBe(1n);

    cache.state.down = true;
    await refresher.refresh([figure('b', 1n)]);
    expect(await refresher.allLanded()).toBe(false); // owed
    await refresher.refresh([figure('c', 1n)]); // past owedMax: b's debt is dropped
    expect(refresher.droppedTotal).toBe(1);
    cache.state.down = false;
    await until(() => refresher.owedCount === 0);
    expect(refresher.droppedTotal).toBe(1); // never forgotten: the cache mark catches b up
    expect(await refresher.allLanded()).toBe(true);
    refresher.stop();
  });
});
