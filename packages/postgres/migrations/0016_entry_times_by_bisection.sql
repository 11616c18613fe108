-- Point-in-time and time-window reads of an account's entries find their seq by bisection
-- over the primary key, and entries_account_created_idx (0008) goes
-- (loadtest/README.md, "Entries without a time index").
--
-- That index held a second copy of every entry's key, (account_id, created_at, seq), for
-- two reads: the balance at an instant and the ends of an entries window. It was the largest
-- single index of the write path: four B-tree inserts per cross-partition transfer, on
-- random account ids, and 476 of the ~5,400 WAL bytes each transfer wrote in the full bench.
--
-- Two facts of the ledger make it redundant. Each account's entry seqs run 1..n without
-- gaps (the in-memory apply refuses anything else, and reconcile checks it), and created_at
-- never decreases as seq grows: an account has one writer, each batch is a transaction
-- that starts after the previous one committed, and created_at is its now() (as long as
-- the database's clock does not step back; the window read relied on the same before, and
-- reconcile's entry-times-ordered check now watches it).
-- So "the last entry created before T" is a bisection over 1..n by primary-key probes:
-- about log2(n) of them, 18 for an account of 200,000 entries, still independent of the
-- window's width or the account's age. scripts/history-explain.ts shows the plans and times.
-- A probe that lands on a missing seq is refused (XX001) rather than read past; a gap the
-- probes do not touch is reconcile's seq-contiguous check to find.

-- The highest seq of the account's entries created before p_at (at or before it when
-- p_inclusive), 0 when there is none. STABLE: every probe reads the calling statement's
-- snapshot, so the entries it bisects cannot change underneath it.
CREATE OR REPLACE FUNCTION ledger_entry_seq_before(p_account uuid, p_at timestamptz, p_inclusive boolean)
RETURNS bigint LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET enable_seqscan = off
SET jit = off
AS $$
DECLARE
  lo bigint := 0;  -- known to satisfy: seq 0 stands for "before the first entry"
  hi bigint;       -- no seq above it can satisfy
  mid bigint;
  created timestamptz;
BEGIN
  SELECT e.seq INTO hi FROM entries e WHERE e.account_id = p_account ORDER BY e.seq DESC LIMIT 1;
  IF hi IS NULL THEN
    RETURN 0;
  END IF;
  WHILE lo < hi LOOP
    mid := lo + (hi - lo + 1) / 2;
    SELECT e.created_at INTO created FROM entries e WHERE e.account_id = p_account AND e.seq = mid;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'account %: entry seq % is missing, so its seqs do not run 1..n', p_account, mid USING ERRCODE = 'XX001';
    END IF;
    IF created < p_at OR (p_inclusive AND created = p_at) THEN
      lo := mid;
    ELSE
      hi := mid - 1;
    END IF;
  END LOOP;
  RETURN lo;
END;
$$;

DROP INDEX IF EXISTS entries_account_created_idx;
