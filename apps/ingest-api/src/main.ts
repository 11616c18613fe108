/**
 * The ingest API process: config from env, real adapters (runtime.ts), signals. Nothing
 * else lives here.
 */
import { describeStartFailure, listenForStopSignals } from '@ledgerline/config';
import { type Logger, createLogger } from '@ledgerline/logging';
import { startTracing } from '@ledgerline/tracing';
import { loadApiConfig } from './config';
import { startApiRuntime } from './runtime';

async function main(): Promise<void> {
  // First of all, before the start takes its time (stop-signals.ts): a stop asked for while
  // the API starts is kept, and done once it has started.
  let started: Logger | null = null;
  const signals = listenForStopSignals((signal) => {
    if (started) started.warn('drain cut short: the same signal again; exiting now (requests in progress are cut; clients retry them)', { signal });
    else process.stderr.write(`ingest-api: ${signal} again while stopping: exiting now\n`);
  });
  const config = loadApiConfig();
  const logger = createLogger({ name: 'ingest-api', level: config.logLevel });
  started = logger;
  // Before the runtime: the app and the publisher wire their spans only when it is on.
  const tracing = config.tracing.enabled ? startTracing({ serviceName: config.tracing.serviceName }) : null;
  if (tracing) logger.info('tracing on (OTLP over HTTP)', { serviceName: config.tracing.serviceName });
  const runtime = await startApiRuntime(config, { logger });
  logger.info('listening', { url: `http://${config.host}:${runtime.port}`, docs: '/docs', readiness: '/readyz' });

  const shutdown = async (signal: string) => {
    logger.info('draining', { signal, graceMs: config.shutdownGraceMs });
    try {
      await runtime.stop();
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
  process.stderr.write(describeStartFailure('ingest-api', error));
  process.exit(1);
});
