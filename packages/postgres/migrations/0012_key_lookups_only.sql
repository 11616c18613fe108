-- The worker's two statements per batch touch rows by key only, whatever the statistics say
-- (loadtest/README.md, "Profile: where a live transfer's CPU went").
--
-- Found with pg_stat_statements.track = 'all' at 100 transfers/s: the status UPDATE inside
-- ledger_apply_batch took 2.35 ms a call, more than the rest of the function together, and
-- grew with the table. With few PROCESSING rows in the statistics, the planner estimated one
-- transfer matching `(status = 'PROCESSING') IS TRUE` and scanned the whole transfers table
-- for it (the hash and merge joins being off, a sequential scan was the cheapest plan it had
-- left), instead of looking each id up in the primary key. On a 1,000,000-transfer drain
-- that is a full scan per batch.
--
-- enable_seqscan = off leaves the planner nothing but the keyed plans these statements were
-- written for (a one-row table such as routing_version is still read, at a nominal cost).
-- jit = off: that nominal cost would otherwise cross jit_above_cost and compile the
-- statement, tens of milliseconds for a one-row update.
ALTER FUNCTION ledger_apply_batch(text, int, bigint, bigint, bigint, jsonb)
  SET enable_seqscan = off;
ALTER FUNCTION ledger_apply_batch(text, int, bigint, bigint, bigint, jsonb)
  SET jit = off;

-- The dedupe read, as in 0007, in PL/pgSQL: a LANGUAGE sql function with SET clauses is
-- never inlined and planned its four queries afresh on every call (0.5 ms of a 0.55 ms call
-- at 100 transfers/s); PL/pgSQL keeps their plans for the life of the server connection.
CREATE OR REPLACE FUNCTION ledger_applied_keys(p_transfer_ids uuid[], p_leg_transfer_ids uuid[], p_legs text[])
RETURNS TABLE (transfer_id uuid, leg text) LANGUAGE plpgsql STABLE
SET enable_hashjoin = off
SET enable_mergejoin = off
SET enable_seqscan = off
SET jit = off
AS $$
#variable_conflict use_column
BEGIN
  IF cardinality(p_transfer_ids) > 0 THEN
    RETURN QUERY
      SELECT t.id, NULL::text FROM transfers t WHERE t.id = ANY (p_transfer_ids)
      UNION ALL
      SELECT h.id, NULL::text FROM holds h WHERE h.id = ANY (p_transfer_ids)
      UNION ALL
      SELECT c.id, NULL::text FROM account_changes c WHERE c.id = ANY (p_transfer_ids);
  END IF;
  IF cardinality(p_leg_transfer_ids) > 0 THEN
    RETURN QUERY
      SELECT l.transfer_id, l.leg
        FROM unnest(p_leg_transfer_ids, p_legs) AS w(transfer_id, leg)
        JOIN transfer_legs l ON l.transfer_id = w.transfer_id AND l.leg = w.leg;
  END IF;
END;
$$;
