/**
 * GENERATED from the ingest API's route table by `npm run client:generate`
 * (apps/ingest-api/src/contract.ts, openapi-typescript). Do not edit by hand.
 */
export interface paths {
    "/v1/accounts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The caller's accounts, newest first; pass next_cursor as cursor for the next page
         * @description The accounts the token's subject owns, ordered by (created_at, id), each as GET /v1/accounts/{id} shows it. owner lists another principal's accounts and needs ledger:admin (403 otherwise); an owner with no accounts is an empty page.
         */
        get: operations["getAccounts"];
        put?: never;
        /** Open an account owned by the token subject */
        post: operations["postAccounts"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/accounts/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** An account */
        get: operations["getAccountsId"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Change an account's status (OPEN | FROZEN | CLOSED) or overdraft limit, through its partition's writer
         * @description Admin may change anything; the owner may only close. Waits up to 5 s for the outcome: 200 applied, 409 refused (ACCOUNT_NOT_EMPTY: closing needs balance 0, no active hold and nothing in flight; OVERDRAFT_IN_USE; ACCOUNT_CLOSED: a closed account stays closed), 202 + Location when not applied yet (replay the request to learn the outcome).
         */
        patch: operations["patchAccountsId"];
        trace?: never;
    };
    "/v1/accounts/{id}/balance": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * An account's balance; version is the entry sequence number it reflects. With `at`, the balance as it stood then
         * @description Without `at`: Balance, from the cache when it has the account. With `at`: BalanceAt, the balance after the last entry created at or before `at`, read from the ledger (never the cache); version 0 and balance 0 before the first entry; a future `at` is 400; `as_of` is the last instant `at` stands for, in UTC with microseconds.
         */
        get: operations["getAccountsIdBalance"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/accounts/{id}/entries": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** An account's entries, newest first; pass next_cursor as cursor for the next page; from (inclusive) and to (exclusive) bound created_at */
        get: operations["getAccountsIdEntries"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/transfers": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The movements that touch an account (as source or destination), newest first; pass next_cursor as cursor for the next page
         * @description Owner of the account or admin; 404 otherwise. Movements a worker has applied (PROCESSING, COMPLETED, REJECTED), ordered by (created_at, id). A system account (admin only) is 400: no movement names it; its entries list its side of each.
         */
        get: operations["getTransfers"];
        put?: never;
        /**
         * Move money between two accounts (you must own the source)
         * @description from_account_id and to_account_id must differ (400): JSON Schema cannot say so.
         */
        post: operations["postTransfers"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/deposits": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Money arriving from outside (ledger:admin) */
        post: operations["postDeposits"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/withdrawals": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Money leaving to outside (owner or admin) */
        post: operations["postWithdrawals"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/transfers/{id}/reversals": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Pay back (part of) a COMPLETED TRANSFER, CAPTURE or DEPOSIT: a transfer of kind REVERSAL (owner of the original's destination, or admin)
         * @description amount defaults to what is left to reverse; the reversals of a transfer never add up to more than its amount (REJECTED REVERSAL_EXCEEDS_ORIGINAL), and one can be REJECTED INSUFFICIENT_FUNDS if the money was spent. 409 TRANSFER_NOT_REVERSIBLE: the original is not a COMPLETED TRANSFER, CAPTURE or DEPOSIT.
         */
        post: operations["postTransfersIdReversals"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/transfers/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A transfer; wait_ms holds the request until it is COMPLETED or REJECTED or the time is up */
        get: operations["getTransfersId"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/batch": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Up to 1,000 movements under one Idempotency-Key, no more than the caller's write budget takes (101 for a non-admin at the defaults); each item answered as its single endpoint would
         * @description Items are TRANSFER, DEPOSIT, WITHDRAWAL or HOLD, each with its endpoint's body. Not atomic: the answer is 202 with one result per item, in item order, `status` being what the item would have got alone (202, 200 for a replayed item, 400, 403, 429, 503...). Every accepted item is durable in Kafka before the answer. Item i is named by (principal, key, i): the same key and body replay, another body under the key is 422. How many items: at most 1,000 (maxItems), fewer when API_BATCH_ITEMS_MAX is lower, and never more than the caller's write budget can take at once, since a batch costs one write per item: the larger of API_RATE_WRITES_PER_S and API_RATE_WRITES_BURST - API_RATE_WRITES_PER_S + 1, both times API_RATE_ADMIN_FACTOR for a ledger:admin token. At the defaults that is 101 items for a non-admin and 1,000 for an admin. A batch over the bound is 400 VALIDATION_FAILED at `items`, its message naming the bound; one within it that the budget cannot take now is 429 RATE_LIMITED. The body may be up to API_BATCH_BODY_BYTES_MAX (1 MiB).
         */
        post: operations["postBatch"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/holds": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * An account's holds, newest first; pass next_cursor as cursor for the next page
         * @description Owner of the account or admin; 404 otherwise. Holds a worker has applied (HELD, CAPTURED, VOIDED, EXPIRED, REJECTED), ordered by (created_at, id); status filters them (status=HELD: the active ones).
         */
        get: operations["getHolds"];
        put?: never;
        /**
         * Reserve money on an account (owner or admin) until captured, voided or expired
         * @description available drops by amount while the hold is HELD; balance does not move. expires_in_s: 1..2592000, default 604800. Poll (or long-poll) the hold: ACCEPTED -> HELD | REJECTED (INSUFFICIENT_FUNDS, ACCOUNT_NOT_FOUND, CURRENCY_MISMATCH, ACCOUNT_FROZEN, ACCOUNT_CLOSED, FORBIDDEN, BALANCE_LIMIT_EXCEEDED, UNPROCESSABLE).
         */
        post: operations["postHolds"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/holds/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A hold; wait_ms holds the request while it is ACCEPTED (not applied yet), with until=ended also while it is HELD, or until the time is up */
        get: operations["getHoldsId"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/holds/{id}/capture": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Move (part of) a HELD hold to another account: a transfer of kind CAPTURE (owner of the held account or admin)
         * @description amount <= the hold (default: all of it); the rest is released and the hold ends CAPTURED. A hold already ended is a 409 at once, before to_account_id is looked at: HOLD_EXPIRED for an EXPIRED hold, HOLD_NOT_ACTIVE for a VOIDED, CAPTURED or REJECTED one; unless a capture was sent, or may have been (an ambiguous 503), under the same key: then the same body replays it or sends it again, and another body is 422 (after the 400s for an amount over the hold or to_account_id equal to the held account, checked before the key). A to_account_id that does not exist, is in another currency or is closed is a 400 while the hold may be HELD. A capture is in time when accepted before expires_at, however late it is applied; one sent at or after expires_at is a 409 HOLD_EXPIRED whether the expiry scan released the hold yet or not (one stamped at expires_at while checked a moment before ends REJECTED HOLD_EXPIRED); one that reaches the worker after a void or another capture ends REJECTED HOLD_NOT_ACTIVE.
         */
        post: operations["postHoldsIdCapture"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/holds/{id}/void": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Release a HELD hold (owner of the held account or admin); it ends VOIDED and available is restored
         * @description Idempotent by the hold's state (no Idempotency-Key needed): the answer is the hold as it is now; poll it for VOIDED, or for what won a race.
         */
        post: operations["postHoldsIdVoid"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Process alive */
        get: operations["getHealthz"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Kafka and Postgres answer; Redis reported but not required (operator network, or a ledger:admin token) */
        get: operations["getReadyz"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Prometheus metrics (operator network, or a ledger:admin token) */
        get: operations["getMetrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This document */
        get: operations["getOpenapiJson"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/docs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This document, rendered by swagger-ui */
        get: operations["getDocs"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/docs/assets/{file}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The files of swagger-ui that /docs loads */
        get: operations["getDocsAssetsFile"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        CreateAccount: {
            currency: string;
            /** @default 0 */
            overdraft_limit?: string;
            /**
             * @description Free-form, stored with the account: at most 64 keys in all (array items count) and 4096 bytes serialised, which JSON Schema cannot say
             * @default {}
             */
            metadata?: {
                [key: string]: string | number | boolean | null | (string | number | boolean | null | (string | number | boolean | null | (string | number | boolean | null)[] | {
                    [key: string]: string | number | boolean | null;
                })[] | {
                    [key: string]: string | number | boolean | null | (string | number | boolean | null)[] | {
                        [key: string]: string | number | boolean | null;
                    };
                })[] | {
                    [key: string]: string | number | boolean | null | (string | number | boolean | null | (string | number | boolean | null)[] | {
                        [key: string]: string | number | boolean | null;
                    })[] | {
                        [key: string]: string | number | boolean | null | (string | number | boolean | null)[] | {
                            [key: string]: string | number | boolean | null;
                        };
                    };
                };
            };
        };
        AccountChange: {
            /** @enum {string} */
            status?: "OPEN" | "FROZEN" | "CLOSED";
            overdraft_limit?: string;
        };
        TransferRequest: {
            /**
             * Format: uuid
             * @example 7f0c2a8e-3b1d-4c5e-9f6a-1b2c3d4e5f60
             */
            from_account_id: string;
            /**
             * Format: uuid
             * @description Must differ from from_account_id
             * @example 0e8d4f1a-6c2b-4a3d-8e5f-6a7b8c9d0e1f
             */
            to_account_id: string;
            amount: string;
            currency: string;
            description?: string;
        };
        MovementRequest: {
            /** Format: uuid */
            account_id: string;
            amount: string;
            currency: string;
            description?: string;
        };
        ReversalRequest: {
            amount?: string;
            description?: string;
        };
        BatchRequest: {
            /** @description At most the caller's write budget can take at once, which depends on the principal and the deployment: see POST /v1/batch */
            items: components["schemas"]["BatchItem"][];
        };
        BatchItem: {
            /** @constant */
            kind: "TRANSFER";
            /**
             * Format: uuid
             * @example 7f0c2a8e-3b1d-4c5e-9f6a-1b2c3d4e5f60
             */
            from_account_id: string;
            /**
             * Format: uuid
             * @description Must differ from from_account_id
             * @example 0e8d4f1a-6c2b-4a3d-8e5f-6a7b8c9d0e1f
             */
            to_account_id: string;
            amount: string;
            currency: string;
            description?: string;
        } | {
            /** @constant */
            kind: "DEPOSIT";
            /** Format: uuid */
            account_id: string;
            amount: string;
            currency: string;
            description?: string;
        } | {
            /** @constant */
            kind: "WITHDRAWAL";
            /** Format: uuid */
            account_id: string;
            amount: string;
            currency: string;
            description?: string;
        } | {
            /** @constant */
            kind: "HOLD";
            /** Format: uuid */
            account_id: string;
            amount: string;
            currency: string;
            /** @default 604800 */
            expires_in_s?: number;
            description?: string;
        };
        HoldRequest: {
            /** Format: uuid */
            account_id: string;
            amount: string;
            currency: string;
            /** @default 604800 */
            expires_in_s?: number;
            description?: string;
        };
        CaptureRequest: {
            /** Format: uuid */
            to_account_id: string;
            amount?: string;
        };
        VoidRequest: Record<string, never>;
        Account: {
            /** Format: uuid */
            id: string;
            owner: string;
            currency: string;
            /** @description How far below zero the balance may go; null for a system account (transit, external), which has no limit and only an admin can read */
            overdraft_limit: string | null;
            /** @enum {string} */
            status: "OPEN" | "FROZEN" | "CLOSED";
            metadata: {
                [key: string]: unknown;
            };
            created_at: string;
        };
        Error: {
            error: {
                /** @enum {string} */
                code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "MALFORMED_URL" | "BAD_REQUEST" | "TOKEN_MISSING" | "TOKEN_INVALID" | "TOKEN_EXPIRED" | "FORBIDDEN" | "NOT_FOUND" | "METHOD_NOT_ALLOWED" | "REQUEST_TIMEOUT" | "HEADERS_TOO_LARGE" | "ACCOUNT_QUOTA_EXCEEDED" | "ACCOUNT_NOT_EMPTY" | "OVERDRAFT_IN_USE" | "ACCOUNT_CLOSED" | "TRANSFER_NOT_REVERSIBLE" | "HOLD_NOT_ACTIVE" | "HOLD_EXPIRED" | "PRECONDITION_FAILED" | "PAYLOAD_TOO_LARGE" | "UNSUPPORTED_MEDIA_TYPE" | "EXPECTATION_FAILED" | "IDEMPOTENCY_KEY_REUSED" | "RATE_LIMITED" | "TOO_MANY_REQUESTS" | "BACKPRESSURE" | "DEPENDENCY_UNAVAILABLE" | "BUCKET_MOVING" | "INTERNAL";
                message: string;
                /** @description VALIDATION_FAILED: a list of {path, message}, at most 50 (the last then says how many more); 429 RATE_LIMITED: {kind} (read or write); 409 ACCOUNT_QUOTA_EXCEEDED: {accounts_max}; 503: {dependency}, or on /readyz {failed, checks} */
                details?: unknown;
            };
        };
        AccountsPage: {
            accounts: components["schemas"]["Account"][];
            next_cursor: string | null;
        };
        Balance: {
            /** Format: uuid */
            account_id: string;
            currency: string;
            balance: string;
            available: string;
            version: string;
            as_of: string;
        };
        BalanceAt: {
            /** Format: uuid */
            account_id: string;
            currency: string;
            balance: string;
            version: string;
            as_of: string;
        };
        EntriesPage: {
            entries: components["schemas"]["Entry"][];
            next_cursor: string | null;
        };
        Entry: {
            /** Format: uuid */
            transfer_id: string;
            amount: string;
            balance_after: string;
            seq: string;
            created_at: string;
        };
        Transfer: {
            /** Format: uuid */
            id: string;
            /** @enum {string} */
            kind: "TRANSFER" | "DEPOSIT" | "WITHDRAWAL" | "CAPTURE" | "REVERSAL";
            /** @enum {string} */
            status: "ACCEPTED" | "PROCESSING" | "COMPLETED" | "REJECTED";
            /** @enum {string} */
            reason?: "INSUFFICIENT_FUNDS" | "ACCOUNT_NOT_FOUND" | "DESTINATION_NOT_FOUND" | "CURRENCY_MISMATCH" | "ACCOUNT_CLOSED" | "FORBIDDEN" | "BALANCE_LIMIT_EXCEEDED" | "UNPROCESSABLE" | "ACCOUNT_FROZEN" | "HOLD_NOT_ACTIVE" | "HOLD_EXPIRED" | "CAPTURE_EXCEEDS_HOLD" | "REVERSAL_EXCEEDS_ORIGINAL" | "TRANSFER_NOT_REVERSIBLE";
            /** Format: uuid */
            from_account_id?: string;
            /** Format: uuid */
            to_account_id?: string;
            amount: string;
            currency: string;
            description?: string;
            created_at: string;
            completed_at?: string;
            /** Format: uuid */
            hold_id?: string;
            /** Format: uuid */
            reverses?: string;
            reversed_amount?: string;
        };
        TransfersPage: {
            transfers: components["schemas"]["Transfer"][];
            next_cursor: string | null;
        };
        BatchResult: {
            results: {
                index: number;
                status: number;
                /** @description A hold for a HOLD item, a transfer for the others */
                resource?: components["schemas"]["Transfer"] | components["schemas"]["Hold"];
                error?: {
                    /** @enum {string} */
                    code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "MALFORMED_URL" | "BAD_REQUEST" | "TOKEN_MISSING" | "TOKEN_INVALID" | "TOKEN_EXPIRED" | "FORBIDDEN" | "NOT_FOUND" | "METHOD_NOT_ALLOWED" | "REQUEST_TIMEOUT" | "HEADERS_TOO_LARGE" | "ACCOUNT_QUOTA_EXCEEDED" | "ACCOUNT_NOT_EMPTY" | "OVERDRAFT_IN_USE" | "ACCOUNT_CLOSED" | "TRANSFER_NOT_REVERSIBLE" | "HOLD_NOT_ACTIVE" | "HOLD_EXPIRED" | "PRECONDITION_FAILED" | "PAYLOAD_TOO_LARGE" | "UNSUPPORTED_MEDIA_TYPE" | "EXPECTATION_FAILED" | "IDEMPOTENCY_KEY_REUSED" | "RATE_LIMITED" | "TOO_MANY_REQUESTS" | "BACKPRESSURE" | "DEPENDENCY_UNAVAILABLE" | "BUCKET_MOVING" | "INTERNAL";
                    message: string;
                    /** @description VALIDATION_FAILED: a list of {path, message}, at most 50 (the last then says how many more); 429 RATE_LIMITED: {kind} (read or write); 409 ACCOUNT_QUOTA_EXCEEDED: {accounts_max}; 503: {dependency}, or on /readyz {failed, checks} */
                    details?: unknown;
                };
            }[];
        };
        Hold: {
            /** Format: uuid */
            id: string;
            /** Format: uuid */
            account_id: string;
            amount: string;
            captured_amount: string;
            currency: string;
            /** @enum {string} */
            status: "ACCEPTED" | "HELD" | "CAPTURED" | "VOIDED" | "EXPIRED" | "REJECTED";
            /** @enum {string} */
            reason?: "INSUFFICIENT_FUNDS" | "ACCOUNT_NOT_FOUND" | "DESTINATION_NOT_FOUND" | "CURRENCY_MISMATCH" | "ACCOUNT_CLOSED" | "FORBIDDEN" | "BALANCE_LIMIT_EXCEEDED" | "UNPROCESSABLE" | "ACCOUNT_FROZEN" | "HOLD_NOT_ACTIVE" | "HOLD_EXPIRED" | "CAPTURE_EXCEEDS_HOLD" | "REVERSAL_EXCEEDS_ORIGINAL" | "TRANSFER_NOT_REVERSIBLE";
            description?: string;
            expires_at: string;
            created_at: string;
            completed_at?: string;
        };
        HoldsPage: {
            holds: components["schemas"]["Hold"][];
            next_cursor: string | null;
        };
        Readiness: {
            /** @enum {string} */
            status: "ok" | "degraded";
            checks: {
                [key: string]: "ok" | "failing";
            };
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    getAccounts: {
        parameters: {
            query?: {
                /** @description Whose accounts: the token's subject when absent; another owner's needs ledger:admin */
                owner?: string;
                limit?: number;
                /** @description The next_cursor of the previous page */
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of accounts */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AccountsPage"];
                };
            };
            /** @description VALIDATION_FAILED (details list field paths), MALFORMED_JSON, or a missing/invalid Idempotency-Key */
            400: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED */
            401: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Bearer, or Bearer error="invalid_token" for an invalid or expired token */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description FORBIDDEN: the token lacks the scope, or the account is not yours */
            403: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description RATE_LIMITED: the principal is over its read or write budget (details.kind); TOO_MANY_REQUESTS: the in-flight cap or batch admission is full; BACKPRESSURE: the produce buffer is full. Each with Retry-After */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description DEPENDENCY_UNAVAILABLE or BUCKET_MOVING (Retry-After) */
            503: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postAccounts: {
        parameters: {
            query?: never;
            header: {
                /** @description The same key and body return the same resource */
                "Idempotency-Key": string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateAccount"];
            };
        };
        responses: {
            /** @description Replay of an earlier request with the same key and body */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description The resource's URL */
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Account"];
                };
            };
            /** @description Opened */
            201: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description The resource's URL */
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Account"];
                };
            };
            /** @description VALIDATION_FAILED (details list field paths), MALFORMED_JSON, or a missing/invalid Idempotency-Key */
            400: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED */
            401: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Bearer, or Bearer error="invalid_token" for an invalid or expired token */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description FORBIDDEN: the token lacks the scope, or the account is not yours */
            403: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request conflicts with the resource state */
            409: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description PAYLOAD_TOO_LARGE */
            413: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description UNSUPPORTED_MEDIA_TYPE: a body must be UTF-8 application/json */
            415: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description IDEMPOTENCY_KEY_REUSED: same key, different body, while the key is bound (docs/api.md, "Idempotency") */
            422: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description RATE_LIMITED: the principal is over its read or write budget (details.kind); TOO_MANY_REQUESTS: the in-flight cap or batch admission is full; BACKPRESSURE: the produce buffer is full. Each with Retry-After */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description DEPENDENCY_UNAVAILABLE or BUCKET_MOVING (Retry-After) */
            503: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getAccountsId: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The account */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Account"];
                };
            };
            /** @description VALIDATION_FAILED (details list field paths), MALFORMED_JSON, or a missing/invalid Idempotency-Key */
            400: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED */
            401: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Bearer, or Bearer error="invalid_token" for an invalid or expired token */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description FORBIDDEN: the token lacks the scope, or the account is not yours */
            403: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description NOT_FOUND (or not yours: existence does not leak) */
            404: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description RATE_LIMITED: the principal is over its read or write budget (details.kind); TOO_MANY_REQUESTS: the in-flight cap or batch admission is full; BACKPRESSURE: the produce buffer is full. Each with Retry-After */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description DEPENDENCY_UNAVAILABLE or BUCKET_MOVING (Retry-After) */
            503: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    patchAccountsId: {
        parameters: {
            query?: never;
            header: {
                /** @description The same key and body return the same resource */
                "Idempotency-Key": string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AccountChange"];
            };
        };
        responses: {
            /** @description Applied: the account as it is now */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description The resource's URL */
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Account"];
                };
            };
            /** @description Durable in Kafka, not applied yet: the account as it is now */
            202: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description The resource's URL */
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Account"];
                };
            };
            /** @description VALIDATION_FAILED (details list field paths), MALFORMED_JSON, or a missing/invalid Idempotency-Key */
            400: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED */
            401: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Bearer, or Bearer error="invalid_token" for an invalid or expired token */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description FORBIDDEN: the token lacks the scope, or the account is not yours */
            403: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description NOT_FOUND (or not yours: existence does not leak) */
            404: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request conflicts with the resource state */
            409: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description PAYLOAD_TOO_LARGE */
            413: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description UNSUPPORTED_MEDIA_TYPE: a body must be UTF-8 application/json */
            415: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description IDEMPOTENCY_KEY_REUSED: same key, different body, while the key is bound (docs/api.md, "Idempotency") */
            422: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description RATE_LIMITED: the principal is over its read or write budget (details.kind); TOO_MANY_REQUESTS: the in-flight cap or batch admission is full; BACKPRESSURE: the produce buffer is full. Each with Retry-After */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description DEPENDENCY_UNAVAILABLE or BUCKET_MOVING (Retry-After) */
            503: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getAccountsIdBalance: {
        parameters: {
            query?: {
                /** @description The balance as it stood at this instant (after the last entry created at or before it; an instant with fewer than 6 fractional digits includes the whole of its last digit, and is in the future until that digit has passed); not in the future */
                at?: string;
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The balance (Balance), or with `at` the balance then (BalanceAt) */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Balance"] | components["schemas"]["BalanceAt"];
                };
            };
            /** @description VALIDATION_FAILED (details list field paths), MALFORMED_JSON, or a missing/invalid Idempotency-Key */
            400: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED */
            401: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Bearer, or Bearer error="invalid_token" for an invalid or expired token */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description FORBIDDEN: the token lacks the scope, or the account is not yours */
            403: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description NOT_FOUND (or not yours: existence does not leak) */
            404: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description RATE_LIMITED: the principal is over its read or write budget (details.kind); TOO_MANY_REQUESTS: the in-flight cap or batch admission is full; BACKPRESSURE: the produce buffer is full. Each with Retry-After */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description DEPENDENCY_UNAVAILABLE or BUCKET_MOVING (Retry-After) */
            503: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getAccountsIdEntries: {
        parameters: {
            query?: {
                limit?: number;
                cursor?: string;
                /** @description Entries created at or after this instant */
                from?: string;
                /** @description Entries created before this instant (from..to is half-open) */
                to?: string;
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of entries */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EntriesPage"];
                };
            };
            /** @description VALIDATION_FAILED (details list field paths), MALFORMED_JSON, or a missing/invalid Idempotency-Key */
            400: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED */
            401: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Bearer, or Bearer error="invalid_token" for an invalid or expired token */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description FORBIDDEN: the token lacks the scope, or the account is not yours */
            403: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description NOT_FOUND (or not yours: existence does not leak) */
            404: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description RATE_LIMITED: the principal is over its read or write budget (details.kind); TOO_MANY_REQUESTS: the in-flight cap or batch admission is full; BACKPRESSURE: the produce buffer is full. Each with Retry-After */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description DEPENDENCY_UNAVAILABLE or BUCKET_MOVING (Retry-After) */
            503: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getTransfers: {
        parameters: {
            query: {
                account_id: string;
                status?: "PROCESSING" | "COMPLETED" | "REJECTED";
                kind?: "TRANSFER" | "DEPOSIT" | "WITHDRAWAL" | "CAPTURE" | "REVERSAL";
                limit?: number;
                /** @description The next_cursor of the previous page */
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of movements */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TransfersPage"];
                };
            };
            /** @description VALIDATION_FAILED (details list field paths), MALFORMED_JSON, or a missing/invalid Idempotency-Key */
            400: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED */
            401: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Bearer, or Bearer error="invalid_token" for an invalid or expired token */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description FORBIDDEN: the token lacks the scope, or the account is not yours */
            403: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description NOT_FOUND (or not yours: existence does not leak) */
            404: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description RATE_LIMITED: the principal is over its read or write budget (details.kind); TOO_MANY_REQUESTS: the in-flight cap or batch admission is full; BACKPRESSURE: the produce buffer is full. Each with Retry-After */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description DEPENDENCY_UNAVAILABLE or BUCKET_MOVING (Retry-After) */
            503: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postTransfers: {
        parameters: {
            query?: never;
            header: {
                /** @description The same key and body return the same resource */
                "Idempotency-Key": string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["TransferRequest"];
            };
        };
        responses: {
            /** @description Replay of an earlier request with the same key and body: its current resource */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description The resource's URL */
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Transfer"];
                };
            };
            /** @description Durable in Kafka; poll Location for the outcome */
            202: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description The resource's URL */
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Transfer"];
                };
            };
            /** @description VALIDATION_FAILED (details list field paths), MALFORMED_JSON, or a missing/invalid Idempotency-Key */
            400: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED */
            401: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Bearer, or Bearer error="invalid_token" for an invalid or expired token */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description FORBIDDEN: the token lacks the scope, or the account is not yours */
            403: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description PAYLOAD_TOO_LARGE */
            413: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description UNSUPPORTED_MEDIA_TYPE: a body must be UTF-8 application/json */
            415: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description IDEMPOTENCY_KEY_REUSED: same key, different body, while the key is bound (docs/api.md, "Idempotency") */
            422: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description RATE_LIMITED: the principal is over its read or write budget (details.kind); TOO_MANY_REQUESTS: the in-flight cap or batch admission is full; BACKPRESSURE: the produce buffer is full. Each with Retry-After */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description DEPENDENCY_UNAVAILABLE or BUCKET_MOVING (Retry-After) */
            503: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postDeposits: {
        parameters: {
            query?: never;
            header: {
                /** @description The same key and body return the same resource */
                "Idempotency-Key": string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["MovementRequest"];
            };
        };
        responses: {
            /** @description Replay of an earlier request with the same key and body: its current resource */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description The resource's URL */
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Transfer"];
                };
            };
            /** @description Durable in Kafka; poll Location for the outcome */
            202: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description The resource's URL */
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Transfer"];
                };
            };
            /** @description VALIDATION_FAILED (details list field paths), MALFORMED_JSON, or a missing/invalid Idempotency-Key */
            400: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED */
            401: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Bearer, or Bearer error="invalid_token" for an invalid or expired token */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description FORBIDDEN: the token lacks the scope, or the account is not yours */
            403: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description PAYLOAD_TOO_LARGE */
            413: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description UNSUPPORTED_MEDIA_TYPE: a body must be UTF-8 application/json */
            415: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description IDEMPOTENCY_KEY_REUSED: same key, different body, while the key is bound (docs/api.md, "Idempotency") */
            422: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description RATE_LIMITED: the principal is over its read or write budget (details.kind); TOO_MANY_REQUESTS: the in-flight cap or batch admission is full; BACKPRESSURE: the produce buffer is full. Each with Retry-After */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description DEPENDENCY_UNAVAILABLE or BUCKET_MOVING (Retry-After) */
            503: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postWithdrawals: {
        parameters: {
            query?: never;
            header: {
                /** @description The same key and body return the same resource */
                "Idempotency-Key": string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["MovementRequest"];
            };
        };
        responses: {
            /** @description Replay of an earlier request with the same key and body: its current resource */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description The resource's URL */
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Transfer"];
                };
            };
            /** @description Durable in Kafka; poll Location for the outcome */
            202: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description The resource's URL */
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Transfer"];
                };
            };
            /** @description VALIDATION_FAILED (details list field paths), MALFORMED_JSON, or a missing/invalid Idempotency-Key */
            400: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED */
            401: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Bearer, or Bearer error="invalid_token" for an invalid or expired token */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description FORBIDDEN: the token lacks the scope, or the account is not yours */
            403: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description PAYLOAD_TOO_LARGE */
            413: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description UNSUPPORTED_MEDIA_TYPE: a body must be UTF-8 application/json */
            415: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description IDEMPOTENCY_KEY_REUSED: same key, different body, while the key is bound (docs/api.md, "Idempotency") */
            422: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description RATE_LIMITED: the principal is over its read or write budget (details.kind); TOO_MANY_REQUESTS: the in-flight cap or batch admission is full; BACKPRESSURE: the produce buffer is full. Each with Retry-After */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description DEPENDENCY_UNAVAILABLE or BUCKET_MOVING (Retry-After) */
            503: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postTransfersIdReversals: {
        parameters: {
            query?: never;
            header: {
                /** @description The same key and body return the same resource */
                "Idempotency-Key": string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["ReversalRequest"];
            };
        };
        responses: {
            /** @description Replay of an earlier request with the same key and body: its current resource */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description The resource's URL */
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Transfer"];
                };
            };
            /** @description Durable in Kafka; poll Location for the outcome */
            202: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description The resource's URL */
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Transfer"];
                };
            };
            /** @description VALIDATION_FAILED (details list field paths), MALFORMED_JSON, or a missing/invalid Idempotency-Key */
            400: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED */
            401: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Bearer, or Bearer error="invalid_token" for an invalid or expired token */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description FORBIDDEN: the token lacks the scope, or the account is not yours */
            403: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description NOT_FOUND (or not yours: existence does not leak) */
            404: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request conflicts with the resource state */
            409: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description PAYLOAD_TOO_LARGE */
            413: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description UNSUPPORTED_MEDIA_TYPE: a body must be UTF-8 application/json */
            415: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description IDEMPOTENCY_KEY_REUSED: same key, different body, while the key is bound (docs/api.md, "Idempotency") */
            422: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description RATE_LIMITED: the principal is over its read or write budget (details.kind); TOO_MANY_REQUESTS: the in-flight cap or batch admission is full; BACKPRESSURE: the produce buffer is full. Each with Retry-After */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description DEPENDENCY_UNAVAILABLE or BUCKET_MOVING (Retry-After) */
            503: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getTransfersId: {
        parameters: {
            query?: {
                wait_ms?: number;
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The transfer */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Transfer"];
                };
            };
            /** @description VALIDATION_FAILED (details list field paths), MALFORMED_JSON, or a missing/invalid Idempotency-Key */
            400: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED */
            401: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Bearer, or Bearer error="invalid_token" for an invalid or expired token */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description FORBIDDEN: the token lacks the scope, or the account is not yours */
            403: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description NOT_FOUND (or not yours: existence does not leak) */
            404: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description RATE_LIMITED: the principal is over its read or write budget (details.kind); TOO_MANY_REQUESTS: the in-flight cap or batch admission is full; BACKPRESSURE: the produce buffer is full. Each with Retry-After */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description DEPENDENCY_UNAVAILABLE or BUCKET_MOVING (Retry-After) */
            503: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postBatch: {
        parameters: {
            query?: never;
            header: {
                /** @description The same key and body return the same resource */
                "Idempotency-Key": string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["BatchRequest"];
            };
        };
        responses: {
            /** @description One result per item, in item order */
            202: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BatchResult"];
                };
            };
            /** @description VALIDATION_FAILED (details list field paths), MALFORMED_JSON, or a missing/invalid Idempotency-Key */
            400: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED */
            401: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Bearer, or Bearer error="invalid_token" for an invalid or expired token */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description FORBIDDEN: the token lacks the scope, or the account is not yours */
            403: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description PAYLOAD_TOO_LARGE */
            413: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description UNSUPPORTED_MEDIA_TYPE: a body must be UTF-8 application/json */
            415: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description IDEMPOTENCY_KEY_REUSED: same key, different body, while the key is bound (docs/api.md, "Idempotency") */
            422: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description RATE_LIMITED: the principal is over its read or write budget (details.kind); TOO_MANY_REQUESTS: the in-flight cap or batch admission is full; BACKPRESSURE: the produce buffer is full. Each with Retry-After */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description DEPENDENCY_UNAVAILABLE or BUCKET_MOVING (Retry-After) */
            503: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getHolds: {
        parameters: {
            query: {
                account_id: string;
                status?: "HELD" | "CAPTURED" | "VOIDED" | "EXPIRED" | "REJECTED";
                limit?: number;
                /** @description The next_cursor of the previous page */
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of holds */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HoldsPage"];
                };
            };
            /** @description VALIDATION_FAILED (details list field paths), MALFORMED_JSON, or a missing/invalid Idempotency-Key */
            400: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED */
            401: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Bearer, or Bearer error="invalid_token" for an invalid or expired token */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description FORBIDDEN: the token lacks the scope, or the account is not yours */
            403: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description NOT_FOUND (or not yours: existence does not leak) */
            404: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description RATE_LIMITED: the principal is over its read or write budget (details.kind); TOO_MANY_REQUESTS: the in-flight cap or batch admission is full; BACKPRESSURE: the produce buffer is full. Each with Retry-After */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description DEPENDENCY_UNAVAILABLE or BUCKET_MOVING (Retry-After) */
            503: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postHolds: {
        parameters: {
            query?: never;
            header: {
                /** @description The same key and body return the same resource */
                "Idempotency-Key": string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["HoldRequest"];
            };
        };
        responses: {
            /** @description Replay of an earlier request with the same key and body: its current resource */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description The resource's URL */
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Hold"];
                };
            };
            /** @description Durable in Kafka; poll Location for HELD or REJECTED */
            202: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description The resource's URL */
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Hold"];
                };
            };
            /** @description VALIDATION_FAILED (details list field paths), MALFORMED_JSON, or a missing/invalid Idempotency-Key */
            400: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED */
            401: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Bearer, or Bearer error="invalid_token" for an invalid or expired token */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description FORBIDDEN: the token lacks the scope, or the account is not yours */
            403: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description PAYLOAD_TOO_LARGE */
            413: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description UNSUPPORTED_MEDIA_TYPE: a body must be UTF-8 application/json */
            415: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description IDEMPOTENCY_KEY_REUSED: same key, different body, while the key is bound (docs/api.md, "Idempotency") */
            422: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description RATE_LIMITED: the principal is over its read or write budget (details.kind); TOO_MANY_REQUESTS: the in-flight cap or batch admission is full; BACKPRESSURE: the produce buffer is full. Each with Retry-After */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description DEPENDENCY_UNAVAILABLE or BUCKET_MOVING (Retry-After) */
            503: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getHoldsId: {
        parameters: {
            query?: {
                wait_ms?: number;
                /** @description What wait_ms waits for: `applied` (the default), while the hold is ACCEPTED; `ended`, while it is ACCEPTED or HELD (until a capture, void or expiry ends it) */
                until?: "applied" | "ended";
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The hold */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Hold"];
                };
            };
            /** @description VALIDATION_FAILED (details list field paths), MALFORMED_JSON, or a missing/invalid Idempotency-Key */
            400: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED */
            401: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Bearer, or Bearer error="invalid_token" for an invalid or expired token */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description FORBIDDEN: the token lacks the scope, or the account is not yours */
            403: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description NOT_FOUND (or not yours: existence does not leak) */
            404: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description RATE_LIMITED: the principal is over its read or write budget (details.kind); TOO_MANY_REQUESTS: the in-flight cap or batch admission is full; BACKPRESSURE: the produce buffer is full. Each with Retry-After */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description DEPENDENCY_UNAVAILABLE or BUCKET_MOVING (Retry-After) */
            503: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postHoldsIdCapture: {
        parameters: {
            query?: never;
            header: {
                /** @description The same key and body return the same resource */
                "Idempotency-Key": string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CaptureRequest"];
            };
        };
        responses: {
            /** @description Replay of an earlier request with the same key and body: its current resource */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description The resource's URL */
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Transfer"];
                };
            };
            /** @description Durable in Kafka; poll Location (the transfer) for the outcome */
            202: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description The resource's URL */
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Transfer"];
                };
            };
            /** @description VALIDATION_FAILED (details list field paths), MALFORMED_JSON, or a missing/invalid Idempotency-Key */
            400: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED */
            401: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Bearer, or Bearer error="invalid_token" for an invalid or expired token */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description FORBIDDEN: the token lacks the scope, or the account is not yours */
            403: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description NOT_FOUND (or not yours: existence does not leak) */
            404: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request conflicts with the resource state */
            409: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description PAYLOAD_TOO_LARGE */
            413: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description UNSUPPORTED_MEDIA_TYPE: a body must be UTF-8 application/json */
            415: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description IDEMPOTENCY_KEY_REUSED: same key, different body, while the key is bound (docs/api.md, "Idempotency") */
            422: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description RATE_LIMITED: the principal is over its read or write budget (details.kind); TOO_MANY_REQUESTS: the in-flight cap or batch admission is full; BACKPRESSURE: the produce buffer is full. Each with Retry-After */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description DEPENDENCY_UNAVAILABLE or BUCKET_MOVING (Retry-After) */
            503: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    postHoldsIdVoid: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["VoidRequest"];
            };
        };
        responses: {
            /** @description Durable in Kafka; poll Location (the hold) */
            202: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description The resource's URL */
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Hold"];
                };
            };
            /** @description VALIDATION_FAILED (details list field paths), MALFORMED_JSON, or a missing/invalid Idempotency-Key */
            400: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED */
            401: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Bearer, or Bearer error="invalid_token" for an invalid or expired token */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description FORBIDDEN: the token lacks the scope, or the account is not yours */
            403: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description NOT_FOUND (or not yours: existence does not leak) */
            404: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description PAYLOAD_TOO_LARGE */
            413: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description UNSUPPORTED_MEDIA_TYPE: a body must be UTF-8 application/json */
            415: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description RATE_LIMITED: the principal is over its read or write budget (details.kind); TOO_MANY_REQUESTS: the in-flight cap or batch admission is full; BACKPRESSURE: the produce buffer is full. Each with Retry-After */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description DEPENDENCY_UNAVAILABLE or BUCKET_MOVING (Retry-After) */
            503: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getHealthz: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Alive */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @constant */
                        status: "ok";
                    };
                };
            };
        };
    };
    getReadyz: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ready: `ok`, or `degraded` when only Redis is failing */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Readiness"];
                };
            };
            /** @description TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED */
            401: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Bearer, or Bearer error="invalid_token" for an invalid or expired token */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description FORBIDDEN: the token lacks the scope, or the account is not yours */
            403: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description TOO_MANY_REQUESTS: the in-flight cap is full (Retry-After) */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A dependency is failing (details name it, ok/failing only; Retry-After) */
            503: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getMetrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Prometheus text format */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            /** @description TOKEN_MISSING, TOKEN_INVALID or TOKEN_EXPIRED */
            401: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Bearer, or Bearer error="invalid_token" for an invalid or expired token */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description FORBIDDEN: the token lacks the scope, or the account is not yours */
            403: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description TOO_MANY_REQUESTS: the in-flight cap is full (Retry-After) */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getOpenapiJson: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OpenAPI 3.1 */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description TOO_MANY_REQUESTS: the in-flight cap is full (Retry-After) */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getDocs: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description HTML */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description TOO_MANY_REQUESTS: the in-flight cap is full (Retry-After) */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getDocsAssetsFile: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                file: "swagger-ui.css" | "swagger-ui-bundle.js" | "swagger-ui-standalone-preset.js" | "favicon-32x32.png";
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A stylesheet, script or icon (Cache-Control: public, max-age=86400; Last-Modified) */
            200: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "text/css": string;
                    "text/javascript": string;
                    "application/javascript": unknown;
                    "image/png": unknown;
                };
            };
            /** @description Not Modified: the If-Modified-Since sent holds (no body) */
            304: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description VALIDATION_FAILED (details list field paths), MALFORMED_JSON, or a missing/invalid Idempotency-Key */
            400: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description NOT_FOUND (or not yours: existence does not leak) */
            404: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description PRECONDITION_FAILED: If-Match or If-Unmodified-Since does not hold for the file */
            412: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description TOO_MANY_REQUESTS: the in-flight cap is full (Retry-After) */
            429: {
                headers: {
                    /** @description The caller's X-Request-Id when it sent a short printable one, else a fresh UUID */
                    "X-Request-Id"?: string;
                    /** @description Seconds to wait before retrying */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
}
