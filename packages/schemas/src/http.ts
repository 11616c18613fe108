/**
 * HTTP contract v1 (docs/api.md): one zod schema per body, query and path, used both to
 * validate requests and to generate /openapi.json (apps/ingest-api/src/route-table.ts), so
 * the spec cannot drift from the validation. Every bound is declared so that JSON Schema
 * can say it (min/max, maxLength, pattern); a `.refine` is reserved for what it cannot
 * (from != to). `.meta({ id })` names a schema in the document's components.
 */
import { z } from 'zod';
import {
  BATCH_ITEMS_MAX,
  DESCRIPTION_CHARS_MAX,
  ENTRIES_PAGE_MAX,
  HISTORY_PAGE_MAX,
  HOLD_EXPIRES_IN_S_DEFAULT,
  HOLD_EXPIRES_IN_S_MAX,
  IDEMPOTENCY_KEY_CHARS_MAX,
  METADATA_BYTES_MAX,
  METADATA_DEPTH_MAX,
  METADATA_KEY_CHARS_MAX,
  METADATA_KEYS_MAX,
  HOLD_STATUSES,
  PRINCIPAL_CHARS_MAX,
  STORED_TRANSFER_STATUSES,
  TRANSFER_KINDS,
  WAIT_MS_MAX,
} from '@ledgerline/domain';
import { amountString, currencyCode, limitString, rejectionReason } from './primitives';

const accountIdField = z.uuid({ message: 'must be a UUID' });

/**
 * Text a client sends that Postgres stores: no NUL (U+0000), which text and jsonb cannot
 * hold. Said as a pattern so the document declares it too.
 */
const text = (max: number) => z.string().max(max).regex(/^[^\u0000]*$/, 'must not contain the NUL character (\\u0000)');

/**
 * storableText's rule (primitives.ts: well-formed, no NUL) as a pattern, so the document
 * declares it: any code point but NUL and a lone surrogate. A pair is one code point to a
 * unicode-mode validator (the first branch) and two units to zod's regex (the second).
 */
const STORABLE_TEXT = /^(?:[^\u0000\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])*$/;

/**
 * A description: one line people read (statements, the history, a support screen). Besides
 * `text`'s rule (NUL is a control character), no control characters (an escape sequence in a terminal, a line break in a
 * statement's line, U+2028 and U+2029 too) and no bidirectional controls (U+202E turns "txt.exe" into "exe.txt"
 * on screen). Joiners (U+200C, U+200D) stay: scripts and emoji need them. Checked at the
 * API only: commands already on Kafka keep what the API accepted when they were sent.
 */
const description = (max: number) =>
  z.string().max(max).regex(
    /^[^\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u2028-\u202E\u2066-\u206F]*$/,
    'must not contain control characters, line separators or bidirectional controls (it is read by people)',
  );

/** A path `{id}`: a UUID, lower-cased so that case never changes the lookup. */
export const idPath = z.object({ id: z.uuid({ message: 'must be a UUID' }).transform((id) => id.toLowerCase()) }).strict();

/**
 * Why a metadata object is refused, or null. Iterative (the client decides the depth); the
 * API has already refused text Postgres cannot store (apps/ingest-api/src/http-input.ts).
 */
export function metadataProblem(metadata: Record<string, unknown>): string | null {
  let keys = 0;
  const stack: { value: unknown; depth: number }[] = [{ value: metadata, depth: 1 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > METADATA_DEPTH_MAX) return `must nest at most ${METADATA_DEPTH_MAX} levels deep`;
    for (const [key, child] of Object.entries(value)) {
      keys++;
      if (keys > METADATA_KEYS_MAX) return `must hold at most ${METADATA_KEYS_MAX} keys in all`;
      // Characters are code points, as JSON Schema's maxLength and zod count them (a key of
      // 33 emoji is 66 UTF-16 units and 33 characters); UTF-16 length bounds them from above.
      if (key.length > METADATA_KEY_CHARS_MAX && codePointsOf(key) > METADATA_KEY_CHARS_MAX) return `keys must be at most ${METADATA_KEY_CHARS_MAX} characters`;
      stack.push({ value: child, depth: depth + 1 });
    }
  }
  if (Buffer.byteLength(JSON.stringify(metadata)) > METADATA_BYTES_MAX) return `must serialise to at most ${METADATA_BYTES_MAX} bytes`;
  return null;
}

