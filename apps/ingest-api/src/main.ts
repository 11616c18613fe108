/**
 * The ingest API process: config from env, real adapters (runtime.ts), signals. Nothing
 * else lives here.
 */
import { loadApiConfig } from './config';
import { startApiRuntime } from './runtime';

async function main(): Promise<void> {
  const config = loadApiConfig();
  const log = (line: string) => process.stdout.write(`[ingest-api] ${line}\n`);
  const runtime = await startApiRuntime(config, { log });
  log(`listening on http://${config.host}:${runtime.port} (docs: /docs, readiness: /readyz)`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: draining (up to ${config.shutdownGraceMs} ms)`);
    try {
      await runtime.stop();
      process.exit(0);
    } catch (error) {
      log(`shutdown failed: ${(error as Error).message}`);
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error) => {
  process.stderr.write(`ingest-api failed to start: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
