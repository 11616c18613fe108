-- A saga leg that applies is recorded by the status it sets, not also by a transfer_legs row
-- (loadtest/README.md, "Applied legs recorded by their status").
--
-- Every cross-partition transfer's credit leg inserted a transfer_legs row (transfer id, leg,
-- partition, outcome APPLIED) as its dedupe key, ~235 WAL bytes per transfer with its random
-- primary key. The same transaction moves the transfer from PROCESSING to COMPLETED (a
-- refund leg: to REJECTED), and that change is already a dedupe key of the second kind of
-- docs/design.md invariant 3: a copy of the leg finds the transfer no longer PROCESSING and
-- fails its batch (LL002). So the worker now writes a row only for a leg it refuses, which
-- moves no money and changes no status: that row is its only record.
--
-- The dedupe read answers for both: a leg is applied when it has a row (a refused leg, or
-- an applied one written before this migration) or when the transfer's status is the one the
-- leg sets. No other status can be reached from PROCESSING with that leg pending: COMPLETED
-- only by the credit leg, REJECTED (for a transfer whose credit leg was sent) only by the
-- refund leg.
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
      SELECT w.transfer_id, w.leg
        FROM unnest(p_leg_transfer_ids, p_legs) AS w(transfer_id, leg)
       WHERE EXISTS (SELECT 1 FROM transfer_legs l WHERE l.transfer_id = w.transfer_id AND l.leg = w.leg)
          OR EXISTS (SELECT 1 FROM transfers t
                      WHERE t.id = w.transfer_id
                        AND t.status = CASE w.leg WHEN 'CREDIT' THEN 'COMPLETED' WHEN 'REFUND' THEN 'REJECTED' END);
  END IF;
END;
$$;
