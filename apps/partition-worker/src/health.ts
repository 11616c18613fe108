/**
 * What the worker's ops server reports: readiness and the gauges that are cheaper to read
 * at scrape time than to keep up to date on the apply path.
 *
 * Ready means: the consumer group assigned this process partitions, every assigned partition
 * with commands waiting is claimed (a claim happens when its first fetch arrives, so an idle
 * partition with nothing to apply needs none), none has had its writes failing, or every
 * fetch starting past its next offset (its records gone from Kafka), for
 * WORKER_WRITES_FAILING_UNREADY_MS, and Postgres and Kafka answer. Redis is checked too, but
 * a worker whose only failing check is Redis is ready, `degraded` (READY_WITHOUT). The
 * answer names each check and says ok or failing; the reason goes to the log, once per change.
 */
import type { Database } from '@ledgerline/postgres';
import { within } from '@ledgerline/config';
import type { KafkaProbe } from '@ledgerline/kafka';
import type { Logger } from '@ledgerline/logging';
import { countUnpublishedOutbox, describePgFailure, listPartitionStates, moneyInFlight } from '@ledgerline/postgres';
import { type WorkerMetrics, zeroPartitionCounters } from './metrics';
import type { Ownership } from './partition-worker';

type CheckName = 'postgres' | 'redis' | 'kafka' | 'partitions';
export type Readiness = { ready: boolean; degraded: boolean; checks: Record<CheckName, 'ok' | 'failing'> };

/**
 * Checks that leave the worker ready when they fail: Redis is the balance cache, refreshed
 * after commit and made good once it is back, so the worker applies commands without it (an
 * outside fault review saw lag stay at 0 through a Redis outage while /readyz said 503).
 */
const READY_WITHOUT: ReadonlySet<CheckName> = new Set(['redis']);


export interface WorkerHealthDeps {
  topic: string;
  pool: Database;
  pingRedis(): Promise<void>;
  kafka: KafkaProbe;
  ownership(): Ownership[];
  relayCounts(): { published: number; failures: number };
  metrics: WorkerMetrics;
  checkTimeoutMs: number;
  /** Writes failing this long make the partitions check fail. */
  writesFailingUnreadyMs: number;
  logger: Logger;
}

/** Unpublished outbox rows counted per partition and scrape at most. */
const OUTBOX_BACKLOG_COUNT_CAP = 1_000_000;

export class WorkerHealth {
  private lastVerdict = 'not checked yet';
  private relaySeen = { published: 0, failures: 0 };

  constructor(private readonly deps: WorkerHealthDeps) {}

  async readiness(): Promise<Readiness> {
    const { pool, pingRedis, kafka, checkTimeoutMs } = this.deps;
    const run = (name: CheckName, check: () => Promise<void>) =>
      within(check(), checkTimeoutMs, 'no answer').then(
        () => [name, null] as const,
        (error: unknown) => [name, name === 'postgres' ? describePgFailure(error) : ((error as Error).message ?? String(error))] as const,
      );
    const results = await Promise.all([
      run('postgres', async () => void (await pool.query('SELECT 1'))),
      run('redis', pingRedis),
      run('kafka', () => kafka.check()),
      run('partitions', () => this.checkPartitions()),
    ]);
    const checks = Object.fromEntries(results.map(([name, failure]) => [name, failure === null ? 'ok' : 'failing'])) as Readiness['checks'];
    const failures = results.filter(([, failure]) => failure !== null);
    this.logChange(failures.map(([name, failure]) => `${name}: ${failure}`).join('; '));
    const blocking = failures.filter(([name]) => !READY_WITHOUT.has(name));
    return { ready: blocking.length === 0, degraded: failures.length > 0, checks };
  }

