-- Who may do what: the ONE place that says it. Not a numbered migration: migrate() runs this
-- file at the end of every run (after the last migration, in one transaction, under the
-- migration lock), so it is re-applied whenever the schema changes and always describes the
-- schema as it is now. Every statement is idempotent.
--
-- HOW A NEW TABLE GETS ITS GRANTS (read this when you add one in a migration):
--   - it is handed to ledgerline_owner and both app roles can SELECT it: nothing to do;
--   - the worker may INSERT and UPDATE every table by default (it is the ledger's writer,
--     so new ledger tables written from ledger_apply_batch work at once); if yours is
--     append-only like `entries`, add it to the worker's REVOKE list below; if the worker
--     must DELETE from it, add it to the worker's DELETE list;
--   - the API may write nothing by default: if it really writes your table itself, add a
--     GRANT for exactly the columns and operations it needs, in the API section.
--   Then run the suite: test/roles.int.test.ts checks the API and worker bounds.
--
-- The roles are created by 0009_roles.sql. ALTER DEFAULT PRIVILEGES below gives tables that
-- ledgerline_owner creates their SELECT (and the worker's INSERT/UPDATE) at creation, so even
-- a migration run by an older binary leaves the apps able to read.

DO $$
DECLARE
  stmt text;
  is_super boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
BEGIN
  -- Ownership: everything in the schema belongs to ledgerline_owner (the app roles own
  -- nothing, so they can drop, alter or disable nothing, not even the entries trigger).
  -- Objects a superuser created (the test template, an older deployment) are handed over;
  -- anyone else gets an error naming the object instead of a silently unowned table.
  IF (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'public') <> 'ledgerline_owner' THEN
    ALTER SCHEMA public OWNER TO ledgerline_owner;
  END IF;
  FOR stmt IN
    SELECT format('ALTER %s %s OWNER TO ledgerline_owner',
                  CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                  c.oid::regclass)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
       AND c.relowner <> 'ledgerline_owner'::regrole
       -- extension members (pg_stat_statements) stay theirs; owned sequences follow their table
       AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i'))
    UNION ALL
    SELECT format('ALTER ROUTINE %s OWNER TO ledgerline_owner', p.oid::regprocedure)
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'public' AND p.proowner <> 'ledgerline_owner'::regrole
       AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
  LOOP
    IF NOT is_super AND current_user <> 'ledgerline_owner' THEN
      RAISE EXCEPTION 'privileges: % cannot run as %: run the migrations as ledgerline_owner (or once as a superuser)', stmt, current_user;
    END IF;
    BEGIN
      EXECUTE stmt;
    EXCEPTION WHEN insufficient_privilege THEN
      -- An object someone else created in the schema (a DBA's helper function, a trigger):
      -- ledgerline_owner cannot take it over, and a bare "must be owner of" names no way out.
      RAISE EXCEPTION 'privileges: % failed as %: % (everything in schema public must belong to ledgerline_owner: have a superuser or the object''s owner run that statement, or drop the object, then migrate again)',
        stmt, current_user, SQLERRM USING ERRCODE = 'insufficient_privilege';
    END;
  END LOOP;
END
$$;

-- A clean slate, then exactly what is granted below: a privilege granted by hand is gone
-- after the next migrate (column privileges go with the table-level REVOKE).
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, ledgerline_api, ledgerline_worker;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC, ledgerline_api, ledgerline_worker;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO ledgerline_api, ledgerline_worker;

-- Reads: both app roles read every table (the API serves reads, the worker loads states).
GRANT SELECT ON ALL TABLES IN SCHEMA public TO ledgerline_api, ledgerline_worker;

-- ---------------------------------------------------------------------------------------
-- ledgerline_worker: the ledger's single writer per partition
-- ---------------------------------------------------------------------------------------
GRANT INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO ledgerline_worker;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ledgerline_worker;
-- Append-only: the journal is only ever added to (the trigger of 0001 refuses UPDATE/DELETE/
-- TRUNCATE for everyone; without the privilege the worker cannot even try, nor drop it).
REVOKE UPDATE ON entries FROM ledgerline_worker;
-- account_changes (0007) is the record of each PATCH's outcome: written once, never changed.
REVOKE UPDATE ON account_changes FROM ledgerline_worker;
-- dead_letters (0025) keeps a published dead letter as the relay moved it out of the outbox:
-- inserted once, never changed.
REVOKE UPDATE ON dead_letters FROM ledgerline_worker;
-- The ledger's own rows change only where the batch write (ledger_apply_batch) changes them:
-- an account's balance, seq, holds total, rev and terms (its id, owner, currency and kind
-- never change: the worker decides who may spend by the owner, and entries name the id); a
-- transfer's status, reason and completion time, never its parties or amount; a hold's end;
-- a reversal total. An outside audit changed, as the worker, an account's owner (reconcile
-- saw nothing; the new owner could then spend), a COMPLETED transfer's amount, an account's
-- id and currency.
REVOKE UPDATE ON accounts, transfers, holds, transfer_reversals FROM ledgerline_worker;
GRANT UPDATE (balance, seq, held, rev, status, overdraft_limit, updated_at) ON accounts TO ledgerline_worker;
GRANT UPDATE (status, reason, completed_at) ON transfers TO ledgerline_worker;
GRANT UPDATE (status, captured_amount, capture_id, completed_at) ON holds TO ledgerline_worker;
GRANT UPDATE (reversed_amount, updated_at) ON transfer_reversals TO ledgerline_worker;
-- Not the worker's to write: the migration record, the API's idempotency claims, the
-- records of what an operator did with dead letters (ledgerctl, as the owner; 0022, 0023),
-- and the routing table, which only ledgerctl writes (setup, bucket moves, as the owner; the
-- worker reads it and fences a move through bucket_moves: an outside security review).
REVOKE INSERT, UPDATE ON schema_migrations, idempotency_keys, dead_letter_redrives, dead_letter_acknowledgements, routing_buckets FROM ledgerline_worker;
-- DELETE only where the worker deletes: its own routing_observers row when it stops, and
-- outbox rows the relay has published (markOutboxPublished, migration 0010; a dead letter's
-- row is moved to dead_letters, 0025).
GRANT DELETE ON routing_observers, outbox TO ledgerline_worker;
-- The batch write (batch-writer.ts) and the applied-keys lookup (worker-reads.ts). Executable
-- by PUBLIC by default; stated here, as the API's functions are below, so that a schema
-- hardened with a REVOKE on functions keeps the ledger's writer writing, and `migrate` (the
-- README's "fix the deploy") gives back what such a REVOKE took (test/roles.int.test.ts).
GRANT EXECUTE ON FUNCTION ledger_apply_batch(text, integer, bigint, bigint, bigint, jsonb) TO ledgerline_worker;
GRANT EXECUTE ON FUNCTION ledger_applied_keys(uuid[], uuid[], text[]) TO ledgerline_worker;

