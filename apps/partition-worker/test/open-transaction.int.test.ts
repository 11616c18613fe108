// Another client's Kafka transaction left open on the commands topic hides every later record
// of its partition from the worker's read_committed consumer until it ends. An outside review
// saw /readyz stay 200 and both lag figures read ~0 meanwhile (they were measured against the
// last stable offset). Here, against real Kafka, Postgres and Redis: a real kafkajs
// transactional producer writes one record and neither commits nor aborts; a deposit is
// published behind it. The worker's /readyz fails naming the cause, its log says which
// partition, its gauge says so, lag counts to the log end, and `ledgerctl workers` shows the
// open transaction; once the transaction is aborted all of that clears and the deposit applies.
import { Kafka, logLevel } from 'kafkajs';
import { createLogger } from '@ledgerline/logging';
import { listPartitionStates, loadRouting } from '@ledgerline/postgres';
import { TestPublisher, allTerminal, balanceOf, deposit, openAccountOn } from '../../../test/support/ledger';
import { ledgerctlFor } from '../../../test/support/ledgerctl';
import { testServices } from '../../../test/support/env';
import { useTestLedger } from '../../../test/support/test-ledger';
import { startWorker, waitFor } from '../../../test/support/worker';
import { sample } from './support/prometheus-text';

async function get(url: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url);
  return { status: response.status, text: await response.text() };
}

describe('a Kafka transaction left open on a partition', () => {
  const ledger = useTestLedger(1);

  test('makes /readyz fail naming it, is logged and counted, lag runs to the log end; it clears when the transaction ends', async () => {
    const { db, topics, target } = ledger;
    const publisher = await TestPublisher.create(topics, db.pool);
    const account = await openAccountOn(db.pool, await loadRouting(db.pool), 0, 'open-txn-owner');
    const lines: { msg: string; level: number; partition?: number; reasons?: string }[] = [];
    const logger = createLogger({ name: 'worker', level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
    const foreign = new Kafka({ brokers: testServices().kafkaBrokers, clientId: `${topics.prefix}-open`, logLevel: logLevel.NOTHING });
    const producer = foreign.producer({ transactionalId: `${topics.prefix}-open`, idempotent: true, maxInFlightRequests: 1 });
    const worker = await startWorker(target, { WORKER_OPEN_TRANSACTION_UNREADY_MS: '1000' }, logger);
    const url = `http://127.0.0.1:${worker.opsPort}`;
    const ledgerctl = ledgerctlFor(target);
    let transaction: Awaited<ReturnType<typeof producer.transaction>> | null = null;
    try {
      const first = deposit(account, 1n);
      await publisher.publish(first);
      await waitFor('the first deposit applied', () => allTerminal(db.pool, [first.transferId]), 30_000);
      await waitFor('ready', async () => (await get(`${url}/readyz`)).status === 200, 30_000);
      const stable = (await listPartitionStates(db.pool, topics.names.commands))[0]!.nextOffset;

      await producer.connect();
      transaction = await producer.transaction();
      await transaction.send({ topic: topics.names.commands, messages: [{ partition: 0, key: 'foreign', value: 'never committed' }] });
      const behind = deposit(account, 5n);
      await publisher.publish(behind);

      await waitFor('/readyz failing', async () => (await get(`${url}/readyz`)).status === 503, 30_000);
      expect(JSON.parse((await get(`${url}/readyz`)).text)).toEqual({ status: 'failing', checks: { postgres: 'ok', redis: 'ok', kafka: 'ok', partitions: 'failing' } });
      const verdict = lines.find((l) => l.msg === 'checks failing')?.reasons;
      expect(verdict).toMatch(new RegExp(`^partitions: partition 0: behind an open Kafka transaction for \\d+ s \\(applied to ${stable}, its last stable offset ${stable}, the log goes on past it`));
      expect(lines.filter((l) => l.msg.startsWith('partition 0 is behind an open Kafka transaction'))).toEqual([expect.objectContaining({ partition: 0, stableOffset: String(stable) })]);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(sample(metrics, 'ledger_worker_partition_behind_open_transaction{partition="0"}')).toBe(1);
      // The open transaction's record and the deposit behind it: counted to the log end.
      expect(sample(metrics, 'ledger_worker_consumer_lag_messages{partition="0"}')).toBe(2);
      const listed = await ledgerctl(['workers']);
      expect(listed.code).toBe(0);
      expect(listed.out).toMatch(new RegExp(`\\n0 +test-worker-\\S+ \\S+ +\\d+ +${stable} +2 +open: stable ${stable} < end ${stable + 2n}\\n`));
      expect(listed.out).toContain('partitions [0]: a Kafka transaction is open;');
      expect(await allTerminal(db.pool, [behind.transferId])).toBe(false);

      await transaction.abort();
      transaction = null;
      await waitFor('the deposit behind the transaction applied', () => allTerminal(db.pool, [behind.transferId]), 30_000);
      expect(await balanceOf(db.pool, account)).toBe(6n);
      await waitFor('ready again', async () => (await get(`${url}/readyz`)).status === 200, 30_000);
      expect(lines.some((l) => l.msg === 'partition 0 is no longer behind an open Kafka transaction')).toBe(true);
      const after = await (await fetch(`${url}/metrics`)).text();
      expect(sample(after, 'ledger_worker_partition_behind_open_transaction{partition="0"}')).toBe(0);
      // The abort marker after the deposit: an offset no consumer is given, so it stays counted.
      expect(sample(after, 'ledger_worker_consumer_lag_messages{partition="0"}')).toBe(1);
      expect((await ledgerctl(['workers'])).out).not.toContain('open: stable');
      expect(worker.fatal).toEqual([]);
    } finally {
      await transaction?.abort().catch(() => undefined);
      await producer.disconnect();
      await worker.stop();
      await publisher.stop();
    }
  }, 120_000);
});
