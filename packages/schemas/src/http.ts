/**
 * HTTP contract v1 (docs/api.md): one zod schema per body, used both to validate requests
 * and to generate /openapi.json, so the spec cannot drift from the validation.
 */
import { z } from 'zod';
import {
  DESCRIPTION_CHARS_MAX,
  ENTRIES_PAGE_MAX,
  IDEMPOTENCY_KEY_CHARS_MAX,
  METADATA_BYTES_MAX,
  METADATA_KEY_CHARS_MAX,
  WAIT_MS_MAX,
} from '@ledgerline/domain';
import { amountString, currencyCode, limitString, rejectionReason } from './primitives';

const accountIdField = z.uuid({ message: 'must be a UUID' });

export const createAccountBody = z
  .object({
    currency: currencyCode,
    overdraft_limit: limitString.default('0'),
    metadata: z
      .record(z.string().max(METADATA_KEY_CHARS_MAX), z.unknown())
      .default({})
      .refine((m) => JSON.stringify(m).length <= METADATA_BYTES_MAX, `must serialise to at most ${METADATA_BYTES_MAX} bytes`),
  })
  .strict();

export const transferBody = z
  .object({
    from_account_id: accountIdField,
    to_account_id: accountIdField,
    amount: amountString,
    currency: currencyCode,
    description: z.string().max(DESCRIPTION_CHARS_MAX).optional(),
  })
  .strict()
  .refine((b) => b.from_account_id.toLowerCase() !== b.to_account_id.toLowerCase(), {
    message: 'must differ from from_account_id',
    path: ['to_account_id'],
  });

export const movementBody = z
  .object({
    account_id: accountIdField,
    amount: amountString,
    currency: currencyCode,
  })
  .strict();

export const idempotencyKeyHeader = z
  .string()
  .min(1, 'Idempotency-Key header is required')
  .max(IDEMPOTENCY_KEY_CHARS_MAX, `Idempotency-Key must be at most ${IDEMPOTENCY_KEY_CHARS_MAX} characters`)
  .regex(/^[\x21-\x7e]+$/, 'Idempotency-Key must be printable ASCII without spaces');

export const transferQuery = z
  .object({ wait_ms: z.coerce.number().int().min(0).max(WAIT_MS_MAX).optional() })
  .strict();

export const entriesQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(ENTRIES_PAGE_MAX).default(50),
    cursor: z.string().regex(/^[0-9]{1,19}$/, 'must be a cursor returned by a previous page').optional(),
  })
  .strict();

export const accountResource = z.object({
  id: z.uuid(),
  owner: z.string(),
  currency: currencyCode,
  overdraft_limit: limitString,
  status: z.enum(['OPEN', 'PENDING', 'CLOSED']),
  metadata: z.record(z.string(), z.unknown()),
  created_at: z.string(),
});

export const balanceResource = z.object({
  account_id: z.uuid(),
  currency: currencyCode,
  balance: z.string().regex(/^-?[0-9]+$/),
  available: z.string().regex(/^-?[0-9]+$/),
  version: z.string().regex(/^[0-9]+$/),
  as_of: z.string(),
});

export const entryResource = z.object({
  transfer_id: z.uuid(),
  amount: z.string().regex(/^-?[0-9]+$/),
  balance_after: z.string().regex(/^-?[0-9]+$/),
  seq: z.string().regex(/^[0-9]+$/),
  created_at: z.string(),
});

export const entriesPage = z.object({ entries: z.array(entryResource), next_cursor: z.string().nullable() });

export const transferResource = z.object({
  id: z.uuid(),
  kind: z.enum(['TRANSFER', 'DEPOSIT', 'WITHDRAWAL']),
  status: z.enum(['ACCEPTED', 'PROCESSING', 'COMPLETED', 'REJECTED']),
  reason: rejectionReason.optional(),
  from_account_id: z.uuid().optional(),
  to_account_id: z.uuid().optional(),
  amount: amountString,
  currency: currencyCode,
  description: z.string().optional(),
  created_at: z.string(),
  completed_at: z.string().optional(),
});
export type TransferResource = z.infer<typeof transferResource>;

export const errorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});
