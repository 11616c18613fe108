/**
 * The partition worker process: the only place its real adapters (kafkajs, pg, ioredis)
 * are wired together.
 */
import { createServer } from 'node:http';
import { topicNames } from '@ledgerline/kafka';
import { reconcile } from '@ledgerline/postgres';
import { loadWorkerConfig } from './config';
import { createWorkerMetrics } from './metrics';
import { startWorkerRuntime } from './runtime';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const log = (message: string) => process.stdout.write(`[${config.workerId}] ${message}\n`);
  const metrics = createWorkerMetrics();
  const runtime = await startWorkerRuntime(config, {
    log,
    afterCommit(partition, committed) {
      metrics.commandsApplied.inc({ partition: String(partition) }, committed.commands);
      metrics.batchCommands.observe(committed.commands);
      metrics.commitSeconds.observe(committed.durationMs / 1000);
      if (config.faultInject === 'crash-after-commit') {
        log('FAULT_INJECT=crash-after-commit: SIGKILL after the Postgres commit');
        process.kill(process.pid, 'SIGKILL');
      }
    },
    onDeadLetter(partition, reason) {
      metrics.deadLetters.inc({ reason });
    },
    onWriteRetry(partition) {
      metrics.writeRetries.inc({ partition: String(partition) });
    },
    onFatal(error) {
      log(`FATAL: ${error.message}; stopping rather than writing`);
      process.exit(70);
    },
  });
  const { worker, pool } = runtime;
  log(`applying ${topicNames(config.topicPrefix).commands} as ${config.workerId} in group ${config.groupId}`);

  // One run at a time: on a large ledger a run outlasts the interval (the bench measured
  // 67 s over 10.9M entries), and overlapping runs would only pile up on Postgres.
  let reconciling = false;
  const reconcileTimer =
    config.reconcileIntervalMs > 0
      ? setInterval(() => {
          if (reconciling) return;
          reconciling = true;
          reconcile(pool, { outboxAgeMaxMs: config.reconcileOutboxAgeMaxMs })
            .then((report) => {
              for (const check of report.checks) metrics.reconcileViolations.set({ check: check.name }, check.violations);
              metrics.reconcileLastRun.set(Date.now() / 1000);
              const broken = report.checks.filter((c) => c.violations > 0);
              if (broken.length) log(`reconcile: ${broken.map((c) => `${c.name}=${c.violations}`).join(' ')}`);
            })
            .catch((error) => log(`reconcile failed: ${(error as Error).message}`))
            .finally(() => {
              reconciling = false;
            });
        }, config.reconcileIntervalMs)
      : null;
  reconcileTimer?.unref();

  const server =
    config.metricsPort > 0
      ? createServer((req, res) => {
          if (req.url === '/metrics') {
            metrics.ownedPartitions.set(worker.ownership().filter((o) => o.epoch !== null).length);
            void metrics.registry.metrics().then((text) => {
              res.writeHead(200, { 'content-type': metrics.registry.contentType });
              res.end(text);
            });
          } else {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ worker: config.workerId, ownership: worker.ownership().map((o) => ({ ...o, epoch: o.epoch?.toString(), nextOffset: o.nextOffset?.toString() })) }));
          }
        }).listen(config.metricsPort, '127.0.0.1')
      : null;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    if (reconcileTimer) clearInterval(reconcileTimer);
    server?.close();
    await runtime.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error) => {
  process.stderr.write(`partition-worker failed to start: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
