-- What has ended stays ended, checked by the database itself for every role but the owner: a
-- COMPLETED or REJECTED transfer is never updated again, a hold that is no longer HELD never
-- changes, and a CLOSED account never opens again. ledger_apply_batch never does any of these
-- (it updates a transfer only while PROCESSING, a hold only while HELD, and a closed account
-- refuses every change); a buggy or forged worker could, with the columns its role may update
-- (privileges.sql). An outside audit showed, reading the code, that a VOIDED hold brought back
-- to HELD with the account's `held` raised to match passes reconcile: each row agrees with the
-- others, only their history says otherwise.
--
-- The trigger's WHEN decides in the executor, so a row the guard does not concern (every live
-- write: a PROCESSING transfer's end, a HELD hold's, any account's balance) runs no function.
-- The owner (migrations, ledgerctl, a repair made knowingly) is left out: `SET ROLE
-- ledgerline_owner` first. 23514 (check_violation): the worker isolates the command as a
-- deterministic failure, as it does for the entries' guards.
CREATE OR REPLACE FUNCTION ledger_refuse_ended_row_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% % has ended (%): it does not change again', TG_ARGV[0], OLD.id, OLD.status
    USING ERRCODE = '23514';
END;
$$;

CREATE OR REPLACE TRIGGER transfers_ended_stay_ended
  BEFORE UPDATE ON transfers
  FOR EACH ROW
  WHEN (OLD.status IN ('COMPLETED', 'REJECTED') AND current_user <> 'ledgerline_owner')
  EXECUTE FUNCTION ledger_refuse_ended_row_change('transfer');

CREATE OR REPLACE TRIGGER holds_ended_stay_ended
  BEFORE UPDATE ON holds
  FOR EACH ROW
  WHEN (OLD.status <> 'HELD' AND current_user <> 'ledgerline_owner')
  EXECUTE FUNCTION ledger_refuse_ended_row_change('hold');

CREATE OR REPLACE TRIGGER accounts_closed_stay_closed
  BEFORE UPDATE ON accounts
  FOR EACH ROW
  WHEN (OLD.status = 'CLOSED' AND NEW.status IS DISTINCT FROM 'CLOSED' AND current_user <> 'ledgerline_owner')
  EXECUTE FUNCTION ledger_refuse_ended_row_change('account');
