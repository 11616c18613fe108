-- Every entry is in its account's currency, checked by the database itself: the statement
-- trigger of 0013 that refuses an entry for an account that does not exist now also refuses an
-- entry whose currency is not its account's, with the same single probe by key per distinct
-- account of the statement (an outside review of the database core: a batch of two balanced
-- transfers, one crediting a EUR account with USD entries and one crediting a USD account with
-- EUR entries, was accepted; every currency still summed to zero, and dollars had become euros
-- at 1:1). The in-memory apply never builds such an entry (it refuses CURRENCY_MISMATCH); this
-- keeps a bug's batch out of the ledger, and reconcile reports one written before
-- (`entry-currencies`). 23514 (check_violation): the worker isolates the command as a
-- deterministic failure, as it does 23503.
CREATE OR REPLACE FUNCTION ledger_entries_name_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  wrong record;
BEGIN
  SELECT e.account_id, e.currency, a.currency AS account_currency INTO wrong
    FROM (SELECT DISTINCT account_id, currency FROM inserted) AS e
    LEFT JOIN accounts a ON a.id = e.account_id
   WHERE a.id IS NULL OR a.currency <> e.currency
   LIMIT 1;
  IF wrong.account_id IS NULL THEN
    RETURN NULL;
  END IF;
  IF wrong.account_currency IS NULL THEN
    RAISE EXCEPTION 'an entry names account %, which does not exist', wrong.account_id
      USING ERRCODE = '23503';
  END IF;
  RAISE EXCEPTION 'an entry in % names account %, which is in %', wrong.currency, wrong.account_id, wrong.account_currency
    USING ERRCODE = '23514';
END;
$$;
