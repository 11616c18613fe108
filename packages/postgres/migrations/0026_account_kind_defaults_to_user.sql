-- An account's kind defaults to USER, so that the API role opens accounts without naming it.
--
-- privileges.sql granted the API role INSERT on accounts with the kind column in its list:
-- the application writes 'USER', but the role itself could open an EXTERNAL or a TRANSIT
-- account (overdraft_limit NULL: no floor at all), owned by any principal, under any id,
-- the id of a system account the worker has not created yet included (an outside security
-- review). The API role's grant now leaves kind out, and the column's default is what it
-- writes; the worker's ledger_apply_batch names the kind of each system account it creates.
ALTER TABLE accounts ALTER COLUMN kind SET DEFAULT 'USER';
