// The worker's readiness logs a failing verdict when it changes, not at every probe while it
// only counts more seconds (an outside review of what the system writes about itself).
import { type Logger, createLogger } from '@ledgerline/logging';
import type { Database } from '@ledgerline/postgres';
import type { KafkaProbe } from '@ledgerline/kafka';
import { WorkerHealth } from '../src/health';
import { createWorkerMetrics } from '../src/metrics';
import type { Ownership } from '../src/partition-worker';

/** A worker's health over stand-ins for its ports: only the ownership, the log and Kafka's offsets vary. */
function healthOf(vary: { ownership: () => Ownership[]; logger: Logger; partitionEnds: KafkaProbe['partitionEnds']; checkTimeoutMs?: number }): WorkerHealth {
  return new WorkerHealth({
    topic: 'commands',
    groupId: 'workers',
    memberId: () => 'member-1',
    pool: { query: async () => ({ rows: [] }) } as unknown as Database,
    pingRedis: async () => undefined,
    kafka: { check: async () => undefined, partitionEnds: vary.partitionEnds } as unknown as KafkaProbe,
    ownership: vary.ownership,
    relayCounts: () => ({ published: 0, failures: 0 }),
    metrics: createWorkerMetrics({ defaultMetrics: false }),
    checkTimeoutMs: vary.checkTimeoutMs ?? 1_000,
    writesFailingUnreadyMs: 30_000,
    openTransactionUnreadyMs: 30_000,
    logger: vary.logger,
  });
}

test('a stuck partition is logged once while its failure only lasts longer, and again when it changes or ends', async () => {
  const lines: { msg?: string; reasons?: string }[] = [];
  const logger = createLogger({ name: 'worker', level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  const stuck: Ownership = { partition: 0, epoch: 1n, nextOffset: 5n, writesFailing: { since: Date.now() - 60_000, error: 'timeout' }, fetchesPastNext: null };
  let owned: Ownership[] = [stuck];
  const health = healthOf({ ownership: () => owned, logger, partitionEnds: async () => new Map([[0, { logEnd: 5n, stableOffset: 5n }]]) });
  const failing = () => lines.filter((l) => l.msg === 'checks failing').map((l) => l.reasons);

  expect((await health.readiness()).checks.partitions).toBe('failing');
  for (const lasted of [5_000, 10_000, 15_000]) {
    stuck.writesFailing!.since -= lasted; // the same failure, seconds later
    await health.readiness();
  }
  expect(failing()).toEqual([expect.stringMatching(/^partitions: partition 0: applying failing for 60 s \(last: timeout\)$/)]);
  stuck.writesFailing!.error = 'connection refused';
  await health.readiness();
  expect(failing()).toHaveLength(2);
  owned = [{ ...stuck, writesFailing: null }];
  expect((await health.readiness()).ready).toBe(true);
  expect(lines.at(-1)?.msg).toBe('all checks ok');
});

// An outside review: the check asked Kafka for the partitions' ends before reporting what it
// had already found, so an offset read that ran out the check's time lost "applying failing".
test("a stuck partition's reasons are reported though Kafka's offsets do not answer", async () => {
  const lines: { msg?: string; reasons?: string }[] = [];
  const logger = createLogger({ name: 'worker', level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  const stuck: Ownership = { partition: 0, epoch: 1n, nextOffset: 5n, writesFailing: { since: Date.now() - 60_000, error: 'timeout' }, fetchesPastNext: null };
  const health = healthOf({ ownership: () => [stuck], logger, partitionEnds: () => new Promise(() => undefined), checkTimeoutMs: 200 });
  expect((await health.readiness()).checks.partitions).toBe('failing');
  expect(lines.filter((l) => l.msg === 'checks failing').map((l) => l.reasons)).toEqual([expect.stringMatching(/partition 0: applying failing for 60 s \(last: timeout\)/)]);
});
