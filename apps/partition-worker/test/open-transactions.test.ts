// Which partitions stand behind a Kafka transaction left open: held once the applied position
// has stood at the last stable offset, the log going on past it, for the bound; released when
// the stable offset moves (the transaction ended) or the partition applies again. Logged once
// each way (an outside review: an open transaction stopped a partition and nothing said so).
import { createLogger } from '@ledgerline/logging';
import { OpenTransactionWatch, describeHeld } from '../src/open-transactions';

function watchWithLog() {
  const lines: { msg: string; partition?: number }[] = [];
  const logger = createLogger({ name: 'worker', level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  return { watch: new OpenTransactionWatch(30_000, logger), lines };
}
const end = (stableOffset: bigint, logEnd: bigint) => ({ stableOffset, logEnd });

test('a partition at its stable offset with the log past it is held after the bound, logged once, and released when the transaction ends', () => {
  const { watch, lines } = watchWithLog();
  const t0 = 1_000_000;
  expect(watch.observe([{ partition: 3, applied: 15n, end: end(15n, 17n) }], t0)).toEqual([]);
  expect(watch.observe([{ partition: 3, applied: 15n, end: end(15n, 18n) }], t0 + 29_999)).toEqual([]);
  const held = watch.observe([{ partition: 3, applied: 15n, end: end(15n, 19n) }], t0 + 30_000);
  expect(held).toEqual([{ partition: 3, applied: 15n, stableOffset: 15n, since: t0 }]);
  expect(describeHeld(held[0]!, t0 + 31_000)).toMatch(/^partition 3: behind an open Kafka transaction for 31 s \(applied to 15, its last stable offset 15,/);
  watch.observe([{ partition: 3, applied: 15n, end: end(15n, 20n) }], t0 + 40_000);
  expect(lines.map((l) => l.msg)).toEqual(['partition 3 is behind an open Kafka transaction: nothing past its last stable offset reaches the worker until the transaction ends']);
  // Aborted: the stable offset reaches the log end.
  expect(watch.observe([{ partition: 3, applied: 15n, end: end(21n, 21n) }], t0 + 41_000)).toEqual([]);
  expect(lines.at(-1)?.msg).toBe('partition 3 is no longer behind an open Kafka transaction');
});

test('only markers between the applied position and the stable offset still count; a partition that moves, that is ahead of the reading or not known does not', () => {
  const { watch } = watchWithLog();
  const t0 = 1_000_000;
  const readings = (applied: bigint | null, stable: bigint, logEnd: bigint) => [{ partition: 0, applied, end: end(stable, logEnd) }];
  watch.observe(readings(14n, 15n, 17n), t0); // a commit marker at 14, then the open transaction
  expect(watch.observe(readings(14n, 15n, 17n), t0 + 30_000).map((p) => p.partition)).toEqual([0]);
  // The stable offset moved (one transaction ended, another is open): the time starts again.
  expect(watch.observe(readings(14n, 20n, 22n), t0 + 31_000)).toEqual([]);
  expect(watch.observe(readings(14n, 20n, 22n), t0 + 61_000).map((p) => p.partition)).toEqual([0]);
  // Applying (the position moved) is not standing.
  expect(watch.observe(readings(18n, 20n, 22n), t0 + 62_000)).toEqual([]);
  // No transaction open (the stable offset is the log end), unknown position, or no longer held by this worker.
  const fresh = watchWithLog().watch;
  for (const [applied, stable, logEnd] of [[5n, 5n, 5n], [null, 5n, 7n], [9n, 5n, 7n]] as const) {
    fresh.observe(readings(applied, stable, logEnd), t0);
    expect(fresh.observe(readings(applied, stable, logEnd), t0 + 60_000)).toEqual([]);
  }
  fresh.observe(readings(5n, 5n, 7n), t0);
  fresh.observe([], t0 + 10_000);
  expect(fresh.observe(readings(5n, 5n, 7n), t0 + 30_000)).toEqual([]);
});
