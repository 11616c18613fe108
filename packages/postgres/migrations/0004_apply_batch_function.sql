-- One committed batch of a partition worker, in ONE statement.
--
-- The worker used to send its batch as BEGIN, nine multi-row statements and COMMIT: eleven
-- round trips through PgBouncer, each parsed and planned afresh (no prepared statements in
-- transaction mode). Measured by the bench, that per-statement cost, not the rows, was most
-- of Postgres's time on the live path, where batches are small. The same statements now run
-- inside this function: one round trip, its own transaction (a single statement commits or
-- rolls back as a whole), and plans cached per server connection by PL/pgSQL.
--
-- p_batch is a JSON document the worker builds (packages/postgres/src/batch-writer.ts):
--   created  [{id, owner, kind, currency}]                 system accounts the batch opens
--   entries  [{account_id, seq, transfer_id, leg, amount, balance_after, currency}]
--   balances [{id, balance, seq, expected_seq}]            one per account that moved
--   transfers[{id, kind, status, reason, from_account_id, to_account_id, amount, currency,
--              principal, request_hash, description, source_partition, created_at, completed_at}]
--   statuses [{id, status, reason, completed_at}]          PROCESSING transfers that finish
--   legs     [{transfer_id, leg, partition, outcome, reason}]
--   fence_move_ids [id]                                    bucket moves fenced by this batch
--   outbox   [{topic, target_partition, message_key, payload}]
-- Returns the outbox ids in batch order.
--
-- Errors the caller maps to types (SQLSTATE class LL is ours):
--   LL001  fenced: the epoch or the expected offset is no longer current (a zombie, or a
--          batch that does not start where the last one ended); nothing is written
--   LL002  concurrent write: an account's seq or a transfer's status was not what the single
--          writer expected; the worker must stop
-- No row locks are taken beyond the ones the UPDATEs themselves take: the partition's single
-- writer is the only one to touch these rows.
CREATE FUNCTION ledger_apply_batch(
  p_topic text, p_partition int, p_epoch bigint, p_from_offset bigint, p_to_offset bigint, p_batch jsonb
) RETURNS bigint[] LANGUAGE plpgsql
-- Every join below matches a batch's rows to a table by primary key. Left to itself, the
-- planner hash-joined a 2,000-row batch against a full scan of transfers (333 ms per call,
-- 81% of Postgres time in the bench's hot drain, growing with the table); a nested loop over
-- the batch's own rows costs what the batch costs, whatever the table's size.
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
DECLARE
  touched bigint;
  wanted  bigint;
  outbox_ids bigint[];
BEGIN
  -- The fence goes first: a zombie learns it is fenced before writing anything else, and the
  -- partition_state row lock it takes orders this commit after any newer claim.
  UPDATE partition_state SET next_offset = p_to_offset, updated_at = now()
   WHERE topic = p_topic AND partition = p_partition AND epoch = p_epoch AND next_offset = p_from_offset;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'partition %/%: epoch % at offset % is no longer current', p_topic, p_partition, p_epoch, p_from_offset
      USING ERRCODE = 'LL001';
  END IF;

  IF jsonb_array_length(p_batch->'created') > 0 THEN
    -- Inserted at balance 0 / seq 0; the balance update below moves them like any other.
    INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, status, balance, seq)
    SELECT id, owner, kind, currency, NULL, 'OPEN', 0, 0
      FROM jsonb_to_recordset(p_batch->'created') AS t(id uuid, owner text, kind text, currency text);
  END IF;

  IF jsonb_array_length(p_batch->'entries') > 0 THEN
    INSERT INTO entries (account_id, seq, transfer_id, leg, amount, balance_after, currency, partition)
    SELECT account_id, seq, transfer_id, leg, amount, balance_after, currency, p_partition
      FROM jsonb_to_recordset(p_batch->'entries')
        AS t(account_id uuid, seq bigint, transfer_id uuid, leg text, amount bigint, balance_after bigint, currency text);
  END IF;

  wanted := jsonb_array_length(p_batch->'balances');
  IF wanted > 0 THEN
    -- The seq check turns a broken single-writer assumption into a loud failure instead of
    -- a silently overwritten balance.
    UPDATE accounts AS a SET balance = u.balance, seq = u.seq, updated_at = now()
      FROM jsonb_to_recordset(p_batch->'balances') AS u(id uuid, balance bigint, seq bigint, expected_seq bigint)
     WHERE a.id = u.id AND a.seq = u.expected_seq;
    GET DIAGNOSTICS touched = ROW_COUNT;
    IF touched <> wanted THEN
      RAISE EXCEPTION 'expected to move % balances, moved %: another writer touched this partition''s accounts', wanted, touched
        USING ERRCODE = 'LL002';
    END IF;
  END IF;

  IF jsonb_array_length(p_batch->'transfers') > 0 THEN
    INSERT INTO transfers (id, kind, status, reason, from_account_id, to_account_id, amount, currency,
                           principal, request_hash, description, source_partition, created_at, completed_at)
    SELECT id, kind, status, reason, from_account_id, to_account_id, amount, currency,
           principal, request_hash, description, source_partition, created_at, completed_at
      FROM jsonb_to_recordset(p_batch->'transfers')
        AS t(id uuid, kind text, status text, reason text, from_account_id uuid, to_account_id uuid, amount bigint,
             currency text, principal text, request_hash text, description text, source_partition int,
             created_at timestamptz, completed_at timestamptz);
  END IF;

  wanted := jsonb_array_length(p_batch->'statuses');
  IF wanted > 0 THEN
    -- `(...) IS TRUE` keeps the planner off the partial index transfers_processing_idx: on a
    -- hot partition, where PROCESSING rows pile up, it scanned all of them; by primary key it
    -- visits the batch's own rows only.
    UPDATE transfers AS t SET status = u.status, reason = u.reason, completed_at = u.completed_at
      FROM jsonb_to_recordset(p_batch->'statuses') AS u(id uuid, status text, reason text, completed_at timestamptz)
     WHERE t.id = u.id AND (t.status = 'PROCESSING') IS TRUE;
    GET DIAGNOSTICS touched = ROW_COUNT;
    IF touched <> wanted THEN
      RAISE EXCEPTION 'expected % PROCESSING transfers to finish, found %', wanted, touched USING ERRCODE = 'LL002';
    END IF;
  END IF;

  IF jsonb_array_length(p_batch->'legs') > 0 THEN
    INSERT INTO transfer_legs (transfer_id, leg, partition, outcome, reason)
    SELECT transfer_id, leg, partition, outcome, reason
      FROM jsonb_to_recordset(p_batch->'legs') AS t(transfer_id uuid, leg text, partition int, outcome text, reason text);
  END IF;

  IF jsonb_array_length(p_batch->'fence_move_ids') > 0 THEN
    UPDATE bucket_moves SET state = 'FENCED', fenced_at = now()
     WHERE id IN (SELECT jsonb_array_elements_text(p_batch->'fence_move_ids')::bigint)
       AND state = 'HOLDING' AND from_partition = p_partition;
    IF FOUND THEN
      UPDATE routing_version SET version = version + 1, updated_at = now();
    END IF;
  END IF;

  IF jsonb_array_length(p_batch->'outbox') > 0 THEN
    -- Ids are drawn in the batch's order, so publishing by id keeps legs to one partition
    -- in the order they were applied.
    WITH inserted AS (
      INSERT INTO outbox (source_partition, topic, target_partition, message_key, payload)
      SELECT p_partition, o.topic, o.target_partition, o.message_key, o.payload
        FROM ROWS FROM (jsonb_to_recordset(p_batch->'outbox') AS (topic text, target_partition int, message_key text, payload jsonb))
             WITH ORDINALITY AS o(topic, target_partition, message_key, payload, n)
       ORDER BY o.n
      RETURNING id)
    SELECT array_agg(id ORDER BY id) INTO outbox_ids FROM inserted;
  END IF;

  RETURN coalesce(outbox_ids, '{}');
END;
$$;
