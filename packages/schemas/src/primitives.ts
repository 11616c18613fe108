import { z } from 'zod';
import { ACCOUNT_CHANGE_REASONS, AMOUNT_MAX, CURRENCY_PATTERN, OVERDRAFT_LIMIT_MAX, REJECTION_REASONS } from '@ledgerline/domain';

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

export const rejectionReason = z.enum(REJECTION_REASONS);
export const accountChangeReason = z.enum(ACCOUNT_CHANGE_REASONS);

/**
 * Why a string cannot be stored, or null when it can. Postgres text and jsonb refuse U+0000,
 * and jsonb refuses a lone UTF-16 surrogate ("\udc00" is valid JSON, but no Unicode text):
 * either one, let through, fails its write every time it is retried. Every string that
 * crosses a border (HTTP body, JWT claim, Kafka message) passes this check first.
 */
export function textProblem(text: string): string | null {
  if (!text.isWellFormed()) return 'must be well-formed Unicode (no lone UTF-16 surrogate)';
  if (text.includes('\u0000')) return 'must not contain the NUL character (\\u0000)';
  return null;
}

/**
 * Free text stored in a Postgres text column: at most `max` characters, well-formed, no NUL.
 * The API refuses such text in any request already (apps/ingest-api/src/http-input.ts); this
 * is the same rule for a command read back from Kafka, so one written by anything else is
 * dead-lettered instead of failing its partition's write forever.
 */
export const storableText = (max: number) =>
  z
    .string()
    .max(max)
    .superRefine((text, ctx) => {
      const problem = textProblem(text);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
