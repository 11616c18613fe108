-- An account's holds, newest first (GET /v1/holds?account_id=...): one ordered descent per
-- status, merged, as the transfers' history indexes of 0008 serve GET /v1/transfers.
--
-- It replaces holds_account_idx (account_id, HELD holds only), which no query read: the
-- active holds of an account are its prefix (account_id, 'HELD').
--
-- A plain CREATE INDEX blocks writes to holds while it builds. On a large live table build
-- it first, outside the migration, and this one finds it (README, Upgrading):
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS holds_account_history_idx ON holds (account_id, status, created_at, id);
CREATE INDEX IF NOT EXISTS holds_account_history_idx ON holds (account_id, status, created_at, id);
DROP INDEX IF EXISTS holds_account_idx;
