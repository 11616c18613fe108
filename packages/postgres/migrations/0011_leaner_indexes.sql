-- Smaller indexes (loadtest/README.md, "Writes per cross-partition transfer").
--
-- entries_transfer_idx: two index entries per transfer (~330 WAL bytes) for reads that do not
-- need it. Nothing on the live path looks entries up by transfer: the API's history and
-- point-in-time reads go by account (the primary key and entries_account_created_idx of
-- 0008). Reconcile reads every entry anyway and joins by hash; the checks that name a few
-- transfers (tests, the chaos proof) scan once. scripts/history-explain.ts shows the plans.
DROP INDEX IF EXISTS entries_transfer_idx;

-- idempotency_keys_created_idx: a B-tree entry per claim for a column no query filters on
-- but a future time-range cleanup. Claims arrive in time order, so a BRIN index (a summary
-- per range of pages, written when a range is summarised, not per row) serves that as well.
DROP INDEX IF EXISTS idempotency_keys_created_idx;
CREATE INDEX idempotency_keys_created_brin ON idempotency_keys USING brin (created_at);
