// Proves a worker started with hold expiry off says so at warn: nothing else shows that holds
// stopped expiring (an outside review). Production refuses the setting (config.test.ts).
import { systemClock } from '@ledgerline/domain';
import { HoldExpiry, type HoldExpiryOptions } from '../src/hold-expiry';

function untouched(what: string): never {
  throw new Error(`${what} used while hold expiry is off`);
}

test('WORKER_HOLD_EXPIRY_SCAN_MS=0: start() warns once, naming the variable, and scans nothing', async () => {
  const warnings: string[] = [];
  const expiry = new HoldExpiry({
    pool: new Proxy({}, { get: () => untouched('the pool') }) as HoldExpiryOptions['pool'],
    producer: { publish: () => untouched('the producer') },
    topic: 'ledger.commands',
    routing: () => untouched('the routing table'),
    assigned: () => untouched('the assignment'),
    clock: systemClock,
    scanIntervalMs: 0,
    graceMs: 1_000,
    holdsPerScanMax: 10,
    republishAfterMs: 3_000,
    log: (message) => untouched(`log("${message}")`),
    warn: (message) => warnings.push(message),
  });
  expiry.start();
  await expiry.stop();
  expect(warnings).toEqual([expect.stringMatching(/^hold expiry is off \(WORKER_HOLD_EXPIRY_SCAN_MS=0, a test switch\)/)]);
});
