/**
 * The partition worker process: the only place its real adapters (kafkajs, pg, ioredis)
 * are wired together, and where its logger is made (JSON lines on stdout).
 */
import { topicNames } from '@ledgerline/kafka';
import { describeStartFailure } from '@ledgerline/config';
import { createLogger } from '@ledgerline/logging';
import { startTracing } from '@ledgerline/tracing';
import { createPool, reconcile } from '@ledgerline/postgres';
import { loadWorkerConfig } from './config';
import { RECONCILE_STATEMENT_DEADLINE_MIN_MS, ReconcileSchedule } from './reconcile-schedule';
import { startWorkerRuntime } from './runtime';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const logger = createLogger({ name: config.workerId, level: config.logLevel });
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

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    reconcileSchedule?.stop();
    try {
      await runtime.stop();
      await reconcilePool?.end();
      await tracing?.shutdown(); // exports the spans still buffered
      logger.info('stopped', { signal }); // the last line of a clean exit (a cut one has none)
      process.exit(0);
    } catch (error) {
      logger.error('shutdown failed', { error: (error as Error).message });
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // A closed terminal (npm start) sends SIGHUP to the whole foreground group: stop cleanly,
  // not by Node's default of dying at once (a review of the launcher's signal handling).
  process.on('SIGHUP', () => void shutdown('SIGHUP'));
}

main().catch((error) => {
  // A refused configuration prints its message alone: the last line names the variable.
  process.stderr.write(describeStartFailure('partition-worker', error));
  process.exit(1);
});
