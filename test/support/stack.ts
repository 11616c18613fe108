import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

type Service = 'kafka' | 'postgres' | 'pgbouncer' | 'redis';

/** Drives infra/local/stack.sh (test profile) to stop and start one real service. */
export function stack(command: 'stop-service' | 'start-service' | 'kill-service' | 'pause-service' | 'resume-service', service: Service): void {
  execFileSync('bash', [join(__dirname, '..', '..', 'infra', 'local', 'stack.sh'), command, service], {
    env: { ...process.env, LL_PROFILE: process.env.LL_PROFILE ?? 'test' },
    stdio: 'pipe',
    timeout: 120_000,
  });
}
