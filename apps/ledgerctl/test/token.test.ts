// `ledgerctl token` prints only tokens the API takes: a sub the API's verifier refuses (an
// internal owner, too long, a control or invisible character) is refused here, exit 2,
// naming --sub, rather than printed for a 401 at the first request. Runs the real command
// (signing connects to nothing: no service is needed).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { TokenVerifier, signDevToken } from '@ledgerline/auth';
import { PRINCIPAL_CHARS_MAX } from '@ledgerline/domain';

const ROOT = join(__dirname, '..', '..', '..');
const MAIN = join(ROOT, 'apps', 'ledgerctl', 'src', 'main.ts');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const SECRET = 'a-test-secret-of-at-least-thirty-two-bytes!';

function token(sub: string, args: string[] = [], extraEnv: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const env = { PATH: process.env.PATH ?? '', LEDGERLINE_ENV: 'test', JWT_SECRET: SECRET, ...extraEnv };
  const run = spawnSync(TSX, [MAIN, 'token', '--sub', sub, ...args], { env, encoding: 'utf8', cwd: ROOT });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('ledgerctl token --sub', () => {
  test.each([
    ['an internal owner', 'system'],
    ['one spelled otherwise', ' SYSTEM '],
    ['longer than the API takes', 'x'.repeat(PRINCIPAL_CHARS_MAX + 1)],
    ['a bidirectional override', 'alice\u202eecila'],
    ['a zero-width space', 'ali\u200bce'],
  ])('refuses %s, as the API would, naming --sub', async (_what, sub) => {
    // The API's verifier refuses a token with this sub...
    const signed = await signDevToken({ sub, scope: 'ledger:read', secret: SECRET, ttlS: 60 });
    await expect(new TokenVerifier({ hs256Secret: SECRET }).verifyToken(`Bearer ${signed}`)).rejects.toThrow(/sub/);
    // ...so ledgerctl does not print one.
    const run = token(sub);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^ledgerctl: --sub /);
  }, 30_000);

  test('prints a token the API verifies for an ordinary sub', async () => {
    const run = token('alice');
    expect(run.status).toBe(0);
    const auth = await new TokenVerifier({ hs256Secret: SECRET }).verifyToken(`Bearer ${run.stdout.trim()}`);
    expect(auth.principal).toBe('alice');
  }, 30_000);
});

// Two environments that share an HS256 secret tell their tokens apart only by iss and aud
// (an outside review): ledgerctl signs the ones the API is set to require.
describe('ledgerctl token --iss --aud', () => {
  const staging = new TokenVerifier({ hs256Secret: SECRET, issuer: 'ledgerline-staging', audience: 'ledgerline-api' });
  const production = new TokenVerifier({ hs256Secret: SECRET, issuer: 'ledgerline-production', audience: 'ledgerline-api' });

  test('default from JWT_ISSUER and JWT_AUDIENCE: the API of that environment takes the token, another refuses it', async () => {
    const run = token('alice', [], { JWT_ISSUER: 'ledgerline-staging', JWT_AUDIENCE: 'ledgerline-api' });
    expect([run.status, run.stderr]).toEqual([0, '']);
    await expect(staging.verifyToken(`Bearer ${run.stdout.trim()}`)).resolves.toMatchObject({ principal: 'alice' });
    await expect(production.verifyToken(`Bearer ${run.stdout.trim()}`)).rejects.toThrow(/iss/);
  }, 30_000);

  test('the options win over the environment', async () => {
    const run = token('alice', ['--iss', 'ledgerline-production', '--aud', 'ledgerline-api'], { JWT_ISSUER: 'ledgerline-staging' });
    expect(run.status).toBe(0);
    await expect(production.verifyToken(`Bearer ${run.stdout.trim()}`)).resolves.toMatchObject({ principal: 'alice' });
    await expect(staging.verifyToken(`Bearer ${run.stdout.trim()}`)).rejects.toThrow(/iss/);
  }, 30_000);

  test('without either, the token carries no iss or aud, which an API that requires them refuses', async () => {
    const run = token('alice');
    expect(run.status).toBe(0);
    await expect(staging.verifyToken(`Bearer ${run.stdout.trim()}`)).rejects.toThrow(/iss/);
  }, 30_000);

  test('a blank one is refused, naming it, and nothing is printed', () => {
    for (const [args, env, named] of [
      [['--aud', ' '], {}, /^ledgerctl: --aud: is blank/],
      [['--iss', 'idp\u0007'], {}, /^ledgerctl: --iss: must be at most 1024 characters, without control characters/],
      [[], { JWT_ISSUER: '  ' }, /JWT_ISSUER: is blank/],
      // Empty is not unset: the API refuses it the same way (an outside review).
      [[], { JWT_AUDIENCE: '' }, /JWT_AUDIENCE: is blank/],
      [['--iss', ''], {}, /^ledgerctl: --iss: is blank/],
    ] as const) {
      const run = token('alice', [...args], env);
      expect([run.status, run.stdout]).toEqual([2, '']);
      expect(run.stderr).toMatch(named);
    }
  }, 30_000);
});
