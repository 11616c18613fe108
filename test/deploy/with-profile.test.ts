// What scripts/with-profile.sh (npm run ledgerctl, migrate, token) hands the command it runs:
// the addresses of the profile LL_PROFILE names, never over an address given explicitly,
// nothing in production, and no run at all for a profile the stack does not know. Runs the
// real script (it only reads infra/local/stack.sh's address table; no service is needed).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'with-profile.sh');
const ADDRESSES = ['KAFKA_BROKERS', 'API_DATABASE_URL', 'WORKER_DATABASE_URL', 'OWNER_DATABASE_URL', 'REDIS_URL'] as const;

/** The command's environment (its `env` output), as the script ran it with `given`. */
function handedOver(given: Record<string, string>): { status: number | null; env: Map<string, string>; stderr: string } {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !(ADDRESSES as readonly string[]).includes(name) && name !== 'LL_PROFILE' && name !== 'LEDGERLINE_ENV'));
  const run = spawnSync('bash', [SCRIPT, 'env'], { env: { ...base, ...given }, encoding: 'utf8', cwd: ROOT });
  const env = new Map(run.stdout.split('\n').filter((line) => line.includes('=')).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as [string, string]));
  return { status: run.status, env, stderr: run.stderr };
}

describe('scripts/with-profile.sh', () => {
  test("LL_PROFILE fills in that profile's addresses (ws1: Kafka 31092, PgBouncer 31532, Redis 31379)", () => {
    const { status, env } = handedOver({ LL_PROFILE: 'ws1' });
    expect(status).toBe(0);
    expect(env.get('KAFKA_BROKERS')).toBe('127.0.0.1:31092');
    expect(env.get('OWNER_DATABASE_URL')).toBe('postgres://ledgerline_owner:ledgerline_owner@127.0.0.1:31532/ledgerline');
    expect(env.get('REDIS_URL')).toBe('redis://127.0.0.1:31379');
  });

  test('an address given explicitly wins over the profile', () => {
    const { env } = handedOver({ LL_PROFILE: 'ws1', KAFKA_BROKERS: '127.0.0.1:40000' });
    expect(env.get('KAFKA_BROKERS')).toBe('127.0.0.1:40000');
    expect(env.get('REDIS_URL')).toBe('redis://127.0.0.1:31379');
  });

  test('production gets nothing filled in, and without LL_PROFILE nothing is either', () => {
    for (const given of [{ LL_PROFILE: 'ws1', LEDGERLINE_ENV: 'production' }, {}] as Record<string, string>[]) {
      const { status, env } = handedOver(given);
      expect(status).toBe(0);
      for (const name of ADDRESSES) expect([name, env.get(name)]).toEqual([name, undefined]);
    }
  });

  test('a profile the stack does not know stops before the command runs (exit 2, its message)', () => {
    const { status, env, stderr } = handedOver({ LL_PROFILE: 'ws9' });
    expect(status).toBe(2);
    expect(env.size).toBe(0);
    expect(stderr).toMatch(/LL_PROFILE must be dev, test or ws1\.\.ws4 \(got 'ws9'\)/);
  });
});
