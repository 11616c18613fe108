/**
 * The partition worker process: the only place its real adapters (kafkajs, pg, ioredis)
 * are wired together, and where its logger is made (JSON lines on stdout).
 */
import { settledWithin, topicNames } from '@ledgerline/kafka';
import { describeStartFailure, listenForStopSignals } from '@ledgerline/config';
import { type Logger, createLogger } from '@ledgerline/logging';
import { startTracing } from '@ledgerline/tracing';
import { createPool, reconcile } from '@ledgerline/postgres';
import { loadWorkerConfig } from './config';
import { RECONCILE_STATEMENT_DEADLINE_MIN_MS, ReconcileSchedule } from './reconcile-schedule';
import { startWorkerRuntime } from './runtime';

/** How long the stop waits for a scheduled reconcile it cut (its connection ended) to give its connection back. */
const RECONCILE_CUT_WAIT_MS = 5_000;

async function main(): Promise<void> {
  // First of all, before the start takes its time (stop-signals.ts): a stop asked for while
  // the worker starts is kept, and done once it has started.
  let started: Logger | null = null;
  const signals = listenForStopSignals((signal) => {
    if (started) started.warn('stop cut short: the same signal again; exiting now (whatever was not done is left to the next owner)', { signal });
    else process.stderr.write(`partition-worker: ${signal} again while stopping: exiting now\n`);
  });
  const config = loadWorkerConfig();
  const logger = createLogger({ name: config.workerId, level: config.logLevel });
  started = logger;
  // Before the runtime: the applier wires its batch spans only when it is on.
  const tracing = config.tracing.enabled
    ? startTracing({ serviceName: config.tracing.serviceName, attributes: { 'service.instance.id': config.workerId } })
    : null;
  if (tracing) logger.info('tracing on (OTLP over HTTP)', { serviceName: config.tracing.serviceName });
  const runtime = await startWorkerRuntime(config, {
    logger,
    afterCommit() {
      if (config.faultInject === 'crash-after-commit') {
        logger.warn('FAULT_INJECT=crash-after-commit: SIGKILL after the Postgres commit');
        process.kill(process.pid, 'SIGKILL');
      }
    },
    onFatal(error) {
      logger.error('FATAL: stopping rather than writing', { error: error.message, stack: error.stack });
      process.exit(70);
    },
  });
  const { metrics } = runtime;
  logger.info('applying', { topic: topicNames(config.topicPrefix).commands, group: config.groupId });

  // One worker of the group reconciles: the one assigned partition 0 (reconcile-schedule.ts).
  // Its own connection, without the worker's statement deadline (WORKER_QUERY_TIMEOUT_MS): its
  // checks read whole tables by design. Its own deadline instead, the interval or 10 min,
  // whichever is longer: a connection that died without a reset would otherwise hold the run,
  // and with it the group's only reconciler, forever (a review of this change). Made on every
  // worker (any may be given partition 0); pg connects lazily, so a worker that never runs
  // reconcile never opens it.
  const reconcilePool =
    config.reconcileIntervalMs > 0
      ? createPool({
          connectionString: config.databaseUrl,
          connectionsMax: 1,
          connectTimeoutMs: config.pgConnectTimeoutMs,
          queryTimeoutMs: Math.max(RECONCILE_STATEMENT_DEADLINE_MIN_MS, config.reconcileIntervalMs),
          applicationName: 'partition-worker',
        })
      : null;
  // The connection of a reconcile in progress, which the stop ends (cutReconcile).
  const reconcileConnections = new Set<{ end(): Promise<void> }>();
  reconcilePool?.on('acquire', (client) => reconcileConnections.add(client));
  reconcilePool?.on('release', (_error, client) => reconcileConnections.delete(client));
  const reconcileSchedule = reconcilePool
    ? new ReconcileSchedule({
        intervalMs: config.reconcileIntervalMs,
        assigned: () => runtime.worker.assignedPartitions(),
        run: () => reconcile(reconcilePool, { outboxAgeMaxMs: config.reconcileOutboxAgeMaxMs }),
        metrics,
        logger,
      })
    : null;
  reconcileSchedule?.start();

  // A run in progress is cut, not waited for: its statements may take up to their deadline
  // (10 min or the interval) on a real ledger, far past any grace period, and the stop waited
  // for it, past compose's 55 s to a SIGKILL (found by an outside review). It only reads; the
  // next runner reconciles again. Its connection is ended (PgBouncer then drops its server
  // connection, which ends the statement); a cancel request by backend pid would not reach
  // it through PgBouncer.
  const cutReconcile = async (): Promise<void> => {
    if (reconcileConnections.size === 0) return;
    logger.info('stopping: the scheduled reconcile in progress is cut short (it only reads; the next run checks again)');
    await Promise.all([...reconcileConnections].map((client) => client.end().catch(() => undefined)));
  };

  const shutdown = async (signal: string) => {
    logger.info('stopping', { signal });
    reconcileSchedule?.stop();
    try {
      await Promise.all([runtime.stop(), cutReconcile()]);
      if (reconcilePool) await settledWithin(reconcilePool.end(), RECONCILE_CUT_WAIT_MS);
      await tracing?.shutdown(); // exports the spans still buffered
      logger.info('stopped', { signal }); // the last line of a clean exit (a cut one has none)
      process.exit(0);
    } catch (error) {
      logger.error('shutdown failed', { error: (error as Error).message });
      process.exit(1);
    }
  };
  // Now, or at once if a signal came during the start (kept by listenForStopSignals).
  signals.onStop((signal) => void shutdown(signal));
}

main().catch((error) => {
  // A refused configuration prints its message alone: the last line names the variable.
  process.stderr.write(describeStartFailure('partition-worker', error));
  process.exit(1);
});
