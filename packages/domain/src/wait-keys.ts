/** What a long poll waits on, beside an id: the worker notifies these keys, the API waits on them. */

/**
 * The key a long poll waits on for a hold to END (`GET /v1/holds/{id}?until=ended`): captured,
 * voided, expired or refused. Apart from the hold's own id, which wakes the polls waiting for
 * it to be applied (placed or refused): an ended-waiter woken by a placement, or by the
 * re-check finding the hold applied, would read it again at each wake while it stays HELD.
 */
export function holdEndedKey(holdId: string): string {
  return `${HOLD_ENDED_PREFIX}${holdId}`;
}

const HOLD_ENDED_PREFIX = 'ended:';

/** The hold id of a key holdEndedKey made, or null for any other key. */
export function holdIdOfEndedKey(key: string): string | null {
  return key.startsWith(HOLD_ENDED_PREFIX) ? key.slice(HOLD_ENDED_PREFIX.length) : null;
}
