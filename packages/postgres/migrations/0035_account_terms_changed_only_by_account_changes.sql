-- An account's status and overdraft limit change only by an applied account change: the
-- balances UPDATE of ledger_apply_batch writes a status or a limit other than the row's only
-- when an APPLIED row of `account_changes` in the same batch, for that account, names that
-- value. Before, the function wrote whatever the batch said (an outside review of the database
-- core: a batch could raise a user account's limit, or reopen a frozen one, with no change row,
-- and neither the database nor reconcile could tell, since the limit an account opened with is
-- overwritten). The in-memory apply never builds such a batch; this keeps a bug's batch out of
-- the ledger. 23514 (check_violation): the worker isolates the command as a deterministic
-- failure, as it does the entries trigger's (0034). A row its writer did not read as expected
-- is still LL002, another writer.

-- ledger_apply_batch as of 0032, with the terms guard; its settings restated in full
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
  stamp timestamptz;
  unexplained record;
BEGIN
  UPDATE partition_state SET next_offset = p_to_offset, updated_at = now()
   WHERE topic = p_topic AND partition = p_partition AND epoch = p_epoch AND next_offset = p_from_offset;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'partition %/%: epoch % at offset % is no longer current', p_topic, p_partition, p_epoch, p_from_offset
      USING ERRCODE = 'LL001';
  END IF;
  -- The entries' time, read only now that this transaction holds the partition's row: every
  -- write that stamps entries at or before an instant T locked its row before T, so a reader
  -- that sees no such lock left (ledger_entry_writers_before) has every entry stamped <= T.
  stamp := clock_timestamp();

  IF jsonb_array_length(p_batch->'created') > 0 THEN
    INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, status, balance, seq)
    SELECT id, owner, kind, currency, NULL, 'OPEN', 0, 0
      FROM jsonb_to_recordset(p_batch->'created') AS t(id uuid, owner text, kind text, currency text);
  END IF;

  IF jsonb_array_length(p_batch->'entries') > 0 THEN
    INSERT INTO entries (account_id, seq, transfer_id, leg, amount, balance_after, currency, partition, created_at)
    SELECT account_id, seq, transfer_id, leg, amount, balance_after, currency, p_partition, stamp
      FROM jsonb_to_recordset(p_batch->'entries')
        AS t(account_id uuid, seq bigint, transfer_id uuid, leg text, amount bigint, balance_after bigint, currency text);
  END IF;

  wanted := jsonb_array_length(p_batch->'balances');
  IF wanted > 0 THEN
    UPDATE accounts AS a
       SET balance = u.balance, seq = u.seq, held = u.held, rev = u.rev, status = u.status,
           overdraft_limit = u.overdraft_limit, updated_at = now()
      FROM jsonb_to_recordset(p_batch->'balances')
        AS u(id uuid, balance bigint, seq bigint, expected_seq bigint, expected_rev bigint, held bigint, rev bigint, status text, overdraft_limit bigint)
     WHERE a.id = u.id AND a.seq = u.expected_seq AND (u.expected_rev IS NULL OR a.rev = u.expected_rev)
       AND (a.status = u.status
            OR EXISTS (SELECT 1 FROM jsonb_to_recordset(coalesce(p_batch->'account_changes', '[]')) AS c(account_id uuid, status text, outcome text)
                        WHERE c.account_id = u.id AND c.outcome = 'APPLIED' AND c.status = u.status))
       AND (a.overdraft_limit IS NOT DISTINCT FROM u.overdraft_limit
            OR EXISTS (SELECT 1 FROM jsonb_to_recordset(coalesce(p_batch->'account_changes', '[]')) AS c(account_id uuid, overdraft_limit bigint, outcome text)
                        WHERE c.account_id = u.id AND c.outcome = 'APPLIED' AND c.overdraft_limit = u.overdraft_limit));
    GET DIAGNOSTICS touched = ROW_COUNT;
    IF touched <> wanted THEN
      -- A row its writer read (seq and rev as expected) left alone: its new terms are nobody's.
      SELECT a.id, a.status, u.status AS new_status, a.overdraft_limit, u.overdraft_limit AS new_limit INTO unexplained
        FROM jsonb_to_recordset(p_batch->'balances')
          AS u(id uuid, expected_seq bigint, expected_rev bigint, status text, overdraft_limit bigint)
        JOIN accounts a ON a.id = u.id
       WHERE a.seq = u.expected_seq AND (u.expected_rev IS NULL OR a.rev = u.expected_rev)
         AND (a.status <> u.status OR a.overdraft_limit IS DISTINCT FROM u.overdraft_limit)
       LIMIT 1;
      IF unexplained.id IS NOT NULL THEN
        RAISE EXCEPTION 'account % would go from % with overdraft limit % to % with %, and no applied account change in this batch says so',
          unexplained.id, unexplained.status, coalesce(unexplained.overdraft_limit::text, 'none'),
          unexplained.new_status, coalesce(unexplained.new_limit::text, 'none')
          USING ERRCODE = '23514';
      END IF;
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
    -- The leg's facts must be its transfer's (a genuine leg is built from nothing else); a
    -- document without them comes from a worker older than 0021 and is taken as before.
    UPDATE transfers AS t SET status = u.status, reason = u.reason, completed_at = u.completed_at
      FROM jsonb_to_recordset(p_batch->'statuses')
        AS u(id uuid, status text, reason text, completed_at timestamptz, kind text, from_account_id uuid, to_account_id uuid,
             amount bigint, currency text, hold_id uuid, reverses uuid, source_partition int)
     WHERE t.id = u.id AND (t.status = 'PROCESSING' AND t.id = u.id) IS TRUE
       AND (u.amount IS NULL
            OR (t.kind = u.kind AND t.amount = u.amount AND t.currency = u.currency
                AND t.from_account_id IS NOT DISTINCT FROM u.from_account_id AND t.to_account_id IS NOT DISTINCT FROM u.to_account_id
                AND (t.hold_id IS NOT DISTINCT FROM u.hold_id OR (u.hold_id IS NULL AND u.kind = 'CAPTURE')) AND t.reverses IS NOT DISTINCT FROM u.reverses
                AND (u.source_partition IS NULL OR t.source_partition = u.source_partition)))
       AND NOT EXISTS (SELECT 1 FROM transfer_legs l
                        WHERE l.transfer_id = u.id AND l.leg = CASE u.status WHEN 'COMPLETED' THEN 'CREDIT' ELSE 'REFUND' END)
       -- A refund answers a credit its destination refused, and that refusal is recorded
       -- before the refund is sent (the destination's batch wrote the row and its outbox
       -- together): no row, or another reason, and the refund is not the destination's.
       AND (u.status <> 'REJECTED'
            OR EXISTS (SELECT 1 FROM transfer_legs c
                        WHERE c.transfer_id = u.id AND c.leg = 'CREDIT' AND c.outcome = 'REJECTED'
                          AND c.reason IS NOT DISTINCT FROM u.reason));
    GET DIAGNOSTICS touched = ROW_COUNT;
    IF touched <> wanted THEN
      RAISE EXCEPTION 'expected % PROCESSING transfers with the legs'' facts (a refund: its credit refused with its reason) to finish, found %', wanted, touched USING ERRCODE = 'LL003';
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
      FROM jsonb_to_recordset(p_batch->'legs')
        AS l(transfer_id uuid, leg text, partition int, outcome text, reason text, kind text, from_account_id uuid,
             to_account_id uuid, amount bigint, currency text, hold_id uuid, reverses uuid, source_partition int)
     WHERE l.outcome = 'APPLIED'
        OR EXISTS (SELECT 1 FROM transfers t
                    WHERE t.id = l.transfer_id AND (t.status = 'PROCESSING' AND t.id = l.transfer_id) IS TRUE
                      AND (l.amount IS NULL
                           OR (t.kind = l.kind AND t.amount = l.amount AND t.currency = l.currency
                               AND t.from_account_id IS NOT DISTINCT FROM l.from_account_id
                               AND t.to_account_id IS NOT DISTINCT FROM l.to_account_id
                               AND (t.hold_id IS NOT DISTINCT FROM l.hold_id OR (l.hold_id IS NULL AND l.kind = 'CAPTURE')) AND t.reverses IS NOT DISTINCT FROM l.reverses
                               AND (l.source_partition IS NULL OR t.source_partition = l.source_partition)))
                 -- A refund refused at its source still answers a refused credit (see the top).
                 AND (l.leg <> 'REFUND'
                      OR EXISTS (SELECT 1 FROM transfer_legs c
                                  WHERE c.transfer_id = l.transfer_id AND c.leg = 'CREDIT' AND c.outcome = 'REJECTED')));
    GET DIAGNOSTICS touched = ROW_COUNT;
    IF touched <> wanted THEN
      RAISE EXCEPTION 'expected to record % refused legs of PROCESSING transfers with the legs'' facts, recorded %', wanted, touched USING ERRCODE = 'LL003';
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
