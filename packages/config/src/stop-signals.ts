/**
 * How an app process is asked to stop: SIGTERM (an orchestrator, `docker stop`, `kill`),
 * SIGINT (Ctrl-C) and SIGHUP (a closed terminal sends it to the whole foreground group, and
 * Node's default would be to die at once).
 *
 * Listened for from the first line of main(), before the configuration is read: a signal
 * that lands while the app is still starting is kept, and the app stops as soon as it has
 * started (a worker still joining the consumer group finishes joining, then leaves it). With
 * no handler yet, the same signal killed the process at once outside a container, a joining
 * worker sending no LeaveGroup, and was dropped inside one (node is PID 1 there, and the
 * kernel gives PID 1 only the signals it handles), so the app started and served until the
 * orchestrator's SIGKILL (found by an outside review).
 *
 * The same signal a second time, while the stop is in progress, exits at once, with the
 * shell's code for a death by that signal (128 + its number: 143, 130, 129): the operator's
 * way out of a stop that waits on something (found by an outside review: further signals
 * were ignored and only SIGKILL ended a stop that hung). A different stop signal is not
 * taken as a second request: Ctrl-C under `npm start` delivers SIGINT from the terminal and
 * then SIGTERM from the launcher (scripts/run-local.ts) to every app, for one request.
 */
const STOP_SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

export type StopSignal = keyof typeof STOP_SIGNALS;

export interface StopSignals {
  /** The signal that asked for the stop, if one has. */
  requested(): StopSignal | null;
  /** Runs `stop` once, at the first stop signal, or now if one came already. */
  onStop(stop: (signal: StopSignal) => void): void;
}

/**
 * Starts listening. `cutShort` is told (to log it) before the process exits on a repeat of
 * the first signal; it must not wait for anything.
 */
export function listenForStopSignals(cutShort: (signal: StopSignal) => void): StopSignals {
  let first: StopSignal | null = null;
  let stop: ((signal: StopSignal) => void) | null = null;
  for (const signal of Object.keys(STOP_SIGNALS) as StopSignal[]) {
    process.on(signal, () => {
      if (first === null) {
        first = signal;
        stop?.(signal);
        return;
      }
      if (signal !== first) return;
      cutShort(signal);
      process.exit(128 + STOP_SIGNALS[signal]);
    });
  }
  return {
    requested: () => first,
    onStop(handler) {
      if (stop) throw new Error('onStop: a stop is already registered');
      stop = handler;
      if (first !== null) handler(first);
    },
  };
}
