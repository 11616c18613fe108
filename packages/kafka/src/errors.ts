/** Operating errors of the produce path, each mapped to one HTTP answer by the API. */

/** The in-memory buffer is full: the caller should slow down (429 + Retry-After). */
export class BackpressureError extends Error {
  override readonly name = 'BackpressureError';
}

/** Kafka did not acknowledge in time or is unreachable (503 + Retry-After). */
export class BrokerUnavailableError extends Error {
  override readonly name = 'BrokerUnavailableError';
}
