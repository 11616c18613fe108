/**
 * Money is a bigint count of minor units (cents). It crosses every border as a string of
 * decimal digits, never as a JSON number: 2^53 is far below what a ledger must hold and
 * floats cannot represent 0.10.
 */

// The bounds live with the other shared limits; apply.ts still imports them from here.
export { AMOUNT_MAX, OVERDRAFT_LIMIT_MAX } from './limits';

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