function codePointsOf(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/**
 * A metadata value at `depth` (the metadata object itself is depth 1): text without NUL,
 * a number, a boolean, null, or (up to METADATA_DEPTH_MAX) an array or object of values one
 * level deeper. Spelled out level by level so that /openapi.json declares the depth, the
 * key length and the per-container counts (each at most METADATA_KEYS_MAX, which the total
 * implies) instead of an unbounded `{}`. The total key count and the serialised size are
 * checked by metadataProblem: JSON Schema cannot say them.
 */
/**
 * The longest text a metadata value at `depth` can be: the whole object serialises to at
 * most METADATA_BYTES_MAX bytes, each object around the text spends at least 5 of them
 * (`{"":` and `}`) and the quotes 2. A bound the document can state (the byte total itself
 * it cannot), so a generator that nests its longest text as deep as allowed still sends a
 * body the API takes (schemathesis' coverage phase did: 4,110 bytes at depth 4).
 */
const metadataTextCharsMax = (depth: number) => METADATA_BYTES_MAX - '{"":}'.length * (depth - 1) - '""'.length;

function metadataValue(depth: number): z.ZodType {
  // A JSON number is read as a finite double: the bound is the double's range.
  const scalars = [text(metadataTextCharsMax(depth)), z.number().min(-Number.MAX_VALUE).max(Number.MAX_VALUE), z.boolean(), z.null()] as const;
  if (depth > METADATA_DEPTH_MAX) {
    return z.union(scalars, { error: `must be text, a number, a boolean or null: metadata nests at most ${METADATA_DEPTH_MAX} levels deep` });
  }
  return z.union([...scalars, z.array(metadataValue(depth + 1)).max(METADATA_KEYS_MAX), metadataObject(depth)], {
    error: `must be text without NUL, a number, a boolean, null, or an array or object of at most ${METADATA_KEYS_MAX} items (metadata nests at most ${METADATA_DEPTH_MAX} levels deep)`,
  });
}

function metadataObject(depth: number) {
  return z
    .record(text(METADATA_KEY_CHARS_MAX), metadataValue(depth + 1), {
      // zod's own word for a refused key is "Invalid key in record".
      error: (issue) => (issue.code === 'invalid_key' ? `keys must be at most ${METADATA_KEY_CHARS_MAX} characters of text without NUL` : undefined),
    })
    .meta({ maxProperties: METADATA_KEYS_MAX });
}

export const createAccountBody = z
  .object({
    currency: currencyCode,
    overdraft_limit: limitString.default('0'),
    metadata: metadataObject(1)
      .default({})
      .meta({
        description: `Free-form, stored with the account: at most ${METADATA_KEYS_MAX} keys in all (array items count) and ${METADATA_BYTES_MAX} bytes serialised, which JSON Schema cannot say`,
      })
      .superRefine((m, ctx) => {
        const problem = metadataProblem(m);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
  })
  .strict()
  .meta({ id: 'CreateAccount' });

const transferFields = {
  // Distinct examples: they document the rule, and generators that start from examples
  // (schemathesis) do not send the same id twice, which JSON Schema cannot forbid.
  from_account_id: accountIdField.meta({ examples: ['7f0c2a8e-3b1d-4c5e-9f6a-1b2c3d4e5f60'] }),
  to_account_id: accountIdField.meta({ examples: ['0e8d4f1a-6c2b-4a3d-8e5f-6a7b8c9d0e1f'], description: 'Must differ from from_account_id' }),
  amount: amountString,
  currency: currencyCode,
  description: description(DESCRIPTION_CHARS_MAX).optional(),
};

export const transferBody = z
  .object(transferFields)
  .strict()
  .refine((b) => b.from_account_id.toLowerCase() !== b.to_account_id.toLowerCase(), {
    message: 'must differ from from_account_id',
    path: ['to_account_id'],
  })
  .meta({ id: 'TransferRequest' });

const movementFields = {
  account_id: accountIdField,
  amount: amountString,
  currency: currencyCode,
  description: description(DESCRIPTION_CHARS_MAX).optional(),
};

export const movementBody = z.object(movementFields).strict().meta({ id: 'MovementRequest' });

const holdFields = {
  account_id: accountIdField,
  amount: amountString,
  currency: currencyCode,
  expires_in_s: z.number().int().min(1).max(HOLD_EXPIRES_IN_S_MAX).default(HOLD_EXPIRES_IN_S_DEFAULT),
  description: description(DESCRIPTION_CHARS_MAX).optional(),
};

export const holdBody = z.object(holdFields).strict().meta({ id: 'HoldRequest' });

/** The kinds of movement a batch item may be; each item is validated by its single endpoint's schema. */
export const batchItemKind = z.enum(['TRANSFER', 'DEPOSIT', 'WITHDRAWAL', 'HOLD']);
export type BatchItemKind = z.infer<typeof batchItemKind>;

/**
 * One batch item: its kind and that kind's body. The API checks an item with exactly these
 * fields, one item at a time (apps/ingest-api/src/routes/batch.ts), with the single
 * endpoint's own schema, so a bad item is a 400 of its own, never the whole batch's.
 */
export const batchItem = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('TRANSFER'), ...transferFields }).strict(),
    z.object({ kind: z.literal('DEPOSIT'), ...movementFields }).strict(),
    z.object({ kind: z.literal('WITHDRAWAL'), ...movementFields }).strict(),
    z.object({ kind: z.literal('HOLD'), ...holdFields }).strict(),
  ])
  .meta({ id: 'BatchItem' });

