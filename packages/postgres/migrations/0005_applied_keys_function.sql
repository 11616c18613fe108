-- The worker's dedupe read before each batch, in ONE round trip (it was two queries): which
-- of the batch's client commands (by transfer id) and saga legs (by transfer id + leg) an
-- earlier committed batch already applied. Rows: (transfer_id, NULL) for a transfer,
-- (transfer_id, leg) for a leg.
--
-- Primary-key lookups only, whatever the tables' size: the planner otherwise hash-joined a
-- large batch of legs against a full scan of transfer_legs (see 0004 for the same trap).
CREATE FUNCTION ledger_applied_keys(p_transfer_ids uuid[], p_leg_transfer_ids uuid[], p_legs text[])
RETURNS TABLE (transfer_id uuid, leg text) LANGUAGE sql STABLE
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
  SELECT t.id, NULL::text FROM transfers t WHERE t.id = ANY (p_transfer_ids)
  UNION ALL
  SELECT l.transfer_id, l.leg
    FROM unnest(p_leg_transfer_ids, p_legs) AS w(transfer_id, leg)
    JOIN transfer_legs l ON l.transfer_id = w.transfer_id AND l.leg = w.leg
$$;
