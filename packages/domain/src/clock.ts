/**
 * The `Clock` port: wall-clock time as the ledger records and judges it (a command's
 * `acceptedAt`, the time a batch applies, a hold falling due, a token's `exp`). Every app
 * takes one instead of calling `new Date()`, so a test can fix or move time; elapsed-time
 * measurements (timeouts, metrics) are not the ledger's time and keep using the runtime.
 */
export interface Clock {
  now(): Date;
}

/** The host's clock. */
export const systemClock: Clock = { now: () => new Date() };