/**
 * POST /v1/batch. API_BATCH_ITEMS_MAX may lower the item ceiling, and so may the caller's
 * write budget (400 beyond either): both are the API's settings, so the schema states the
 * absolute cap and says where the rest is.
 */
export const batchBody = z
  .object({
    items: z
      .array(batchItem)
      .min(1, 'must hold at least one item')
      .max(BATCH_ITEMS_MAX, `must hold at most ${BATCH_ITEMS_MAX} items`)
      .meta({ description: "At most the caller's write budget can take at once, which depends on the principal and the deployment: see POST /v1/batch" }),
  })
  .strict()
  .meta({ id: 'BatchRequest' });

/** The envelope as the API checks it before the items, which are checked one by one. */
export const batchEnvelope = z.object({ items: z.array(z.unknown()).min(1, 'must hold at least one item').max(BATCH_ITEMS_MAX, `must hold at most ${BATCH_ITEMS_MAX} items`) }).strict();


export const captureBody = z
  .object({
    to_account_id: accountIdField,
    /** Default: the whole hold. */
    amount: amountString.optional(),
  })
  .strict()
  .meta({ id: 'CaptureRequest' });

export const voidBody = z.object({}).strict().meta({ id: 'VoidRequest' });

export const reversalBody = z
  .object({
    /** Default: what is left to reverse. */
    amount: amountString.optional(),
    description: description(DESCRIPTION_CHARS_MAX).optional(),
  })
  .strict()
  .meta({ id: 'ReversalRequest' });

export const accountPatchBody = z
  .object({
    status: z.enum(['OPEN', 'FROZEN', 'CLOSED']).optional(),
    overdraft_limit: limitString.optional(),
  })
  .strict()
  // JSON Schema says it as minProperties (declared below); zod as a refinement.
  .refine((b) => b.status !== undefined || b.overdraft_limit !== undefined, { message: 'must change status or overdraft_limit', path: ['status'] })
  .meta({ id: 'AccountChange', minProperties: 1 });

export const idempotencyKeyHeader = z
  .string()
  // abort: a missing (empty) key would also break the pattern; say only that it is required.
  .min(1, { error: 'Idempotency-Key header is required', abort: true })
  .max(IDEMPOTENCY_KEY_CHARS_MAX, `Idempotency-Key must be at most ${IDEMPOTENCY_KEY_CHARS_MAX} characters`)
  .regex(/^[\x21-\x7e]+$/, 'Idempotency-Key must be printable ASCII without spaces');

