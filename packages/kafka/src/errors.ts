/** Operating errors of the produce path, each mapped to one HTTP answer by the API. */

/** The in-memory buffer is full: the caller should slow down (429 + Retry-After). */
export class BackpressureError extends Error {
  override readonly name = 'BackpressureError';
}

/**
 * Kafka did not acknowledge in time or is unreachable (503 + Retry-After).
 *
 * `maybeSent` is what the caller must not forget: false when the message certainly never left
 * this process (refused up front, or dropped from the buffer before any request carried it);
 * true when a produce request carrying it was on its way, so Kafka may still append it. Only
 * the first kind may give an Idempotency-Key back (docs/design.md invariant 11).
 */
export class BrokerUnavailableError extends Error {
  override readonly name = 'BrokerUnavailableError';
  constructor(
    message: string,
    readonly maybeSent = false,
  ) {
    super(message);
  }
}

/** True when a failed publish may still be appended by Kafka (see BrokerUnavailableError). */
export function publishMayHaveReachedKafka(error: unknown): boolean {
  return error instanceof BrokerUnavailableError ? error.maybeSent : !(error instanceof BackpressureError);
}
