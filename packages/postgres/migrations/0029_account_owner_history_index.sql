-- An owner's accounts, newest first (GET /v1/accounts): one ordered descent of
-- (owner, created_at, id), as the history indexes serve GET /v1/transfers and GET /v1/holds.
--
-- It replaces accounts_owner_idx (owner), whose readers (the quota count of
-- insertUserAccountWithinQuota, owner = $1 LIMIT n, and the system accounts' listing) read
-- the new index's prefix. Neither column changes after the insert, so balance updates stay
-- HOT.
--
-- A plain CREATE INDEX blocks writes to accounts (every balance update) while it builds. On
-- a large live table build it first, outside the migration, and this one finds it (README,
-- Upgrading):
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_owner_history_idx ON accounts (owner, created_at, id);
--
-- A CONCURRENTLY build that failed (cancelled, timed out, its session lost) or is still
-- running leaves an INVALID index of that name, which IF NOT EXISTS takes as built: the
-- old index would then be dropped with no usable one left (the quota count of every
-- POST /v1/accounts would read the whole table). Refused instead, saying what to do; a
-- plain build here would block the balance updates the pre-build was meant to spare.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass('accounts_owner_history_idx') AND NOT indisvalid) THEN
    RAISE EXCEPTION 'accounts_owner_history_idx exists but is INVALID (a CREATE INDEX CONCURRENTLY that failed, or one still running): once no build runs, DROP INDEX CONCURRENTLY accounts_owner_history_idx, build it again as migration 0029 says, then migrate';
  END IF;
END $$;
CREATE INDEX IF NOT EXISTS accounts_owner_history_idx ON accounts (owner, created_at, id);
DROP INDEX IF EXISTS accounts_owner_idx;
