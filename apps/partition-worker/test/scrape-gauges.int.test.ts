// Proves the worker's scrape-time gauges never show a figure from before an outage as now's.
// Consumer lag is Kafka's high watermark minus the claimed partition's next offset, which the
// worker holds: it stays true while Postgres does not answer, when commands pile up and the
// lag is what an operator watches. Outbox backlog and money in flight are read from Postgres:
// while it does not answer they have no series (they once kept their last values, and lag
// froze with them, since all four were read together), and the read timestamp of the
// `postgres` source stops. Against real Kafka and Postgres; the outage is a pool whose server
// does not listen.
import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import { KafkaProbe } from '@ledgerline/kafka';
import { createLogger } from '@ledgerline/logging';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { testServices } from '../../../test/support/env';
import { type WorkerHealthDeps, WorkerHealth } from '../src/health';
import { createWorkerMetrics } from '../src/metrics';
import { sample } from './support/prometheus-text';

describe("the worker's scrape-time gauges", () => {
  let db: TestDatabase;
  let topics: TestTopics;
  const unreachable = new Pool({ connectionString: 'postgres://nobody:nothing@127.0.0.1:1/none', connectionTimeoutMillis: 1_000 });
  unreachable.on('error', () => undefined);
  beforeAll(async () => {
    db = await createTestDatabase(1);
    topics = await createTestTopics(1);
  });
  afterAll(async () => {
    await unreachable.end();
    await topics.delete();
    await db.drop();
  });

  test('lag stays true while Postgres does not answer; what Postgres gives loses its series', async () => {
    const producer = new Kafka({ brokers: testServices().kafkaBrokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const produce = (count: number) => producer.send({ topic: topics.names.commands, messages: Array.from({ length: count }, (_, i) => ({ partition: 0, value: `m${i}` })) });
    const probe = new KafkaProbe(topics.kafka);
    const metrics = createWorkerMetrics({ defaultMetrics: false });
    const deps: WorkerHealthDeps = {
      topic: topics.names.commands,
      groupId: `${topics.prefix}.partition-workers`,
      memberId: () => null,
      pool: db.pool,
      pingRedis: async () => undefined,
      kafka: probe,
      ownership: () => [{ partition: 0, epoch: 1n, nextOffset: 2n, writesFailing: null, fetchesPastNext: null }],
      relayCounts: () => ({ published: 0, failures: 0 }),
      metrics,
      checkTimeoutMs: 3_000,
      writesFailingUnreadyMs: 60_000,
      openTransactionUnreadyMs: 30_000,
      logger: createLogger({ name: 'scrape-gauges-test', level: 'silent' }),
    };
    const health = new WorkerHealth(deps);
    const scrape = async () => {
      await health.refreshMetrics();
      return metrics.registry.metrics();
    };
    try {
      // A source that never answered reads as 0 (never), not as no series.
      deps.pool = unreachable;
      const never = await scrape();
      expect(sample(never, 'ledger_worker_scrape_read_timestamp_seconds{source="postgres"}')).toBe(0);
      deps.pool = db.pool;
      await produce(5);
      const up = await scrape();
      expect(sample(up, 'ledger_worker_consumer_lag_messages{partition="0"}')).toBe(3);
      expect(sample(up, 'ledger_worker_outbox_backlog_rows{partition="0"}')).toBe(0);
      expect(sample(up, 'ledger_transfers_in_flight{partition="0"}')).toBe(0);
      const postgresReadAt = sample(up, 'ledger_worker_scrape_read_timestamp_seconds{source="postgres"}');
      expect(postgresReadAt).toBeGreaterThan(0);

      deps.pool = unreachable; // Postgres down: the worker's next offset is its own, in memory
      await produce(4);
      const down = await scrape();
      expect(sample(down, 'ledger_worker_consumer_lag_messages{partition="0"}')).toBe(7);
      expect(sample(down, 'ledger_worker_outbox_backlog_rows{partition="0"}')).toBeNull();
      expect(sample(down, 'ledger_transfers_in_flight{partition="0"}')).toBeNull();
      expect(sample(down, 'ledger_worker_scrape_read_timestamp_seconds{source="postgres"}')).toBe(postgresReadAt);
      expect(sample(down, 'ledger_worker_scrape_read_timestamp_seconds{source="kafka"}')).toBeGreaterThan(postgresReadAt!);

      deps.pool = db.pool; // back: the series return
      const back = await scrape();
      expect(sample(back, 'ledger_worker_outbox_backlog_rows{partition="0"}')).toBe(0);
      expect(sample(back, 'ledger_worker_scrape_read_timestamp_seconds{source="postgres"}')).toBeGreaterThan(postgresReadAt!);
    } finally {
      await producer.disconnect();
      await probe.close();
    }
  });
});
