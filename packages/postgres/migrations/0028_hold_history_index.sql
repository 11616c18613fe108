-- An account's holds, newest first (GET /v1/holds?account_id=...): one ordered descent per
-- status, merged, as the transfers' history indexes of 0008 serve GET /v1/transfers.
--
-- It replaces holds_account_idx (account_id, HELD holds only), which no query read: the
-- active holds of an account are its prefix (account_id, 'HELD').
--
-- A plain CREATE INDEX blocks writes to holds while it builds. On a large live table build
-- it first, outside the migration, and this one finds it (README, Upgrading):
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS holds_account_history_idx ON holds (account_id, status, created_at, id);
--
-- A CONCURRENTLY build that failed (cancelled, timed out, its session lost) or is still
-- running leaves an INVALID index of that name, which IF NOT EXISTS takes as built: GET
-- /v1/holds would then read every hold of the account. Refused instead, as 0029 does.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass('holds_account_history_idx') AND NOT indisvalid) THEN
    RAISE EXCEPTION 'holds_account_history_idx exists but is INVALID (a CREATE INDEX CONCURRENTLY that failed, or one still running): once no build runs, DROP INDEX CONCURRENTLY holds_account_history_idx, build it again as migration 0028 says, then migrate';
  END IF;
END $$;
CREATE INDEX IF NOT EXISTS holds_account_history_idx ON holds (account_id, status, created_at, id);
DROP INDEX IF EXISTS holds_account_idx;
