// Proves the command connection's circuit breaker (src/breaker.ts) against a real Redis: a
// timeout that was this process's own stall does not open it, one that Redis caused does.
// A Node process that blocks its event loop (a long GC pause, a CPU-bound burst) past the
// command timeout sees its commands "time out" with their replies waiting on the socket: the
// timers phase runs before the socket is read. Opening on that would refuse every Redis
// command for a second while Redis is healthy (found by a review of the breaker).
// redis-hung.int.test.ts proves the hung case end to end through the API.
import { type BreakerState, RedisCircuitOpenError, createRedis, waitUntilReady } from '../src';
import { stack } from '../../../test/support/stack';

const url = process.env.REDIS_URL;
if (!url) throw new Error('REDIS_URL must point at the test Redis (npm test sets it)');

/** Blocks this process's event loop, as a long GC pause would. */
function stall(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: nothing else runs
  }
}

describe('the Redis circuit breaker', () => {
  test("a timeout that was this process's stall leaves it closed; one Redis caused opens it", async () => {
    const changes: BreakerState[] = [];
    const redis = createRedis(url, { commandTimeoutMs: 100, breakerOpenMs: 60_000, onBreakerChange: (state) => changes.push(state) });
    try {
      await waitUntilReady(redis, 10_000);
      expect(await redis.ping()).toBe('PONG');

      // Redis answers at once, but this process reads the answer only after 400 ms.
      const stalled = redis.get('breaker-test:stalled');
      stall(400);
      await expect(stalled).rejects.toThrow('Command timed out');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(changes).toEqual([]);
      expect(await redis.ping()).toBe('PONG');

      // Redis itself stops answering: the next timeout opens it, and commands fail at once.
      stack('pause-service', 'redis');
      try {
        await expect(redis.get('breaker-test:hung')).rejects.toThrow('Command timed out');
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(changes).toEqual(['open']);
        // Refused without being sent (RedisCircuitOpenError): a command sent to the hung Redis
        // would end with 'Command timed out' instead.
        const refused = await redis.get('breaker-test:refused').then(() => null, (error: unknown) => error);
        expect(refused).toBeInstanceOf(RedisCircuitOpenError);
        expect((refused as Error).message).toMatch(/redis is not answering/);
      } finally {
        stack('resume-service', 'redis');
      }
    } finally {
      redis.disconnect();
    }
  });

  test('open, it probes with a PING after its open time: still hung, it opens again; answered, it closes', async () => {
    const changes: BreakerState[] = [];
    const redis = createRedis(url, { commandTimeoutMs: 100, breakerOpenMs: 300, onBreakerChange: (state) => changes.push(state) });
    try {
      await waitUntilReady(redis, 10_000);
      stack('pause-service', 'redis');
      try {
        await expect(redis.get('breaker-test:hung')).rejects.toThrow('Command timed out');
        // 300 ms open, a PING unanswered for 100 ms, open again: at least one probe in 1 s.
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        expect(changes.slice(0, 3)).toEqual(['open', 'probing', 'open']);
        await expect(redis.get('breaker-test:still-refused')).rejects.toThrow(/redis is not answering/);
      } finally {
        stack('resume-service', 'redis');
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(changes.at(-1)).toBe('closed');
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }
  });
});
