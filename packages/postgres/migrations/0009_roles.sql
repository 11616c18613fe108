-- Least privilege: the three roles the processes log in as. Roles belong to the cluster, not
-- to this database, so they are created only when missing; a DBA may create them first
-- (with their passwords) and run the migrations as ledgerline_owner without CREATEROLE.
-- Created here without a password: nobody can log in as one until a password is set
-- (infra/local/stack.sh sets the local ones; production sets its own).
--
--   ledgerline_owner   owns the schema and every object in it; runs the migrations
--                      (ledgerctl migrate) and the bucket moves (ledgerctl buckets move,
--                      partitions add, rebalance --apply). No app connects as it.
--   ledgerline_worker  the partition workers: writes the ledger (through
--                      ledger_apply_batch), never UPDATEs, DELETEs or TRUNCATEs an entry
--   ledgerline_api     the internet-facing ingest API: reads; writes only what it writes
--                      itself (a new account's row, idempotency claims, its routing_observers
--                      row); never an entry, a transfer or a balance
--
-- What each may do is NOT granted here: privileges.sql (beside this file) states all of it
-- and runs at the end of every migrate, so tables added by later migrations get their grants
-- without anyone remembering a GRANT. Read it before adding a table.
DO $$
DECLARE
  role text;
BEGIN
  FOREACH role IN ARRAY ARRAY['ledgerline_owner', 'ledgerline_worker', 'ledgerline_api'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role) THEN
      EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', role);
    END IF;
  END LOOP;
END
$$;
