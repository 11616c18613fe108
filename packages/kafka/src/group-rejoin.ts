/**
 * The consumer-group answers that mean "rejoin the group": the member's generation is over
 * (a rebalance began, or the coordinator dropped the member). kafkajs marks them not
 * retriable because it does not retry the request; the consumer runs the rejoin.
 */
export const REJOIN_ANSWERS: readonly string[] = ['REBALANCE_IN_PROGRESS', 'UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'MEMBER_ID_REQUIRED'];

/**
 * Whether `error` (or an error it wraps) is one of those answers, e.g. from a heartbeat
 * during a fetch: the fetch ends and the consumer rejoins; it says nothing about the
 * database.
 */
export function isGroupRejoin(error: unknown): boolean {
  for (let cause: unknown = error; cause; cause = (cause as { cause?: unknown }).cause) {
    if (REJOIN_ANSWERS.includes(String((cause as { type?: unknown }).type))) return true;
  }
  return false;
}