/**
 * An integer query parameter. A query value is text: only decimal digits (optionally
 * signed) are read as a number, so '', '1e3', '0x10' or ' 5' are refused rather than
 * coerced (z.coerce.number would take them all), and the document says `integer` with its
 * bounds, which is what a client sends.
 */
const integerQuery = (min: number, max: number) =>
  z.preprocess((value) => (typeof value === 'string' && /^-?[0-9]+$/.test(value) ? exactOrBeyond(value) : value), z.number().int().min(min).max(max));

/**
 * A run of digits as a number that is still an exact integer: past 15 digits, the largest
 * safe one of its sign, so that `?limit=9999999999999999` is refused with the bound alone,
 * not also with zod's note that the double is no longer an integer (an outside review).
 */
function exactOrBeyond(digits: string): number {
  const negative = digits.startsWith('-');
  const significant = digits.replace(/^-?0*/, '');
  if (significant.length <= 15) return Number(digits);
  return negative ? Number.MIN_SAFE_INTEGER : Number.MAX_SAFE_INTEGER;
}

/**
 * An RFC 3339 instant with its offset (`Z` or `+hh:mm`) and at most microsecond precision
 * (what Postgres keeps), as a pattern so the document declares it, month lengths and leap
 * years included, and offsets within ±15:59 (the most Postgres takes; RFC 3339 would allow
 * ±23:59, which reached Postgres and was refused there). The refinement only refuses what
 * the pattern cannot see: an instant that
 * falls before year 1 once its offset is applied (0001-01-01T00:00:00+01:00).
 */
export const instantParam = z
  .string()
  .max(40)
  .regex(
    // The date part spells out month lengths and leap years (29 February only in a year
    // divisible by 4, and by 400 for a century), so the document declares that too.
    /^((?!0000)[0-9]{4}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))|([0-9]{2}(0[48]|[2468][048]|[13579][26])|(0[48]|[2468][048]|[13579][26])00)-02-29)[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?([Zz]|[+-](0[0-9]|1[0-5]):[0-5][0-9])$/,
    'must be an RFC 3339 date-time with an offset (at most ±15:59) and at most 6 fractional digits, e.g. 2026-01-31T12:00:00Z',
  )
  // RFC 3339's grammar is ABNF, whose literals match either case: 2026-01-31t12:00:00z is the
  // same instant as 2026-01-31T12:00:00Z, and is read in upper case from here on.
  .transform((value) => value.toUpperCase())
  .refine((value) => Number.isFinite(Date.parse(value)) && new Date(Date.parse(value)).getUTCFullYear() >= 1, 'must be a date that exists');

/**
 * The last microsecond an instant names: `12:00:00.221Z` is the whole of that millisecond
 * (through `.221999`), `12:00:00Z` the whole second. The API shows times to the millisecond
 * while Postgres keeps microseconds, so a balance `as_of`, or an entry's `created_at`, given
 * back as `at` must include what it was read from. An instant with six digits is itself.
 * Expects a string instantParam accepted.
 */
export function lastMicrosecondOf(instant: string): string {
  const [whole, fraction, offset] = instantParts(instant);
  return `${whole}.${fraction.padEnd(6, '9')}${offset}`;
}

/**
 * An instant in UTC with every fractional digit it has (`...T14:36:50.2-05:30` is
 * `...T20:06:50.2Z`): Date's toISOString would cut it to milliseconds. Expects a string
 * instantParam accepted.
 */
export function utcInstantOf(instant: string): string {
  const [whole, fraction, offset] = instantParts(instant);
  const seconds = new Date(`${whole}${offset}`).toISOString().slice(0, 19);
  return fraction ? `${seconds}.${fraction}Z` : `${seconds}Z`;
}

/** Up to the seconds, the fractional digits ('' for none), the offset. */
function instantParts(instant: string): [string, string, string] {
  const match = /^([^.]*?:[0-9]{2})(?:\.([0-9]{1,6}))?(Z|[+-][0-9]{2}:[0-9]{2})$/.exec(instant);
  if (!match) throw new RangeError(`not an instant: ${instant}`);
  return [match[1]!, match[2] ?? '', match[3]!];
}

