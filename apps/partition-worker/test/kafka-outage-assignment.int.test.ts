// With Kafka stopped, a worker's consumer crashes and kafkajs restarts it by itself; until it
// joins the group again it holds no partitions (the group may give them to another member).
// An outside runbook review stopped Kafka for 90 s: the worker kept its assignment, exported
// the old generation's Postgres gauges (outbox backlog, transfers in flight) and answered
// /readyz with partitions "ok", since only the non-restarting crash path cleared it. Now both
// paths do: assignment and those series go, /readyz fails partitions (not in the group) as
// well as kafka, and once Kafka is back the worker rejoins, claims afresh and applies again.
import { createLogger } from '@ledgerline/logging';
import { listPartitionStates, loadRouting } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { TestPublisher, allTerminal, deposit, openAccountOn } from '../../../test/support/ledger';
import { stack } from '../../../test/support/stack';
import { startWorker, waitFor } from '../../../test/support/worker';
import { sample } from './support/prometheus-text';

async function get(url: string): Promise<{ status: number; text: string; json: () => any }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON under test
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  return { status: response.status, text, json: () => JSON.parse(text) };
}

describe('a worker whose Kafka stops', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let kafkaStopped = false;

  beforeAll(async () => {
    db = await createTestDatabase(1);
    topics = await createTestTopics(1);
  });

  afterAll(async () => {
    if (kafkaStopped) stack('start-service', 'kafka');
    await topics.delete();
    await db.drop();
  });

  test('holds no partitions and exports none of their gauges until its consumer rejoins, then claims afresh', async () => {
    const lines: { msg: string }[] = [];
    const logger = createLogger({ name: 'worker', level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
    const worker = await startWorker({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` }, {}, logger);
    const publisher = await TestPublisher.create(topics, db.pool);
    const url = `http://127.0.0.1:${worker.opsPort}`;
    try {
      const account = await openAccountOn(db.pool, await loadRouting(db.pool), 0, 'outage');
      const before = deposit(account, 10n);
      await publisher.publish(before);
      await waitFor('the first deposit applied', () => allTerminal(db.pool, [before.transferId]), 30_000);
      const epochBefore = (await listPartitionStates(db.pool, topics.names.commands))[0]!.epoch;
      // Its deposit's event published and marked: the backlog back at 0.
      const up = await waitFor('the outbox drained', async () => {
        const text = (await get(`${url}/metrics`)).text;
        return sample(text, 'ledger_worker_outbox_backlog_rows{partition="0"}') === 0 ? text : null;
      });
      expect(sample(up, 'ledger_worker_assigned_partitions')).toBe(1);
      expect(sample(up, 'ledger_transfers_in_flight{partition="0"}')).toBe(0);
      await publisher.stop();

      stack('stop-service', 'kafka');
      kafkaStopped = true;
      // kafkajs retries its requests first, then crashes and restarts the consumer.
      await waitFor('the assignment cleared', async () => worker.worker.assignedPartitions().length === 0, 180_000, 500);
      const down = (await get(`${url}/metrics`)).text;
      expect(sample(down, 'ledger_worker_assigned_partitions')).toBe(0);
      expect(sample(down, 'ledger_worker_owned_partitions')).toBe(0);
      // Postgres answers, but the worker holds no partition to report on.
      expect(sample(down, 'ledger_worker_outbox_backlog_rows{partition="0"}')).toBeNull();
      expect(sample(down, 'ledger_transfers_in_flight{partition="0"}')).toBeNull();
      const readyz = await get(`${url}/readyz`);
      expect([readyz.status, readyz.json()]).toEqual([503, { status: 'failing', checks: { postgres: 'ok', redis: 'ok', kafka: 'failing', partitions: 'failing' } }]);
      expect((await get(`${url}/`)).json().ownership).toEqual([]);
      expect(lines.some((l) => l.msg === 'out of the consumer group until its consumer joins again: partitions []')).toBe(true);

      stack('start-service', 'kafka');
      kafkaStopped = false;
      await waitFor('rejoined, ready with its partition', async () => {
        const answer = await get(`${url}/readyz`);
        return answer.status === 200 && answer.json().checks.partitions === 'ok' && worker.worker.assignedPartitions().length === 1;
      }, 180_000, 500);
      const again = await TestPublisher.create(topics, db.pool);
      try {
        const after = deposit(account, 20n);
        await again.publish(after);
        await waitFor('a deposit after the outage applied', () => allTerminal(db.pool, [after.transferId]), 60_000);
      } finally {
        await again.stop();
      }
      // Its claim was released with the assignment and taken afresh: a new epoch.
      expect((await listPartitionStates(db.pool, topics.names.commands))[0]!.epoch).toBeGreaterThan(epochBefore);
      expect(worker.fatal).toEqual([]);
    } finally {
      if (kafkaStopped) {
        stack('start-service', 'kafka');
        kafkaStopped = false;
      }
      await worker.stop();
    }
  }, 480_000);
});
