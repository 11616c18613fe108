-- Indexes for the read side of issue "batch, history, point in time" (GET /v1/transfers,
-- GET /v1/accounts/{id}/balance?at=, entries from/to). Chosen from EXPLAIN (ANALYZE) on a
-- ledger of a million entries: scripts/history-explain.ts builds one and prints the plans.
--
-- IF NOT EXISTS: on a large live ledger an operator may build them first with
-- CREATE INDEX CONCURRENTLY under these names (this migration runs in a transaction,
-- where CONCURRENTLY is not allowed, and a plain CREATE INDEX blocks writes while it runs).

-- Point in time: the last entry of an account created at or before an instant is one
-- descent to (account_id, at) and one step back. Also serves the entries from/to window.
CREATE INDEX IF NOT EXISTS entries_account_created_idx ON entries (account_id, created_at, seq);

-- History: the movements of an account as source and as destination. The page merges one
-- ordered range per (side, status, kind), so a filter on a rare status or kind reads only
-- matching rows. Partial: deposits have no source and withdrawals no destination.
CREATE INDEX IF NOT EXISTS transfers_from_history_idx ON transfers (from_account_id, status, kind, created_at, id)
  WHERE from_account_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS transfers_to_history_idx ON transfers (to_account_id, status, kind, created_at, id)
  WHERE to_account_id IS NOT NULL;
