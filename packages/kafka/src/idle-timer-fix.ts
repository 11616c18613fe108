/**
 * kafkajs 2.2.4 keeps every broker connection busy while it is idle. Its request queue's
 * `scheduleCheckPendingRequests` re-arms a timer after every check, even when no request waits,
 * and with a negative delay (`throttledUntil` starts at -1), so each connection runs a timer
 * about once a millisecond for as long as it exists (kafkajs issues #1556 and #1704; the fix
 * in its PR #1667 was never released). On a 2-core box that was a third of an idle worker's CPU
 * and two thirds of an idle API's.
 *
 * The replacement below arms the timer only when a request is waiting in the queue, exactly as
 * kafkajs does then: at the end of a broker-imposed throttle, or after kafkajs's own 10 ms when
 * the queue waits for its in-flight cap (a completed request also checks the queue). A queue
 * with nothing waiting needs no timer: `push` checks again when a request is queued.
 *
 * It replaces one method of kafkajs's internal `RequestQueue`, so it is installed only on the
 * version it was written for (package.json pins it); `test/idle-timer-fix.test.ts` fails when
 * kafkajs moves, so that an upgrade comes back here.
 */

import { kafkajsVersion } from './kafkajs-version';

/** The part of kafkajs's internal request queue the fix reads and writes. */
interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

interface RequestQueueClass {
  prototype: RequestQueueInternals & { [INSTALLED]?: true };
}

/** The kafkajs version whose `RequestQueue` this replaces a method of. */
export const KAFKAJS_VERSION_FIXED = '2.2.4';
/** kafkajs's CHECK_PENDING_REQUESTS_INTERVAL (not exported by it). */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;
const INSTALLED = Symbol.for('ledgerline.kafkajs.idleTimerFix');

/** kafkajs's internal request queue class (one instance per broker connection). */
export function kafkajsRequestQueue(): RequestQueueClass {
  // An internal module of kafkajs: there is no public way to reach it, and no types.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('kafkajs/src/network/requestQueue') as RequestQueueClass;
}

/** Whether the fix is in place (false on a kafkajs it was not written for). */
export function idleTimerFixInstalled(): boolean {
  return kafkajsRequestQueue().prototype[INSTALLED] === true;
}

/** Installs the fix once per process; does nothing on another kafkajs version. */
export function installIdleTimerFix(): void {
  if (kafkajsVersion() !== KAFKAJS_VERSION_FIXED) return;
  const prototype = kafkajsRequestQueue().prototype;
  if (prototype[INSTALLED]) return;
  prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueInternals): void {
    if (this.throttleCheckTimeoutId !== null || this.pending.length === 0) return;
    const throttledForMs = this.throttledUntil - Date.now();
    this.throttleCheckTimeoutId = setTimeout(
      () => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      },
      throttledForMs > 0 ? throttledForMs : CHECK_PENDING_REQUESTS_INTERVAL_MS,
    );
  };
  prototype[INSTALLED] = true;
}
