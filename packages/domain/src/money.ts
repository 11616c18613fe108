/**
 * Money is a bigint count of minor units (cents). It crosses every border as a string of
 * decimal digits, never as a JSON number: 2^53 is far below what a ledger must hold and
 * floats cannot represent 0.10.
 */

/** The largest amount a single command may move: 15 digits keeps every sum of a batch far
 * inside PostgreSQL's bigint (9.2e18) even when thousands of such amounts land on one
 * account, so no running total can overflow. */
export const AMOUNT_MAX = 999_999_999_999_999n;

/** Overdraft limits share the amount bound for the same reason. */
export const OVERDRAFT_LIMIT_MAX = AMOUNT_MAX;

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
