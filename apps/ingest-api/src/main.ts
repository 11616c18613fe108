/**
 * The ingest API process: config from env, real adapters (runtime.ts), signals. Nothing
 * else lives here.
 */
import { describeStartFailure } from '@ledgerline/config';
import { createLogger } from '@ledgerline/logging';
import { startTracing } from '@ledgerline/tracing';
import { loadApiConfig } from './config';
import { startApiRuntime } from './runtime';

async function main(): Promise<void> {
  const config = loadApiConfig();
  const logger = createLogger({ name: 'ingest-api', level: config.logLevel });
  // Before the runtime: the app and the publisher wire their spans only when it is on.
  const tracing = config.tracing.enabled ? startTracing({ serviceName: config.tracing.serviceName }) : null;
  if (tracing) logger.info('tracing on (OTLP over HTTP)', { serviceName: config.tracing.serviceName });
  const runtime = await startApiRuntime(config, { logger });
  logger.info('listening', { url: `http://${config.host}:${runtime.port}`, docs: '/docs', readiness: '/readyz' });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
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
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // A closed terminal (npm start) sends SIGHUP to the whole foreground group: stop cleanly,
  // not by Node's default of dying at once (a review of the launcher's signal handling).
  process.on('SIGHUP', () => void shutdown('SIGHUP'));
}

main().catch((error) => {
  // A refused configuration prints its message alone: the last line names the variable.
  process.stderr.write(describeStartFailure('ingest-api', error));
  process.exit(1);
});
