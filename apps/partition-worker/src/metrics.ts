/** Prometheus metrics of one worker process. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DeadLetterReason } from './partition-applier';

export function createWorkerMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const metrics = {
    registry,
    commandsApplied: new Counter({ name: 'ledger_worker_commands_applied_total', help: 'Commands committed', labelNames: ['partition'], registers: [registry] }),
    batchCommands: new Histogram({
      name: 'ledger_worker_batch_commands',
      help: 'Commands per committed batch (one ledger_apply_batch call; several batches may share a transaction, see ledger_worker_write_statement_batches)',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000],
      registers: [registry],
    }),
    writeStatementBatches: new Histogram({
      name: 'ledger_worker_write_statement_batches',
      help: 'Batches (of distinct partitions) written by one Postgres statement: above 1, group commit saved round trips and transactions',
      buckets: [1, 2, 3, 4, 6, 8, 16],
      registers: [registry],
    }),
    // Not the commit alone: from the start of the batch's preparation to its commit's answer
    // (PartitionApplier: `started` in prepare, observed in commit).
    commitSeconds: new Histogram({
      name: 'ledger_worker_batch_seconds',
      help: 'Seconds from the start of a batch to its commit: decode, reads and in-memory apply, then waiting for the batch ahead of it, relay backpressure and the group commit, then the write',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'ledger_worker_dead_letters_total',
      help: 'Messages put on the dead-letter topic: malformed (did not decode), forged (claims an authority its kind and seal do not give), unprocessable (write failed deterministically) or invariant (its apply broke an invariant in memory: a bug)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    redisCircuitOpen: new Gauge({
      name: 'ledger_worker_redis_circuit_open',
      help: '1 while Redis commands fail at once because Redis left one unanswered (the circuit breaker is open or probing), else 0',
      registers: [registry],
    }),
    balanceRefreshOwed: new Gauge({
      name: 'ledger_worker_balance_refresh_owed_accounts',
      help: 'Accounts whose balance-cache refresh Redis failed and that wait for a retry (their cached balance is older than the ledger)',
      registers: [registry],
    }),
    writeRetries: new Counter({
      name: 'ledger_worker_write_retries_total',
      help: 'Batch writes retried after an operating error (a dependency down, a schema or privilege that does not match the code); alert when it keeps growing: the partition is not moving',
      labelNames: ['partition'],
      registers: [registry],
    }),
    fenced: new Counter({
      name: 'ledger_worker_fenced_total',
      help: 'Commits refused because another owner claimed the partition (epoch moved on)',
      labelNames: ['partition'],
      registers: [registry],
    }),
    ownedPartitions: new Gauge({ name: 'ledger_worker_owned_partitions', help: 'Partitions this process has claimed', registers: [registry] }),
    assignedPartitions: new Gauge({ name: 'ledger_worker_assigned_partitions', help: 'Partitions the consumer group assigned to this process', registers: [registry] }),
    consumerLag: new Gauge({
      name: 'ledger_worker_consumer_lag_messages',
      help: "Messages in the partition not applied yet: its log end (past any transaction still open) minus the next_offset Postgres holds",
      labelNames: ['partition'],
      registers: [registry],
    }),
    behindOpenTransaction: new Gauge({
      name: 'ledger_worker_partition_behind_open_transaction',
      help: "1 while the partition has stood at its last stable offset, its log going on past it, for WORKER_OPEN_TRANSACTION_UNREADY_MS: another client's Kafka transaction left open hides every later record from the worker until it ends (/readyz fails); else 0",
      labelNames: ['partition'],
      registers: [registry],
    }),
    outboxBacklog: new Gauge({
      name: 'ledger_worker_outbox_backlog_rows',
      help: 'Committed outbox rows of the partition not marked published yet (capped per scrape)',
      labelNames: ['partition'],
      registers: [registry],
    }),
    scrapeRead: new Gauge({
      name: 'ledger_worker_scrape_read_timestamp_seconds',
      help: 'When a scrape last read the gauges of each source: kafka (consumer lag), postgres (outbox backlog, money and transfers in flight); 0 until one did. A source that does not answer a scrape leaves its gauges without series, not at their last value',
      labelNames: ['source'],
      registers: [registry],
    }),
    relayPublished: new Counter({ name: 'ledger_worker_relay_published_total', help: 'Outbox rows the relay published', registers: [registry] }),
    relayFailures: new Counter({ name: 'ledger_worker_relay_failures_total', help: 'Relay publishes that failed (rows retried)', registers: [registry] }),
    moneyInFlight: new Gauge({
      name: 'ledger_money_in_flight_minor_units',
      help: 'Money between the debit and the credit leg of cross-partition transfers (PROCESSING), by source partition and currency, in minor units (a float: exact below 2^53)',
      labelNames: ['partition', 'currency'],
      registers: [registry],
    }),
    transfersInFlight: new Gauge({
      name: 'ledger_transfers_in_flight',
      help: 'Transfers between their debit and their credit leg (PROCESSING), by source partition',
      labelNames: ['partition'],
      registers: [registry],
    }),
    // Only the worker assigned partition 0 runs reconcile (reconcile-schedule.ts): the others
    // export no violations and a last run of 0. Read both with max() across workers.
    reconcileViolations: new Gauge({
      name: 'ledger_reconcile_violations',
      help: "Invariant violations found by this worker's last reconcile; none while another worker runs it (the one assigned partition 0): read max by (check) across workers",
      labelNames: ['check'],
      registers: [registry],
    }),
    reconcileLastRun: new Gauge({
      name: 'ledger_reconcile_last_run_timestamp_seconds',
      help: 'When this worker last completed a reconcile; 0 before its first run (WORKER_RECONCILE_INTERVAL_MS after its start) and while another worker runs it: read max across workers, skipping 0',
      registers: [registry],
    }),
  };
  // A labelled counter has no series until its first inc(), and a series that first appears
  // at 1 is not an increase to rate() or increase(): the first dead letter of a kind would
  // never show on the dashboard. Each reason starts at 0; the per-partition counters start
  // at 0 for each assigned partition (zeroPartitionCounters, at every scrape).
  for (const reason of DEAD_LETTER_REASONS) metrics.deadLetters.inc({ reason }, 0);
  // 0 (never) until a scrape reads the source: a source down from the worker's start shows as
  // the oldest read there is, not as no series an age rule would never see.
  for (const source of ['kafka', 'postgres']) metrics.scrapeRead.set({ source }, 0);
  return metrics;
}

const DEAD_LETTER_REASONS = ['malformed', 'forged', 'unprocessable', 'invariant'] as const satisfies readonly DeadLetterReason[];

/** Gives each per-partition counter a 0 series for each partition, so that its first count is an increase. */
export function zeroPartitionCounters(metrics: Pick<WorkerMetrics, 'fenced' | 'writeRetries'>, partitions: readonly number[]): void {
  for (const partition of partitions) {
    metrics.fenced.inc({ partition: String(partition) }, 0);
    metrics.writeRetries.inc({ partition: String(partition) }, 0);
  }
}
export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