export const transferQuery = z
  .object({ wait_ms: integerQuery(0, WAIT_MS_MAX).optional() })
  .strict();

/** What a hold's long poll waits for: applied (no longer ACCEPTED), or ended (no longer ACCEPTED or HELD). */
export const HOLD_WAITS = ['applied', 'ended'] as const;
export type HoldWait = (typeof HOLD_WAITS)[number];

export const holdQuery = z
  .object({
    wait_ms: integerQuery(0, WAIT_MS_MAX).optional(),
    until: z
      .enum(HOLD_WAITS)
      .default('applied')
      .meta({ description: 'What wait_ms waits for: `applied` (the default), while the hold is ACCEPTED; `ended`, while it is ACCEPTED or HELD (until a capture, void or expiry ends it)' }),
  })
  .strict();

export const entriesQuery = z
  .object({
    limit: integerQuery(1, ENTRIES_PAGE_MAX).default(50),
    // An entry's seq: 18 digits keep every cursor inside Postgres's bigint, so a cursor the
    // pattern allows is never refused afterwards (seq will not reach 10^18).
    cursor: z.string().regex(/^[0-9]{1,18}$/, 'must be a cursor returned by a previous page').optional(),
    from: instantParam.optional().meta({ description: 'Entries created at or after this instant' }),
    to: instantParam.optional().meta({ description: 'Entries created before this instant (from..to is half-open)' }),
  })
  .strict()
  // A window that ends before it starts selects nothing by mistake, not by design: said, not answered with an empty page.
  .refine(
    (q) => {
      if (q.from === undefined || q.to === undefined) return true;
      // Each is checked on its own above; the order only between two that passed.
      const [from, to] = [microsecondsOf(q.from), microsecondsOf(q.to)];
      return from === null || to === null || from <= to;
    },
    { message: 'must not be before from', path: ['to'] },
  );

/** An instant, in microseconds since the epoch; null for a string instantParam refuses. */
function microsecondsOf(instant: string): bigint | null {
  try {
    const [whole, fraction, offset] = instantParts(instant);
    const ms = Date.parse(`${whole}${offset}`);
    return Number.isFinite(ms) ? BigInt(ms) * 1000n + BigInt(fraction.padEnd(6, '0')) : null;
  } catch {
    return null;
  }
}

export const balanceQuery = z
  .object({
    at: instantParam.optional().meta({ description: 'The balance as it stood at this instant (after the last entry created at or before it; an instant with fewer than 6 fractional digits includes the whole of its last digit, and is in the future until that digit has passed); not in the future' }),
  })
  .strict();

/** Kinds and statuses of a stored movement (ACCEPTED lives in Redis only, never in history). */
export const transferKind = z.enum(TRANSFER_KINDS);
export const storedTransferStatus = z.enum(STORED_TRANSFER_STATUSES);

const historyCursor = z
  .string()
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be a cursor returned by a previous page')
  .optional()
  .meta({ description: 'The next_cursor of the previous page' });

export const historyQuery = z
  .object({
    account_id: z.uuid({ message: 'must be a UUID' }),
    status: storedTransferStatus.optional(),
    kind: transferKind.optional(),
    limit: integerQuery(1, HISTORY_PAGE_MAX).default(50),
    cursor: historyCursor,
  })
  .strict();

/** A hold's status once a worker applied it (ACCEPTED is only in flight). */
export const storedHoldStatus = z.enum(HOLD_STATUSES);

export const holdHistoryQuery = z
  .object({
    account_id: z.uuid({ message: 'must be a UUID' }),
    status: storedHoldStatus.optional(),
    limit: integerQuery(1, HISTORY_PAGE_MAX).default(50),
    cursor: historyCursor,
  })
  .strict();

export const accountResource = z.object({
  id: z.uuid(),
  owner: z.string(),
  currency: currencyCode,
  overdraft_limit: limitString
    .nullable()
    .meta({ description: 'How far below zero the balance may go; null for a system account (transit, external), which has no limit and only an admin can read' }),
  status: z.enum(['OPEN', 'FROZEN', 'CLOSED']),
  metadata: z.record(z.string(), z.unknown()),
  created_at: z.string(),
}).meta({ id: 'Account' });

