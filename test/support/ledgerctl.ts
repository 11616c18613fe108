import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { roleUrl, testServices } from './env';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

export interface CliAnswer {
  code: number;
  out: string;
  err: string;
}

/** What points `ledgerctl` at a test's own database, topics and Redis key prefix. */
export function ledgerctlEnvFor(target: { databaseUrl: string; topicPrefix: string }): Record<string, string> {
  return {
    OWNER_DATABASE_URL: target.databaseUrl,
    API_DATABASE_URL: roleUrl(target.databaseUrl, 'api'),
    REDIS_URL: testServices().redisUrl,
    REDIS_KEY_PREFIX: `${target.topicPrefix}:`,
    KAFKA_TOPIC_PREFIX: target.topicPrefix,
  };
}

/**
 * Runs the real `ledgerctl` (its source, through tsx) in a child process against a test's own
 * database, topics and Redis key prefix; `extra` adds to or overrides its environment. Never
 * throws on an exit code: the test reads it.
 */
export function ledgerctlFor(target: { databaseUrl: string; topicPrefix: string }): (args: string[], extra?: Record<string, string>) => Promise<CliAnswer> {
  return async (args, extra = {}) => {
    const env = { ...process.env, ...ledgerctlEnvFor(target), ...extra };
    try {
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'apps/ledgerctl/src/main.ts'), ...args], { cwd: ROOT, env });
      return { code: 0, out: stdout, err: stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, out: failed.stdout, err: failed.stderr };
    }
  };
}
