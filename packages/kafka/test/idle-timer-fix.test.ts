/**
 * The fix for kafkajs's idle timer loop (src/idle-timer-fix.ts), on kafkajs's own request
 * queue with a stand-in for the socket: the queue arms no timer once nothing waits, and still
 * sends what waits behind its in-flight cap or a broker throttle. The idle-connection test
 * against the real broker is idle-connections.int.test.ts.
 */
import { KAFKAJS_VERSION_FIXED, idleTimerFixInstalled, installIdleTimerFix, kafkajsRequestQueue } from '../src/idle-timer-fix';
import { kafkajsVersion } from '../src/kafkajs-version';

interface TestQueue {
  pending: unknown[];
  inflight: Map<number, unknown>;
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  push(request: unknown): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
  destroy(): void;
}

const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function queue(): { queue: TestQueue; sent: number[]; send(correlationId: number): void } {
  const RequestQueue = kafkajsRequestQueue() as unknown as new (options: object) => TestQueue;
  const q = new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'test', broker: 'b:1', logger: silent });
  const sent: number[] = [];
  return {
    queue: q,
    sent,
    send(correlationId: number) {
      q.push({
        entry: { correlationId, apiKey: 0, apiName: 'Produce', apiVersion: 3, resolve: () => {}, reject: () => {} },
        expectResponse: true,
        sendRequest: () => sent.push(correlationId),
      });
    },
  };
}

/** Whether the queue has a check of its pending requests scheduled. */
const timerArmed = (q: TestQueue) => q.throttleCheckTimeoutId !== null;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the kafkajs idle timer fix', () => {
  beforeAll(() => installIdleTimerFix());

  it('is written for the kafkajs in node_modules (an upgrade must review src/idle-timer-fix.ts)', () => {
    expect(kafkajsVersion()).toBe(KAFKAJS_VERSION_FIXED);
    expect(idleTimerFixInstalled()).toBe(true);
  });

  it('arms no timer once a request has completed and nothing waits', () => {
    const { queue: q, sent, send } = queue();
    send(1);
    q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    expect(sent).toEqual([1]);
    // kafkajs 2.2.4 re-arms a timer here, with a negative delay, after every check: the loop.
    expect(timerArmed(q)).toBe(false);
    q.destroy();
  });

  it('sends a request that waited behind the in-flight cap once the first completes', async () => {
    const { queue: q, sent, send } = queue();
    send(1);
    send(2);
    expect(sent).toEqual([1]);
    expect(q.pending).toHaveLength(1);
    q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    expect(sent).toEqual([1, 2]);
    q.fulfillRequest({ correlationId: 2, payload: Buffer.alloc(0), size: 0 });
    // The check armed when request 2 was queued fires once, finds nothing, and is not re-armed.
    await sleep(50);
    expect(timerArmed(q)).toBe(false);
    q.destroy();
  });

  it('sends a request queued during a broker throttle when the throttle ends, with no other event', async () => {
    const { queue: q, sent, send } = queue();
    q.throttledUntil = Date.now() + 30;
    send(1);
    expect(sent).toEqual([]);
    expect(timerArmed(q)).toBe(true);
    await sleep(80);
    expect(sent).toEqual([1]);
    q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    expect(timerArmed(q)).toBe(false);
    q.destroy();
  });
});