export const accountsPage = z.object({ accounts: z.array(accountResource), next_cursor: z.string().nullable() }).meta({ id: 'AccountsPage' });

/** GET /v1/accounts: the caller's accounts, or (admin) another owner's. */
export const accountListQuery = z
  .object({
    // Every rule said in a way the document can state: it rendered a pipe's input side only
    // and a refinement not at all, so `owner=` (a 400) was valid by it (an outside review).
    owner: z
      .string()
      .min(1)
      .max(PRINCIPAL_CHARS_MAX)
      .regex(STORABLE_TEXT, 'must be well-formed Unicode (no lone UTF-16 surrogate) and must not contain the NUL character (\\u0000)')
      .optional()
      .meta({ description: "Whose accounts: the token's subject when absent; another owner's needs ledger:admin" }),
    limit: integerQuery(1, HISTORY_PAGE_MAX).default(50),
    cursor: historyCursor,
  })
  .strict();

export const balanceResource = z.object({
  account_id: z.uuid(),
  currency: currencyCode,
  balance: z.string().regex(/^-?[0-9]+$/),
  available: z.string().regex(/^-?[0-9]+$/),
  version: z.string().regex(/^[0-9]+$/),
  as_of: z.string(),
}).meta({ id: 'Balance' });

export const entryResource = z.object({
  transfer_id: z.uuid(),
  amount: z.string().regex(/^-?[0-9]+$/),
  balance_after: z.string().regex(/^-?[0-9]+$/),
  seq: z.string().regex(/^[0-9]+$/),
  created_at: z.string(),
}).meta({ id: 'Entry' });

export const entriesPage = z.object({ entries: z.array(entryResource), next_cursor: z.string().nullable() }).meta({ id: 'EntriesPage' });

/** A balance as it stood at `as_of` (the `at` asked for), read from the ledger. */
export const balanceAtResource = z
  .object({
    account_id: z.uuid(),
    currency: currencyCode,
    balance: z.string().regex(/^-?[0-9]+$/),
    version: z.string().regex(/^[0-9]+$/),
    as_of: z.string(),
  })
  .meta({ id: 'BalanceAt' });

export const transferResource = z.object({
  id: z.uuid(),
  kind: transferKind,
  status: z.enum(['ACCEPTED', 'PROCESSING', 'COMPLETED', 'REJECTED']),
  reason: rejectionReason.optional(),
  from_account_id: z.uuid().optional(),
  to_account_id: z.uuid().optional(),
  amount: amountString,
  currency: currencyCode,
  description: z.string().optional(),
  created_at: z.string(),
  completed_at: z.string().optional(),
  /** CAPTURE: the hold it captured. */
  hold_id: z.uuid().optional(),
  /** REVERSAL: the transfer it pays back. */
  reverses: z.uuid().optional(),
  /** COMPLETED TRANSFER, CAPTURE or DEPOSIT: how much its reversals took back so far. */
  reversed_amount: z.string().regex(/^[0-9]+$/).optional(),
}).meta({ id: 'Transfer' });
export type TransferResource = z.infer<typeof transferResource>;

export const transfersPage = z.object({ transfers: z.array(transferResource), next_cursor: z.string().nullable() }).meta({ id: 'TransfersPage' });

export const holdResource = z.object({
  id: z.uuid(),
  account_id: z.uuid(),
  amount: amountString,
  captured_amount: z.string().regex(/^[0-9]+$/),
  currency: currencyCode,
  status: z.enum(['ACCEPTED', 'HELD', 'CAPTURED', 'VOIDED', 'EXPIRED', 'REJECTED']),
  reason: rejectionReason.optional(),
  description: z.string().optional(),
  expires_at: z.string(),
  created_at: z.string(),
  completed_at: z.string().optional(),
}).meta({ id: 'Hold' });

export const holdsPage = z.object({ holds: z.array(holdResource), next_cursor: z.string().nullable() }).meta({ id: 'HoldsPage' });
export type HoldResource = z.infer<typeof holdResource>;
