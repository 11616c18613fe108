// Which partitions stand behind a Kafka transaction left open: held once a transaction has
// stood open on the partition (the log going on past the last stable offset) at every reading
// for the bound; released at the first reading with none open. Logged once each way (an
// outside review: an open transaction stopped a partition and nothing said so).
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

test('a chain of transactions, each opened before the last ends, holds the partition from the first: the stable offset and the position moving do not restart the time', () => {
  // An outside review of the first version: its clock restarted at every move of the stable
  // offset, so a writer opening a new transaction every 20 s, each aborted at its timeout,
  // delayed every command by that timeout and never tripped it.
  const { watch } = watchWithLog();
  const t0 = 1_000_000;
  const readings = (applied: bigint | null, stable: bigint, logEnd: bigint) => [{ partition: 0, applied, end: end(stable, logEnd) }];
  expect(watch.observe(readings(15n, 15n, 17n), t0)).toEqual([]);
  // The first transaction aborted, the next already open: the worker applied what it freed.
  expect(watch.observe(readings(19n, 20n, 23n), t0 + 20_000)).toEqual([]);
  const held = watch.observe(readings(20n, 20n, 24n), t0 + 30_000);
  expect(held).toEqual([{ partition: 0, applied: 20n, stableOffset: 20n, since: t0 }]);
  expect(watch.observe(readings(24n, 26n, 29n), t0 + 45_000).map((p) => p.since)).toEqual([t0]);
  // A reading not taken (the position or the ends unknown) changes nothing.
  expect(watch.observe([{ partition: 0, applied: null, end: end(26n, 29n) }], t0 + 50_000).map((p) => p.since)).toEqual([t0]);
  expect(watch.observe([{ partition: 0, applied: 26n, end: undefined }], t0 + 51_000).map((p) => p.since)).toEqual([t0]);
  // No transaction open at a reading: released; the next one starts the time again.
  expect(watch.observe(readings(29n, 30n, 30n), t0 + 52_000)).toEqual([]);
  expect(watch.observe(readings(30n, 30n, 31n), t0 + 53_000)).toEqual([]);
  expect(watch.observe(readings(30n, 30n, 32n), t0 + 83_000).map((p) => p.since)).toEqual([t0 + 53_000]);
});

test('a partition no longer held by this worker is forgotten', () => {
  const { watch } = watchWithLog();
  const t0 = 1_000_000;
  watch.observe([{ partition: 0, applied: 5n, end: end(5n, 7n) }], t0);
  watch.observe([], t0 + 10_000);
  expect(watch.observe([{ partition: 0, applied: 5n, end: end(5n, 7n) }], t0 + 30_000)).toEqual([]);
});
