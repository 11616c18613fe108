/**
 * Ctrl-C (SIGINT) or a SIGTERM while a bucket move waits (for the APIs, or for its fence): the
 * move is given up as a timeout gives it up (HOLDING moves roll back, fenced ones finish), so
 * that its buckets are not left held, their accounts answering 503 BUCKET_MOVING, until
 * someone runs it again (an outside review of ledgerctl). Watched only while a move waits:
 * elsewhere a signal ends ledgerctl as it always did. A second signal exits at once (130).
 */
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
const EXIT_AFTER_SECOND_SIGNAL = 130;

export interface Interruption {
  /** The signal received while watched, or null. */
  readonly signal: string | null;
  stop(): void;
}

/** `doing`: what the command does on a first signal, as it tells the operator. */
export function watchInterruption(doing: string): Interruption {
  let signal: string | null = null;
  const onSignal = (name: string) => {
    if (signal !== null) process.exit(EXIT_AFTER_SECOND_SIGNAL);
    signal = name;
    process.stderr.write(`ledgerctl: ${name}: ${doing} (again to exit at once)\n`);
  };
  for (const name of SIGNALS) process.on(name, onSignal);
  return {
    get signal() {
      return signal;
    },
    stop() {
      for (const name of SIGNALS) process.off(name, onSignal);
    },
  };
}
