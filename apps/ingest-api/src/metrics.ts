/**
 * Prometheus metrics of one API process. A registry per app (not prom-client's global one),
 * so tests can build several apps in one process without name clashes.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createApiMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  /** Read at each scrape (set by the runtime, which has the pool). */
  let oldestOpenMove: (() => Promise<number>) | null = null;
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const metrics = {
    registry,
    requests: new Counter({
      name: 'ledger_api_requests_total',
      help: 'HTTP requests answered, by route template and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    requestSeconds: new Histogram({
      name: 'ledger_api_request_seconds',
      help: 'HTTP request latency, by route template',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    inFlight: new Gauge({ name: 'ledger_api_requests_in_flight', help: 'Requests in progress', registers: [registry] }),
    refusedOverload: new Counter({
      name: 'ledger_api_overload_refused_total',
      help: 'Requests refused with 429 because the in-flight cap was reached',
      registers: [registry],
    }),
    refusedRateLimited: new Counter({
      name: 'ledger_api_rate_limited_total',
      help: 'Requests refused with 429 RATE_LIMITED because their principal spent its read or write budget',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    produceBatchSize: new Histogram({
      name: 'ledger_api_produce_batch_size',
      help: 'Commands per Kafka produce request',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
      registers: [registry],
    }),
    produceSeconds: new Histogram({
      name: 'ledger_api_produce_seconds',
      help: 'Duration of one Kafka produce request (acks=all), by outcome',
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [registry],
    }),
    publishFailures: new Counter({
      name: 'ledger_api_publish_failures_total',
      help: 'Commands not accepted because publishing failed, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    idempotencyClaimBatchSize: new Histogram({
      name: 'ledger_api_idempotency_claim_batch_size',
      help: 'Idempotency-Key claims per Postgres statement (group commit)',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers: [registry],
    }),
    idempotencyClaimSeconds: new Histogram({
      name: 'ledger_api_idempotency_claim_seconds',
      help: 'Duration of one idempotency claim statement, by outcome',
      labelNames: ['outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    idempotency: new Counter({
      name: 'ledger_api_idempotency_total',
      help: 'How money POSTs resolved their Idempotency-Key',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    batchAdmissionRefused: new Counter({
      name: 'ledger_api_batch_admission_refused_total',
      help: 'POST /v1/batch requests refused with 429 by batch admission: a full round of items was already waiting, or the batch could not start within API_BATCH_ADMISSION_WAIT_MS',
      registers: [registry],
    }),
    bucketsHeld: new Gauge({
      name: 'ledger_api_routing_buckets_held',
      help: "Buckets held in this API's routing table: a bucket move is under way, and its accounts' commands answer 503 BUCKET_MOVING. A single move holds for about a second; buckets held for minutes while no ledgerctl move, partitions add or rebalance runs are a move that died: run it again (ledgerctl buckets move)",
      registers: [registry],
    }),
    bucketMoveOldestSeconds: new Gauge({
      name: 'ledger_api_bucket_move_oldest_seconds',
      help: 'How long the oldest open bucket move has stood (0 with none; NaN while Postgres does not answer): a move takes about a second; one standing for minutes died, and its buckets stay held until it is run again (ledgerctl buckets move)',
      registers: [registry],
      async collect() {
        if (!oldestOpenMove) return;
        // Postgres not answering is not known: NaN, never the last value, which would show a
        // move from before the outage as standing now (or none, when one died during it). A
        // scrape never fails for it.
        const seconds = await oldestOpenMove().catch(() => null);
        this.set(seconds ?? Number.NaN);
      },
    }),
    /** Where `ledger_api_bucket_move_oldest_seconds` reads its value at each scrape. */
    readOldestOpenMoveFrom(source: () => Promise<number>): void {
      oldestOpenMove = source;
    },
    redisCircuitOpen: new Gauge({
      name: 'ledger_api_redis_circuit_open',
      help: '1 while Redis commands fail at once because Redis left one unanswered (the circuit breaker is open or probing), else 0',
      registers: [registry],
    }),
    batchItemsInFlight: new Gauge({ name: 'ledger_api_batch_items_in_flight', help: 'POST /v1/batch items being worked on now', registers: [registry] }),
    batchItems: new Counter({
      name: 'ledger_api_batch_items_total',
      help: 'POST /v1/batch items answered, by the status each item got',
      labelNames: ['status'],
      registers: [registry],
    }),
    longPollsWaiting: new Gauge({ name: 'ledger_api_long_polls_waiting', help: 'Long polls waiting now', registers: [registry] }),
    longPollsRefused: new Counter({
      name: 'ledger_api_long_polls_refused_total',
      help: "Long polls answered at once because the waiter map was full (limit=process) or the principal's share of it was (limit=principal)",
      labelNames: ['limit'],
      registers: [registry],
    }),
    cacheFallbacks: new Counter({
      name: 'ledger_api_cache_fallbacks_total',
      help: 'Reads that fell back to Postgres because Redis failed (redis_error), missed (miss), or held an entry no writer of ours wrote (malformed)',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
  // A labelled counter has no series until its first inc(), and a series that first appears
  // at 1 is not an increase to rate() or increase(): the first refusal of a kind would never
  // show. Each known label value starts at 0.
  for (const kind of ['read', 'write']) metrics.refusedRateLimited.inc({ kind }, 0);
  for (const reason of ['backpressure', 'unknown', 'unavailable']) metrics.publishFailures.inc({ reason }, 0);
  for (const limit of ['process', 'principal']) metrics.longPollsRefused.inc({ limit }, 0);
  for (const reason of ['miss', 'malformed', 'redis_error']) metrics.cacheFallbacks.inc({ reason }, 0);
  return metrics;
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
