/**
 * Money is a bigint count of minor units (cents). It crosses every border as a string of
 * decimal digits, never as a JSON number: 2^53 is far below what a ledger must hold and
 * floats cannot represent 0.10.
 */

import { BALANCE_MAX, BALANCE_MIN } from './limits';

// The bounds live with the other shared limits; apply.ts still imports them from here.
export { AMOUNT_MAX, BALANCE_MAX, BALANCE_MIN, OVERDRAFT_LIMIT_MAX } from './limits';

/*
 * The range of a balance (BALANCE_MIN..BALANCE_MAX in limits.ts) is PostgreSQL's bigint,
 * which the `balance` and `balance_after` columns are. AMOUNT_MAX bounds one command, not a
 * running total: about 9,200 deposits of AMOUNT_MAX into one account (or into a partition's
 * external or transit account) reach it. A command whose effect would cross it is REJECTED
 * with BALANCE_LIMIT_EXCEEDED by the single writer (packages/domain/src/apply.ts), and the
 * bound is asserted before every write: a write past it would fail in Postgres (SQLSTATE
 * 22003) every time it was retried.
 */

/**
 * How far a client command may raise a USER account's balance. The rest of the range, up to
 * BALANCE_MAX, is kept for money coming back: a refund leg returns a debit that was already
 * taken, cannot be refused (the money is in transit), and may arrive after other credits
 * filled the account. Overflowing that reserve would need 4.6e18 minor units of refunds in
 * flight to one account at once; should it ever happen, the write fails and the refund is
 * isolated as UNPROCESSABLE (dead-lettered, the money stays visible in transit).
 */
export const USER_BALANCE_MAX = BALANCE_MAX / 2n;

export function withinBalanceRange(balance: bigint): boolean {
  return balance >= BALANCE_MIN && balance <= BALANCE_MAX;
}

const DIGITS = /^(0|[1-9][0-9]{0,17})$/;

/** Parses a wire amount. Returns null for anything that is not canonical decimal digits. */
export function parseMinorUnits(text: string): bigint | null {
  if (!DIGITS.test(text)) return null;
  return BigInt(text);
}

export function formatMinorUnits(value: bigint): string {
  return value.toString(10);
}

export const CURRENCY_PATTERN = /^[A-Z]{3}$/;
