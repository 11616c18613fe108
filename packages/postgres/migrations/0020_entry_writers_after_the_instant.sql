-- ledger_entry_writers_before (0019) takes the partition rows' lockers from a snapshot that
-- must be taken after p_at. 0019 compared p_at with statement_timestamp(), but with the
-- extended protocol (every parameterised query of node-pg) PostgreSQL sets that time again
-- at Execute, after Bind has taken the query's snapshot: a snapshot taken before p_at could
-- pass the check (an outside review of 0019; the gap is microseconds, the promise is not).
--
-- Now the function is VOLATILE plpgsql: it reads the clock first and only then runs the
-- query, which as a VOLATILE function's query takes a fresh snapshot, after the clock read.
--
-- What the reading of xmax assumes (and a change to either must revisit this function):
--   * nothing takes share locks on partition_state (no FOR SHARE / FOR KEY SHARE, no
--     foreign key references it): a row's xmax is then a plain xid, never a MultiXactId;
--   * ledger_apply_batch runs in no subtransaction (no SAVEPOINT, no EXCEPTION block
--     around its call): a subtransaction's xid would not be listed among the running ones.
-- packages/postgres/test/entries-settled.int.test.ts checks the first.
CREATE OR REPLACE FUNCTION ledger_entry_writers_before(p_at timestamptz) RETURNS xid8[]
LANGUAGE plpgsql VOLATILE STRICT AS $$
DECLARE
  writers xid8[];
BEGIN
  IF clock_timestamp() <= p_at THEN
    RETURN NULL; -- not passed yet: the caller asks again a moment later
  END IF;
  -- A fresh snapshot, taken after the clock read above.
  WITH snap AS (
    SELECT pg_current_snapshot() AS s, pg_snapshot_xmax(pg_current_snapshot())::text::int8 AS top
  ), lockers AS (
    SELECT snap.s, snap.top, ((snap.top >> 32) << 32) | r.xmax AS id
      FROM (SELECT DISTINCT xmax::text::int8 AS xmax FROM partition_state WHERE xmax::text <> '0') AS r, snap
  ), widened AS (
    SELECT s, (CASE WHEN id > top + 2147483648 THEN id - 4294967296
                    WHEN id < top - 2147483648 THEN id + 4294967296
                    ELSE id END)::text::xid8 AS x
      FROM lockers
  )
  SELECT ARRAY(SELECT x FROM widened WHERE NOT pg_visible_in_snapshot(x, s)) INTO writers;
  RETURN writers;
END;
$$;
