import { z } from 'zod';
import { AMOUNT_MAX, CURRENCY_PATTERN, OVERDRAFT_LIMIT_MAX } from '@ledgerline/domain';

/**
 * The bound check of a digit string. zod runs a refinement even when the regex before it
 * failed, so it must not assume digits (BigInt('1.5') throws: a 500 for bad input); a
 * non-digit string passes here because the regex has already refused it. Length first:
 * 20 digits must be refused too, without building a huge BigInt.
 */
const withinBound = (max: bigint) => (text: string) =>
  !/^[0-9]+$/.test(text) || (text.length <= max.toString().length && BigInt(text) <= max);

/** A positive amount in minor units, as the wire carries it: a string of decimal digits. */
export const amountString = z
  .string()
  .regex(/^[1-9][0-9]*$/, 'must be a positive integer of minor units, as a string of digits')
  .refine(withinBound(AMOUNT_MAX), `must be at most ${AMOUNT_MAX}`);

/** A non-negative limit in minor units. */
export const limitString = z
  .string()
  .regex(/^(0|[1-9][0-9]*)$/, 'must be a non-negative integer of minor units, as a string of digits')
  .refine(withinBound(OVERDRAFT_LIMIT_MAX), `must be at most ${OVERDRAFT_LIMIT_MAX}`);

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
