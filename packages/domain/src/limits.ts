/**
 * The limits every part of ledgerline shares: the API's validators, the Kafka decoder, the
 * apply state machine, the migrations' CHECK constraints and the operator CLI. One place, so
 * that a bound cannot be 512 in one border and 500 in the next; a unit test
 * (packages/postgres/test/limits.test.ts) fails when a migration's CHECK disagrees.
 *
 * These are part of the contract (docs/api.md) or of the data's identity, not tunables:
 * tunables live in each app's config module.
 */

/**
 * Buckets an account id hashes into (routing.ts). Fixed forever: changing it would re-home
 * every account at once. It is also the most partitions routing can use.
 */
export const BUCKET_COUNT = 1024;

/** The largest amount a single command may move: 15 digits keeps every sum of a batch far
 * inside PostgreSQL's bigint (9.2e18) even when thousands of such amounts land on one
 * account. */
export const AMOUNT_MAX = 999_999_999_999_999n;

/** Overdraft limits share the amount bound for the same reason. */
export const OVERDRAFT_LIMIT_MAX = AMOUNT_MAX;

/** The range of a balance: PostgreSQL's bigint, the type of every balance and entry column. */
export const BALANCE_MAX = 9_223_372_036_854_775_807n;
export const BALANCE_MIN = -9_223_372_036_854_775_808n;

/** Characters of a transfer's free-text description. */
export const DESCRIPTION_CHARS_MAX = 512;

/** An account's metadata: serialised size, and characters of one key. */
export const METADATA_BYTES_MAX = 4096;
export const METADATA_KEY_CHARS_MAX = 64;
/** Nesting levels of an account's metadata, and its keys counted over every level. */
export const METADATA_DEPTH_MAX = 4;
export const METADATA_KEYS_MAX = 64;

/** Characters of a principal (a token's `sub`), as carried by every command. */
export const PRINCIPAL_CHARS_MAX = 256;

/** Characters of the note an operator acknowledges a dead letter with (ledgerctl dead-letters ack). */
export const DEAD_LETTER_NOTE_CHARS_MAX = 500;

/** Characters of the operator (user@host) a dead letter's redrive or acknowledgement records. */
export const OPERATOR_CHARS_MAX = 200;

/** Characters of an Idempotency-Key header (printable ASCII). */
export const IDEMPOTENCY_KEY_CHARS_MAX = 128;

/** Entries in one page of GET /v1/accounts/{id}/entries. */
export const ENTRIES_PAGE_MAX = 500;

/** The longest long poll a client may ask for (`?wait_ms=`). */
export const WAIT_MS_MAX = 30_000;

/** Bucket moves named by one FENCE marker (a hold moves at most this many buckets). */
export const FENCE_MOVES_MAX = BUCKET_COUNT;

/** Movements in one page of GET /v1/transfers (an account's history). */
export const HISTORY_PAGE_MAX = 200;

/**
 * Items of one POST /v1/batch at most (API_BATCH_ITEMS_MAX may lower it). A batch's accepted
 * items travel in as few Kafka produce requests as API_PRODUCE_GROUP_BYTES_MAX allows
 * (groupsOf in apps/ingest-api/src/movements.ts; one for a batch of ordinary size).
 */
export const BATCH_ITEMS_MAX = 1_000;

/** A hold lasts 1 s to 30 days (`expires_in_s`), a week unless asked otherwise (docs/api.md, Holds). */
export const HOLD_EXPIRES_IN_S_MAX = 2_592_000;
export const HOLD_EXPIRES_IN_S_DEFAULT = 604_800;