-- ---------------------------------------------------------------------------------------
-- ledgerline_api: internet-facing, so it writes only what it writes itself
-- ---------------------------------------------------------------------------------------
-- Opening an account (apps/ingest-api/src/routes/accounts.ts). Column list: the balance and
-- seq columns take their defaults (0), so the API can never create an account holding money;
-- nor kind, whose default is USER (0026), so it can never open a system (EXTERNAL, TRANSIT)
-- account, which has no floor.
GRANT INSERT (id, owner, currency, overdraft_limit, metadata, request_hash) ON accounts TO ledgerline_api;
-- Idempotency claims: the upsert's no-op DO UPDATE, and the release when publishing failed.
GRANT INSERT, DELETE ON idempotency_keys TO ledgerline_api;
GRANT UPDATE (transfer_id) ON idempotency_keys TO ledgerline_api;
-- The routing version this API instance holds (bucket moves wait for every router).
GRANT INSERT, UPDATE, DELETE ON routing_observers TO ledgerline_api;
-- The time reads of entries (balance at an instant, the entries window; migration 0016).
-- Functions are executable by PUBLIC by default; stated here so a REVOKE on functions
-- cannot take the API's reads away unnoticed (test/roles.int.test.ts).
GRANT EXECUTE ON FUNCTION ledger_entry_seq_before(uuid, timestamptz, boolean) TO ledgerline_api;
-- Waiting for the writes in flight before such a read (migration 0019).
GRANT EXECUTE ON FUNCTION ledger_entry_writers_before(timestamptz) TO ledgerline_api;
GRANT EXECUTE ON FUNCTION ledger_transactions_running(xid8[]) TO ledgerline_api;

-- Tables ledgerline_owner creates from now on are readable at once, and writable by the
-- worker, even before this file runs again at the end of the migration.
ALTER DEFAULT PRIVILEGES FOR ROLE ledgerline_owner IN SCHEMA public GRANT SELECT ON TABLES TO ledgerline_api;
ALTER DEFAULT PRIVILEGES FOR ROLE ledgerline_owner IN SCHEMA public GRANT SELECT, INSERT, UPDATE ON TABLES TO ledgerline_worker;
ALTER DEFAULT PRIVILEGES FOR ROLE ledgerline_owner IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ledgerline_worker;
