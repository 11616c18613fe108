// Proves `ledgerctl partitions add` grows the commands topic and leaves the events topic's
// count alone. Growing the events topic too re-hashed its keys onto the new partitions: one
// hold's or account's later events landed on another partition than its earlier ones, and a
// consumer read them out of order with nothing to reorder them by (an outside review).
// Against the real ledgerctl, a worker, Kafka and Postgres through PgBouncer.
import { createKafka, KafkaAdmin } from '@ledgerline/kafka';
import { silentLogger } from '@ledgerline/logging';
import { loadRouting } from '@ledgerline/postgres';
import { testServices } from '../../../test/support/env';
import { ledgerctlFor } from '../../../test/support/ledgerctl';
import { useTestLedger } from '../../../test/support/test-ledger';
import { startWorker } from '../../../test/support/worker';

describe('ledgerctl partitions add', () => {
  const ledger = useTestLedger(2);

  test('grows the commands topic and spreads the buckets; the events topic keeps its partitions', async () => {
    const ledgerctl = ledgerctlFor(ledger.target);
    const admin = new KafkaAdmin(createKafka({ brokers: testServices().kafkaBrokers, clientId: 'partitions-add-events', logger: silentLogger }));
    const worker = await startWorker(ledger.target);
    try {
      const grown = await ledgerctl(['partitions', 'add', '--to', '3']);
      expect([grown.code, grown.err]).toEqual([0, '']);
      expect(grown.out).toMatch(new RegExp(`^${ledger.topics.names.commands}: 2 -> 3 partitions`));
      // Past this line Kafka cannot take them back: an interrupted run is told how to finish (an operator review).
      expect(grown.out).toContain('(if this is interrupted, `partitions add --to 3 --finish` spreads the buckets onto them)');
      expect(await admin.partitionCount(ledger.topics.names.commands)).toBe(3);
      expect(await admin.partitionCount(ledger.topics.names.events)).toBe(2);
      expect((await loadRouting(ledger.db.pool)).rows().filter((r) => r.partition === 2).length).toBeGreaterThan(300);
      expect(worker.fatal).toEqual([]);
    } finally {
      await worker.stop();
      await admin.close();
    }
  }, 180_000);
});
