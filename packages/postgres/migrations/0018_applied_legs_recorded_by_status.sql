-- A saga leg that applies is recorded by the status it sets, not also by a transfer_legs row
-- (loadtest/README.md, "Applied legs need no row").
--
-- Every cross-partition transfer's credit leg inserted a transfer_legs row (transfer id, leg,
-- partition, outcome APPLIED) as its dedupe key, ~205 WAL bytes per transfer with its random
-- primary key. The same transaction moves the transfer from PROCESSING to COMPLETED (a
-- refund leg: to REJECTED), and that change is already a dedupe key of the second kind of
-- docs/design.md invariant 3. So the worker now writes a row only for a leg it refuses, which
-- moves no money and changes no status: that row is its only record.
--
-- A copy of a leg is applied, optimistically, against the state of its own moment, so it may
-- take the other branch than the leg did. The row's primary key used to catch a copy on
-- either branch; now each branch's write checks the other's record:
--   * a copy that applies sets a status: refused when the leg has a row (it was refused);
--     a copy of an applied leg already fails on `status = 'PROCESSING'`;
--   * a copy that is refused inserts a row: refused unless the transfer is still PROCESSING
--     (otherwise the leg applied); a copy of a refused leg already fails on the key.
-- Either failure is LL002 or a key conflict, and the worker applies the batch again after
-- ledger_applied_keys, where the copy is a DUPLICATE.
--
-- The dedupe read answers for both: a leg is applied when it has a row (a refused leg, or an
-- applied one written before this migration) or when the transfer's status is the one the
-- leg sets. No other status can be reached from PROCESSING with that leg pending: COMPLETED
-- only by the credit leg, REJECTED (for a transfer whose credit leg was sent) only by the
-- refund leg.
--
-- A worker older than this migration still sends an APPLIED row with the status it sets, in
-- the same batch; its row is inserted as before.

-- ledger_apply_batch as of 0017 with the two checks above; its settings restated in full
-- (CREATE OR REPLACE sets them anew).
CREATE OR REPLACE FUNCTION ledger_apply_batch(
  p_topic text, p_partition int, p_epoch bigint, p_from_offset bigint, p_to_offset bigint, p_batch jsonb
) RETURNS bigint[] LANGUAGE plpgsql
SET enable_hashjoin = off
SET enable_mergejoin = off
SET enable_seqscan = off
SET jit = off
SET lock_timeout = '5s'
AS $$
DECLARE
  touched bigint;
  wanted  bigint;
  outbox_ids bigint[];
