/**
 * Micro-benchmark: what one request's token check costs with and without the verified-token
 * cache. Not a test (no assertions, not run by jest); run it by hand:
 *
 *   npx tsx packages/auth/test/verify-token.bench.ts
 */
import { TokenVerifier, signDevToken } from '../src';

const secret = 'bench-secret-of-a-decent-length';

async function nsPerOp(verifier: TokenVerifier, header: string, ops: number): Promise<{ wall: number; cpu: number }> {
  for (let i = 0; i < Math.min(ops, 5_000); i++) await verifier.verifyToken(header); // warm-up (JIT, key import)
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) await verifier.verifyToken(header);
  const wallNs = Number(process.hrtime.bigint() - started);
  const cpu = process.cpuUsage(cpuBefore);
  return { wall: wallNs / ops, cpu: ((cpu.user + cpu.system) * 1000) / ops };
}

async function main(): Promise<void> {
  const token = await signDevToken({ sub: 'bench-user', scope: 'ledger:read ledger:write', secret, ttlS: 3600 });
  const header = `Bearer ${token}`;
  const uncached = await nsPerOp(new TokenVerifier({ hs256Secret: secret, cachedTokensMax: 0 }), header, 50_000);
  const cached = await nsPerOp(new TokenVerifier({ hs256Secret: secret }), header, 500_000);
  const line = (name: string, r: { wall: number; cpu: number }) =>
    `${name.padEnd(22)} ${r.wall.toFixed(0).padStart(7)} ns/op wall  ${r.cpu.toFixed(0).padStart(7)} ns/op CPU`;
  process.stdout.write(`${line('verifyToken uncached', uncached)}\n${line('verifyToken cached', cached)}\n`);
  process.stdout.write(`speed-up ${(uncached.cpu / cached.cpu).toFixed(1)}x (CPU), token ${token.length} chars, node ${process.version}\n`);
}

void main();
