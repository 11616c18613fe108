import { z } from 'zod';
import { AMOUNT_MAX, CURRENCY_PATTERN, OVERDRAFT_LIMIT_MAX } from '@ledgerline/domain';

/**
 * A digit string bounded by `max` as a regular expression, so that the bound is part of
 * the JSON Schema in /openapi.json (a `.refine` would be invisible there, and a fuzzer
 * would rightly report schema-valid amounts the API refuses). A bound of the form
 * 10^n - 1 is exactly "at most n digits"; any other bound would need a longer expression,
 * so it is refused here rather than approximated.
 */
function digitsUpTo(max: bigint, allowZero: boolean): RegExp {
  const digits = max.toString().length;
  if (max !== 10n ** BigInt(digits) - 1n) throw new Error(`bound ${max} is not 10^n - 1: write its regular expression by hand`);
  const positive = `[1-9][0-9]{0,${digits - 1}}`;
  return new RegExp(allowZero ? `^(0|${positive})$` : `^${positive}$`);
}

/** A positive amount in minor units, as the wire carries it: a string of decimal digits. */
export const amountString = z
  .string()
  .regex(digitsUpTo(AMOUNT_MAX, false), `must be a positive integer of minor units, as a string of at most ${AMOUNT_MAX.toString().length} digits (at most ${AMOUNT_MAX})`);

/** A non-negative limit in minor units. */
export const limitString = z
  .string()
  .regex(
    digitsUpTo(OVERDRAFT_LIMIT_MAX, true),
    `must be a non-negative integer of minor units, as a string of at most ${OVERDRAFT_LIMIT_MAX.toString().length} digits (at most ${OVERDRAFT_LIMIT_MAX})`,
  );

export const currencyCode = z.string().regex(CURRENCY_PATTERN, 'must be 3 upper-case letters (ISO 4217)');

export const uuid = z.uuid({ message: 'must be a UUID' }).transform((id) => id.toLowerCase());

export const isoTimestamp = z.iso.datetime({ offset: true });

export const rejectionReason = z.enum([
  'INSUFFICIENT_FUNDS',
  'ACCOUNT_NOT_FOUND',
  'DESTINATION_NOT_FOUND',
  'CURRENCY_MISMATCH',
  'ACCOUNT_CLOSED',
  'FORBIDDEN',
]);

/**
 * Free text stored in a Postgres text column: at most `max` characters, no NUL (U+0000),
 * which Postgres cannot store. The API refuses NUL in any request body already
 * (apps/ingest-api/src/http-input.ts); this is the same rule for a command read back from
 * Kafka, so one written by anything else is dead-lettered instead of failing its
 * partition's write forever.
 */
export const storableText = (max: number) =>
  z
    .string()
    .max(max)
    .refine((text) => !text.includes('\u0000'), 'must not contain the NUL character (\\u0000)');