BEGIN
  UPDATE partition_state SET next_offset = p_to_offset, updated_at = now()
   WHERE topic = p_topic AND partition = p_partition AND epoch = p_epoch AND next_offset = p_from_offset;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'partition %/%: epoch % at offset % is no longer current', p_topic, p_partition, p_epoch, p_from_offset
      USING ERRCODE = 'LL001';
  END IF;

  IF jsonb_array_length(p_batch->'created') > 0 THEN
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
    UPDATE accounts AS a
       SET balance = u.balance, seq = u.seq, held = u.held, rev = u.rev, status = u.status,
           overdraft_limit = u.overdraft_limit, updated_at = now()
      FROM jsonb_to_recordset(p_batch->'balances')
        AS u(id uuid, balance bigint, seq bigint, expected_seq bigint, held bigint, rev bigint, status text, overdraft_limit bigint)
     WHERE a.id = u.id AND a.seq = u.expected_seq;
    GET DIAGNOSTICS touched = ROW_COUNT;
    IF touched <> wanted THEN
      RAISE EXCEPTION 'expected to move % balances, moved %: another writer touched this partition''s accounts', wanted, touched
        USING ERRCODE = 'LL002';
    END IF;
  END IF;

  IF jsonb_array_length(p_batch->'transfers') > 0 THEN
    INSERT INTO transfers (id, kind, status, reason, from_account_id, to_account_id, amount, currency,
                           principal, request_hash, description, source_partition, created_at, completed_at, hold_id, reverses)
    SELECT id, kind, status, reason, from_account_id, to_account_id, amount, currency,
           principal, request_hash, description, source_partition, created_at, completed_at, hold_id, reverses
      FROM jsonb_to_recordset(p_batch->'transfers')
        AS t(id uuid, kind text, status text, reason text, from_account_id uuid, to_account_id uuid, amount bigint,
             currency text, principal text, request_hash text, description text, source_partition int,
             created_at timestamptz, completed_at timestamptz, hold_id uuid, reverses uuid);
  END IF;

  wanted := jsonb_array_length(p_batch->'statuses');
  IF wanted > 0 THEN
    -- The guard names both sides, so it can only be checked on a row found by its key: as a
    -- filter of transfers alone it can be checked while scanning them all (see the top).
    -- A status here is a leg's (COMPLETED: the credit leg, REJECTED: the refund leg), and it is
    -- that leg's record: refused if the leg already has a row, i.e. was refused before (a copy
    -- that would now apply).
    UPDATE transfers AS t SET status = u.status, reason = u.reason, completed_at = u.completed_at
      FROM jsonb_to_recordset(p_batch->'statuses') AS u(id uuid, status text, reason text, completed_at timestamptz)
     WHERE t.id = u.id AND (t.status = 'PROCESSING' AND t.id = u.id) IS TRUE
       AND NOT EXISTS (SELECT 1 FROM transfer_legs l
                        WHERE l.transfer_id = u.id AND l.leg = CASE u.status WHEN 'COMPLETED' THEN 'CREDIT' ELSE 'REFUND' END);
    GET DIAGNOSTICS touched = ROW_COUNT;
    IF touched <> wanted THEN
      RAISE EXCEPTION 'expected % PROCESSING transfers to finish, found %', wanted, touched USING ERRCODE = 'LL002';
    END IF;
  END IF;

  wanted := jsonb_array_length(p_batch->'legs');
  IF wanted > 0 THEN
    -- A refused leg is recorded only while its transfer is PROCESSING: otherwise the leg was
    -- applied before (its status is its record) and this is a copy that would now be refused.
    -- (An APPLIED row comes from a worker older than 0018, in the batch that set the status.)
    -- The guard is written like the status change's above, so it is checked on the row found
    -- by its key, never by reading the partial index of PROCESSING transfers.
    INSERT INTO transfer_legs (transfer_id, leg, partition, outcome, reason)
    SELECT l.transfer_id, l.leg, l.partition, l.outcome, l.reason
      FROM jsonb_to_recordset(p_batch->'legs') AS l(transfer_id uuid, leg text, partition int, outcome text, reason text)
     WHERE l.outcome = 'APPLIED'
        OR EXISTS (SELECT 1 FROM transfers t
                    WHERE t.id = l.transfer_id AND (t.status = 'PROCESSING' AND t.id = l.transfer_id) IS TRUE);
    GET DIAGNOSTICS touched = ROW_COUNT;
    IF touched <> wanted THEN
      RAISE EXCEPTION 'expected to record % refused legs of PROCESSING transfers, recorded %', wanted, touched USING ERRCODE = 'LL002';
    END IF;
  END IF;

  IF jsonb_array_length(coalesce(p_batch->'holds_new', '[]')) > 0 THEN
    INSERT INTO holds (id, account_id, bucket, amount, currency, status, reason, principal, request_hash, description,
                       partition, expires_at, created_at, completed_at)
    SELECT id, account_id, bucket, amount, currency, status, reason, principal, request_hash, description,
           partition, expires_at, created_at, completed_at
      FROM jsonb_to_recordset(p_batch->'holds_new')
        AS t(id uuid, account_id uuid, bucket int, amount bigint, currency text, status text, reason text, principal text,
             request_hash text, description text, partition int, expires_at timestamptz, created_at timestamptz,
             completed_at timestamptz);
  END IF;

  wanted := jsonb_array_length(coalesce(p_batch->'hold_ends', '[]'));
  IF wanted > 0 THEN
    -- The guard names both sides, like the status change's above: by primary key only.
    UPDATE holds AS h SET status = u.status, captured_amount = u.captured_amount, capture_id = u.capture_id,
                          completed_at = u.completed_at
      FROM jsonb_to_recordset(p_batch->'hold_ends')
        AS u(id uuid, status text, captured_amount bigint, capture_id uuid, completed_at timestamptz)
     WHERE h.id = u.id AND (h.status = 'HELD' AND h.id = u.id) IS TRUE;
    GET DIAGNOSTICS touched = ROW_COUNT;
    IF touched <> wanted THEN
      RAISE EXCEPTION 'expected % HELD holds to end, found %', wanted, touched USING ERRCODE = 'LL002';
    END IF;
  END IF;

  wanted := jsonb_array_length(coalesce(p_batch->'reversal_totals', '[]'));
  IF wanted > 0 THEN
    -- A total starts at 0 (no row); every later change names the total it expects.
    WITH upserted AS (
      INSERT INTO transfer_reversals AS r (transfer_id, reversed_amount)
      SELECT transfer_id, reversed_amount
        FROM jsonb_to_recordset(p_batch->'reversal_totals') AS u(transfer_id uuid, reversed_amount bigint, expected bigint)
       WHERE u.expected = 0
      ON CONFLICT (transfer_id) DO UPDATE SET reversed_amount = excluded.reversed_amount, updated_at = now()
       WHERE r.reversed_amount = 0
      RETURNING 1),
    updated AS (
      UPDATE transfer_reversals AS r SET reversed_amount = u.reversed_amount, updated_at = now()
        FROM jsonb_to_recordset(p_batch->'reversal_totals') AS u(transfer_id uuid, reversed_amount bigint, expected bigint)
       WHERE r.transfer_id = u.transfer_id AND u.expected <> 0 AND r.reversed_amount = u.expected
      RETURNING 1)
    SELECT (SELECT count(*) FROM upserted) + (SELECT count(*) FROM updated) INTO touched;
    IF touched <> wanted THEN
      RAISE EXCEPTION 'expected to move % reversal totals, moved %', wanted, touched USING ERRCODE = 'LL002';
    END IF;
  END IF;

  IF jsonb_array_length(coalesce(p_batch->'account_changes', '[]')) > 0 THEN
    INSERT INTO account_changes (id, account_id, status, overdraft_limit, outcome, reason, principal, request_hash,
                                 seq_at, created_at, applied_at)
    SELECT id, account_id, status, overdraft_limit, outcome, reason, principal, request_hash, seq_at, created_at, applied_at
      FROM jsonb_to_recordset(p_batch->'account_changes')
        AS t(id uuid, account_id uuid, status text, overdraft_limit bigint, outcome text, reason text, principal text,
             request_hash text, seq_at bigint, created_at timestamptz, applied_at timestamptz);
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
    -- A row derived from its transfer carries the transfer's id and no payload or key.
    WITH inserted AS (
      INSERT INTO outbox (source_partition, topic, target_partition, message_key, payload, transfer_id, derived_as)
      SELECT p_partition, o.topic, o.target_partition, o.message_key, o.payload, o.transfer_id, o.derived_as
        FROM ROWS FROM (jsonb_to_recordset(p_batch->'outbox')
                          AS (topic text, target_partition int, message_key text, payload jsonb, transfer_id uuid, derived_as text))
             WITH ORDINALITY AS o(topic, target_partition, message_key, payload, transfer_id, derived_as, n)
       ORDER BY o.n
      RETURNING id)
    SELECT array_agg(id ORDER BY id) INTO outbox_ids FROM inserted;
  END IF;

  RETURN coalesce(outbox_ids, '{}');
END;
$$;

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
