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

/**
 * The instants a message on Kafka may carry (a command's accepted_at, a hold's expires_at, an
 * event's occurred_at), in UTC: from the Unix epoch to the last microsecond of year 9999. An
 * RFC 3339 date-time passes more than Postgres's timestamptz takes: year 0000 (SQLSTATE
 * 22008) and an offset beyond ±15:59 (22009) are refused there, and past 9999 (9999-12-31
 * with a negative offset) JavaScript writes a six-digit year (+010000-...) nothing reads
 * back. Such a command passed the schema and failed its write every time: bisected out and
 * dead-lettered, yet recorded nowhere, so GET of its transfer answered 404 forever. Refused
 * here, it is malformed (`schema:`) like any other bad member. Nothing legitimate comes near
 * either end: the API stamps accepted_at from its clock and expires_at at most
 * HOLD_EXPIRES_IN_S_MAX (30 days) later.
 */
export const INSTANT_MIN = '1970-01-01T00:00:00Z';
export const INSTANT_MAX = '9999-12-31T23:59:59.999999Z';
const INSTANT_MIN_MS = Date.parse(INSTANT_MIN);
/** Date keeps milliseconds: .999999 parses as .999, so this bound is INSTANT_MAX's. */
const INSTANT_MAX_MS = Date.parse(INSTANT_MAX);

export const isoTimestamp = z.iso.datetime({ offset: true }).superRefine((value, ctx) => {
  const problem = instantProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Why an RFC 3339 date-time is not an instant Postgres stores as sent, or null. */
function instantProblem(value: string): string | null {
  const tail = /(?:\.([0-9]+))?(?:Z|[+-]([0-9]{2}):[0-9]{2})$/.exec(value);
  const ms = Date.parse(value);
  if (!tail || Number.isNaN(ms)) return null; // not a date-time: the format's issue says so
  // Postgres keeps microseconds and rounds the rest: 23:59:59.9999999 would be the next day.
  if ((tail[1]?.length ?? 0) > 6) return 'must have at most 6 fractional digits (what Postgres keeps)';
  if (tail[2] !== undefined && Number(tail[2]) > 15) return 'must have an offset within ±15:59 (the most Postgres takes)';
  if (ms < INSTANT_MIN_MS || ms > INSTANT_MAX_MS) return `must be an instant from ${INSTANT_MIN} to ${INSTANT_MAX}`;
  return null;
}

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
