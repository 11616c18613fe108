-- Every entry names an existing account: checked once per statement instead of once per row
-- (loadtest/README.md, "The hot partition's chain, and the entries' account check").
--
-- The foreign key entries.account_id -> accounts(id) ran, for every entry row, a
-- `SELECT 1 FROM accounts ... FOR KEY SHARE` through the SPI, and the first one of each
-- account in a batch locked the row, which writes WAL of its own (`accounts Heap/LOCK`, ~150
-- bytes per transfer). auto_explain on the hot drain put those checks at ~40% of the entries
-- INSERT of a 2,000-transfer batch, on the one backend that a hot account's partition writes
-- with, serially.
--
-- The guarantee stays, in two parts that together are what the foreign key gave:
--   * at insert: a statement trigger on entries refuses any INSERT (ledger_apply_batch's, or
--     anyone's) with an entry for an account that does not exist, with the foreign key's own
--     SQLSTATE (23503), so the worker isolates the command that caused it exactly as before.
--     It reads the statement's rows once (a transition table) and probes each distinct
--     account by key, without a lock;
--   * afterwards: accounts are never deleted nor truncated (a trigger refuses both, for every
--     role, the owner included); an account ends its life CLOSED. The foreign key's row lock
--     only ever guarded against a concurrent DELETE, which can no longer happen.
ALTER TABLE entries DROP CONSTRAINT IF EXISTS entries_account_id_fkey;

CREATE FUNCTION ledger_entries_name_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  missing uuid;
BEGIN
  SELECT e.account_id INTO missing
    FROM (SELECT DISTINCT account_id FROM inserted) AS e
   WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = e.account_id)
   LIMIT 1;
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'an entry names account %, which does not exist', missing
      USING ERRCODE = '23503';
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER entries_name_accounts AFTER INSERT ON entries
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_name_accounts();

CREATE FUNCTION ledger_refuse_account_removal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'accounts are never removed (entries name them); close the account instead: % refused', TG_OP
    USING ERRCODE = '23001';
END;
$$;

CREATE TRIGGER accounts_never_deleted BEFORE DELETE ON accounts
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_account_removal();
CREATE TRIGGER accounts_no_truncate BEFORE TRUNCATE ON accounts
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_account_removal();
