// Proves the worker's ops server tells the truth: /readyz answers 200 only once the worker
// holds partitions (or is a spare: a member of a group with more members than partitions) and
// Postgres, Redis and Kafka answer, 503 naming the failing check otherwise (a partition that
// cannot be worked on), 200 degraded with Redis unreachable;
// /metrics shows commands applied, relay publishes, per-partition consumer lag and outbox
// backlog that fall to 0 once everything published is applied, and the money in flight;
// and that only the operator network reads any of it.
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { createLogger } from '@ledgerline/logging';
import { listPartitionStates, loadRouting } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { TestPublisher, allTerminal, deposit, openAccountOn } from '../../../test/support/ledger';
import { testServices } from '../../../test/support/env';
import { startWorker, waitFor } from '../../../test/support/worker';
import { sample } from './support/prometheus-text';

async function get(url: string): Promise<{ status: number; text: string; json: () => any }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON under test
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const text = await response.text();
  return { status: response.status, text, json: () => JSON.parse(text) };
}

describe('the worker ops server', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  beforeAll(async () => {
    db = await createTestDatabase(1);
    topics = await createTestTopics(1);
  });
  afterAll(async () => {
    await topics.delete();
    await db.drop();
  });

  test('ready with its partition; metrics show applied commands, relay publishes, lag and backlog at 0', async () => {
    const target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
    const worker = await startWorker(target);
    const publisher = await TestPublisher.create(topics, db.pool);
    const second = await startWorker(target);
    try {
      const url = `http://127.0.0.1:${worker.opsPort}`;
      const secondUrl = `http://127.0.0.1:${second.opsPort}`;
      expect((await get(`${url}/healthz`)).status).toBe(200);

      // One partition, two workers: one holds it, the other is a spare, and both are ready (a
      // spare answered 503 for as long as it stayed one, so a readiness-gated rollout with more
      // workers than partitions never finished: an outside runbook review).
      const partitionsCheck = async (at: string) => (await get(`${at}/readyz`)).json().checks.partitions;
      await waitFor('one worker holding the partition, the other a spare', async () => {
        const both = [await partitionsCheck(url), await partitionsCheck(secondUrl)].sort();
        return both[0] === 'ok' && both[1] === 'spare';
      });
      const answers = [await get(`${url}/readyz`), await get(`${secondUrl}/readyz`)];
      const [ready, spare] = answers[0]!.json().checks.partitions === 'ok' ? answers : [answers[1]!, answers[0]!];
      expect([ready!.status, ready!.json()]).toEqual([200, { status: 'ok', checks: { postgres: 'ok', redis: 'ok', kafka: 'ok', partitions: 'ok' } }]);
      expect([spare!.status, spare!.json()]).toEqual([200, { status: 'ok', checks: { postgres: 'ok', redis: 'ok', kafka: 'ok', partitions: 'spare' } }]);
      const readyUrl = ready === answers[0] ? url : secondUrl;
      const spareUrl = ready === answers[0] ? secondUrl : url;
      expect(sample((await get(`${spareUrl}/metrics`)).text, 'ledger_worker_assigned_partitions')).toBe(0);

      const routing = await loadRouting(db.pool);
      const account = await openAccountOn(db.pool, routing, 0, 'ops');
      const deposits = [deposit(account, 100n), deposit(account, 200n), deposit(account, 300n)];
      for (const command of deposits) await publisher.publish(command);
      await waitFor('deposits applied', () => allTerminal(db.pool, deposits.map((d) => d.transferId)));
      // Each deposit's event goes out through the relay and is then marked published.
      await waitFor('outbox drained', async () => (await db.pool.query('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL')).rows[0].n === '0');

      // A transfer between its legs (PROCESSING) is money in flight out of its source partition.
      await db.pool.query(
        `INSERT INTO transfers (id, kind, status, from_account_id, to_account_id, amount, currency, principal, request_hash, source_partition, created_at)
         VALUES (gen_random_uuid(), 'TRANSFER', 'PROCESSING', $1, gen_random_uuid(), 777, 'USD', 'ops', 'h', 0, now())`,
        [account],
      );

      const metrics = (await get(`${readyUrl}/metrics`)).text;
      expect(sample(metrics, 'ledger_money_in_flight_minor_units{partition="0",currency="USD"}')).toBe(777);
      expect(sample(metrics, 'ledger_transfers_in_flight{partition="0"}')).toBe(1);
      expect(sample(metrics, 'ledger_worker_commands_applied_total{partition="0"}')).toBe(3);
      expect(sample(metrics, 'ledger_worker_relay_published_total')).toBeGreaterThanOrEqual(3);
      expect(sample(metrics, 'ledger_worker_consumer_lag_messages{partition="0"}')).toBe(0);
      expect(sample(metrics, 'ledger_worker_outbox_backlog_rows{partition="0"}')).toBe(0);
      expect(sample(metrics, 'ledger_worker_owned_partitions')).toBe(1);
      expect(metrics).toMatch(/^ledger_worker_batch_seconds_bucket\{le="0.1"\} \d+$/m);
      expect(sample(metrics, 'ledger_worker_batch_commands_count')).toBeGreaterThanOrEqual(1);
    } finally {
      await publisher.stop();
      await second.stop();
      await worker.stop();
    }
  });

  test('Redis unreachable: /readyz stays 200, degraded, naming redis (the cache is not needed to apply)', async () => {
    const worker = await startWorker(
      { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` },
      { REDIS_URL: 'redis://127.0.0.1:1' },
    );
    try {
      const url = `http://127.0.0.1:${worker.opsPort}`;
      // Partitions are assigned once the group settles; from then on only redis fails.
      await waitFor('partitions settled', async () => (await get(`${url}/readyz`)).json().checks.partitions === 'ok');
      const answer = await get(`${url}/readyz`);
      expect(answer.status).toBe(200);
      expect(answer.json()).toEqual({ status: 'degraded', checks: { postgres: 'ok', redis: 'failing', kafka: 'ok', partitions: 'ok' } });
    } finally {
      await worker.stop();
    }
  });

  test('a partition whose writes keep failing makes /readyz 503 naming it, until they succeed again', async () => {
    // Every write of the partition fails, whatever its commands: the worker retries, and a
    // partition that stopped moving must not look ready.
    const worker = await startWorker(
      { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` },
      { WORKER_WRITES_FAILING_UNREADY_MS: '1000' },
    );
    const publisher = await TestPublisher.create(topics, db.pool);
    const url = `http://127.0.0.1:${worker.opsPort}`;
    try {
      await waitFor('ready', async () => (await get(`${url}/readyz`)).status === 200);
      // Claims (an epoch change) pass, so the partition is claimed; every batch write (an offset
      // change) fails with an operating error, as a full disk would.
      await db.pool.query(`CREATE FUNCTION test_refuse_progress() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.next_offset IS DISTINCT FROM OLD.next_offset THEN
            RAISE EXCEPTION 'test: no progress allowed' USING ERRCODE = '53100';
          END IF;
          RETURN NEW;
        END $$`);
      await db.pool.query('CREATE TRIGGER test_refuse_progress BEFORE UPDATE ON partition_state FOR EACH ROW EXECUTE FUNCTION test_refuse_progress()');
      const funding = deposit(await openAccountOn(db.pool, await loadRouting(db.pool), 0, 'stuck-owner'), 5n);
      await publisher.publish(funding);
      // Past the claim (a moment of "commands waiting, not claimed") and past the 1 s bound.
      await sleep(3_000);
      await waitFor('unready', async () => (await get(`${url}/readyz`)).status === 503, 30_000);
      expect((await get(`${url}/readyz`)).json()).toEqual({ status: 'failing', checks: { postgres: 'ok', redis: 'ok', kafka: 'ok', partitions: 'failing' } });
      await db.pool.query('DROP TRIGGER test_refuse_progress ON partition_state');
      await waitFor('applied once the writes succeed', () => allTerminal(db.pool, [funding.transferId]), 30_000);
      await waitFor('ready again', async () => (await get(`${url}/readyz`)).status === 200, 30_000);
    } finally {
      await db.pool.query('DROP TRIGGER IF EXISTS test_refuse_progress ON partition_state');
      await db.pool.query('DROP FUNCTION IF EXISTS test_refuse_progress()');
      await publisher.stop();
      await worker.stop();
    }
  });

  test("a partition whose next offset Kafka no longer has applies nothing, skips nothing, says so in the log and makes /readyz 503", async () => {
    const target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
    const publisher = await TestPublisher.create(topics, db.pool);
    const routing = await loadRouting(db.pool);
    const account = await openAccountOn(db.pool, routing, 0, 'gone-owner');
    const lines: { msg: string; partition?: number }[] = [];
    const logger = createLogger({ name: 'worker', level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
    let worker: Awaited<ReturnType<typeof startWorker>> | null = null;
    const foreign = new Kafka({ brokers: testServices().kafkaBrokers, clientId: `${topics.prefix}-gone`, logLevel: logLevel.NOTHING });
    const admin = foreign.admin();
    try {
      // Applied through some offset, then stopped.
      const first = deposit(account, 1n);
      worker = await startWorker(target);
      await publisher.publish(first);
      await waitFor('the first deposit applied', () => allTerminal(db.pool, [first.transferId]), 30_000);
      await worker.stop();
      worker = null;
      const [state] = await listPartitionStates(db.pool, topics.names.commands);
      const next = state!.nextOffset;
      // Two commands accepted while no worker ran, then gone from Kafka (retention, here
      // deleteRecords) before any worker applied them.
      const lost = [deposit(account, 2n), deposit(account, 3n)];
      for (const command of lost) await publisher.publish(command);
      const kept = deposit(account, 4n);
      await publisher.publish(kept);
      await admin.connect();
      await admin.fetchTopicMetadata({ topics: [topics.names.commands] }); // kafkajs needs it loaded first
      await admin.deleteTopicRecords({ topic: topics.names.commands, partitions: [{ partition: 0, offset: String(next + 2n) }] });

      worker = await startWorker(target, { WORKER_WRITES_FAILING_UNREADY_MS: '1000' }, logger);
      const url = `http://127.0.0.1:${worker.opsPort}`;
      const told = await waitFor('the log says so', async () => lines.find((l) => l.msg.includes(`Kafka no longer has the records from ${next}`)), 30_000);
      expect(told.partition).toBe(0);
      // Well past WORKER_WRITES_FAILING_UNREADY_MS (1 s): unready, naming the partitions.
      expect((await get(`${url}/readyz`)).json()).toEqual({ status: 'failing', checks: { postgres: 'ok', redis: 'ok', kafka: 'ok', partitions: 'failing' } });
      expect(lines.filter((l) => l.msg.includes('Kafka no longer has the records')).length).toBe(1);
      // Nothing after the gap was applied in its place: the partition waits for an operator.
      expect((await listPartitionStates(db.pool, topics.names.commands))[0]!.nextOffset).toBe(next);
      expect(await allTerminal(db.pool, [kept.transferId])).toBe(false);
    } finally {
      await admin.disconnect();
      await worker?.stop();
      await publisher.stop();
    }
  });

  test('only the operator network reads /readyz, /metrics and /: anyone else 403, /healthz open', async () => {
    const worker = await startWorker(
      { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` },
      { WORKER_OPS_NETWORKS: '10.0.0.0/8' },
    );
    try {
      const url = `http://127.0.0.1:${worker.opsPort}`;
      for (const path of ['/readyz', '/metrics', '/']) expect((await get(`${url}${path}`)).status).toBe(403);
      expect((await get(`${url}/healthz`)).status).toBe(200);
    } finally {
      await worker.stop();
    }
  });
});