  /**
   * Sets the scrape-time gauges. Each is read from its own sources, and a gauge whose source
   * does not answer within checkTimeoutMs loses its series (the last value would be a figure
   * from before the outage, shown as now's): lag needs Kafka (and Postgres only for a partition
   * assigned but not claimed yet), so it stays true through a Postgres outage, when commands
   * pile up; outbox backlog and money in flight need Postgres. `ledger_worker_scrape_read_
   * timestamp_seconds{source}` says when each source last answered.
   */
  async refreshMetrics(): Promise<void> {
    const { metrics, topic, pool, kafka, checkTimeoutMs } = this.deps;
    const owned = this.deps.ownership();
    metrics.assignedPartitions.set(owned.length);
    metrics.ownedPartitions.set(owned.filter((o) => o.epoch !== null).length);
    const relay = this.deps.relayCounts();
    metrics.relayPublished.inc(relay.published - this.relaySeen.published);
    metrics.relayFailures.inc(relay.failures - this.relaySeen.failures);
    this.relaySeen = relay;

    const partitions = owned.map((o) => o.partition);
    zeroPartitionCounters(metrics, partitions);
    const read = <T>(promise: Promise<T>, what: string) => within(promise, checkTimeoutMs, `${what} not read`);
    const unclaimed = owned.some((o) => o.nextOffset === null);
    const [watermarks, states, backlog, inFlight] = await Promise.allSettled([
      read(kafka.highWatermarks(topic), 'high watermarks'),
      unclaimed ? read(listPartitionStates(pool, topic), 'partition states') : Promise.resolve([]),
      read(countUnpublishedOutbox(pool, partitions, OUTBOX_BACKLOG_COUNT_CAP), 'outbox backlog'),
      read(moneyInFlight(pool, partitions), 'money in flight'),
    ]);
    const failed = [watermarks, states, backlog, inFlight].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length) this.deps.logger.debug('scrape-time gauges not read', { errors: failed.map((r) => (r.reason as Error).message) });
    const nowS = Date.now() / 1000;
    if (watermarks.status === 'fulfilled') metrics.scrapeRead.set({ source: 'kafka' }, nowS);
    if (backlog.status === 'fulfilled' && inFlight.status === 'fulfilled' && states.status === 'fulfilled') metrics.scrapeRead.set({ source: 'postgres' }, nowS);

    metrics.consumerLag.reset();
    if (watermarks.status === 'fulfilled') {
      for (const o of owned) {
        const stored = states.status === 'fulfilled' ? states.value.find((s) => s.partition === o.partition)?.nextOffset : undefined;
        const applied = o.nextOffset ?? stored ?? (states.status === 'fulfilled' ? 0n : null);
        if (applied === null) continue; // neither claimed nor read: unknown, not 0
        const high = watermarks.value.get(o.partition) ?? applied;
        metrics.consumerLag.set({ partition: String(o.partition) }, Number(high > applied ? high - applied : 0n));
      }
    }
    metrics.outboxBacklog.reset();
    if (backlog.status === 'fulfilled') {
      for (const o of owned) metrics.outboxBacklog.set({ partition: String(o.partition) }, backlog.value.get(o.partition) ?? 0);
    }
    metrics.moneyInFlight.reset();
    metrics.transfersInFlight.reset();
    if (inFlight.status === 'fulfilled') {
      for (const o of owned) metrics.transfersInFlight.set({ partition: String(o.partition) }, 0);
      for (const row of inFlight.value) {
        metrics.moneyInFlight.set({ partition: String(row.partition), currency: row.currency }, Number(row.amount));
        metrics.transfersInFlight.inc({ partition: String(row.partition) }, row.transfers);
      }
    }
  }

  private async checkPartitions(): Promise<void> {
    const owned = this.deps.ownership();
    if (owned.length === 0) throw new Error('no partitions assigned by the consumer group (yet)');
    const now = Date.now();
    const stuck: string[] = [];
    const lasted = (since: number) => now - since >= this.deps.writesFailingUnreadyMs;
    for (const { partition, writesFailing, fetchesPastNext: past } of owned) {
      if (writesFailing !== null && lasted(writesFailing.since)) {
        stuck.push(`partition ${partition}: applying failing for ${Math.round((now - writesFailing.since) / 1000)} s (last: ${writesFailing.error.slice(0, 200)})`);
      }
      if (past !== null && lasted(past.since)) {
        stuck.push(
          `partition ${partition}: for ${Math.round((now - past.since) / 1000)} s Kafka has offered nothing from next_offset ${past.nextOffset} (last fetch read from ${past.fetchedFrom}, first offset ${past.firstOffered ?? 'none'}): its records are gone?`,
        );
      }
    }
    if (stuck.length > 0) throw new Error(stuck.join('; '));
    const unclaimed = owned.filter((o) => o.epoch === null);
    if (unclaimed.length === 0) return;
    const [watermarks, states] = await Promise.all([this.deps.kafka.highWatermarks(this.deps.topic), listPartitionStates(this.deps.pool, this.deps.topic)]);
    const waiting = unclaimed.filter((o) => (watermarks.get(o.partition) ?? 0n) > (states.find((s) => s.partition === o.partition)?.nextOffset ?? 0n));
    if (waiting.length > 0) throw new Error(`partitions [${waiting.map((o) => o.partition).join(', ')}] have commands waiting and are not claimed yet`);
  }

  private logChange(verdict: string): void {
    if (verdict === this.lastVerdict) return;
    this.lastVerdict = verdict;
    if (verdict) this.deps.logger.warn('checks failing', { reasons: verdict });
    else this.deps.logger.info('all checks ok');
  }
}
