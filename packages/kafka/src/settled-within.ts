import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waits for `promise` to settle, for at most `ms`; how it settles is not this wait's concern.
 * Stops use it to let work in flight end before they disconnect: this package's clients', and
 * the partition worker's (its last cache-mark round, its relay's chains). The timer ends with
 * the wait, so a stopped process holds no handle.
 */
export async function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  const waited = new AbortController();
  await Promise.race([promise.catch(() => undefined), sleep(ms, undefined, { signal: waited.signal }).catch(() => undefined)]);
  waited.abort();
}
