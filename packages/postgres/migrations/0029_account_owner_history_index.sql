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
CREATE INDEX IF NOT EXISTS accounts_owner_history_idx ON accounts (owner, created_at, id);
DROP INDEX IF EXISTS accounts_owner_idx;
