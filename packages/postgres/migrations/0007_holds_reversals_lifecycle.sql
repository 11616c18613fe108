-- Issue 13: two-phase holds, reversals and the account life cycle, all applied by the
-- account's partition writer (packages/domain/src/apply.ts has the states and rules).
--
-- Every table here has ONE writer per row, the partition that owns the account it hangs on:
--   holds               the held account's partition
--   transfer_reversals  the partition of the original transfer's destination account (the
--                       account that pays its reversals back)
--   account_changes     the changed account's partition

-- Account life cycle: FROZEN refuses debits and still takes credits.
ALTER TABLE accounts DROP CONSTRAINT accounts_status_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_status_check CHECK (status IN ('OPEN', 'FROZEN', 'CLOSED'));
-- Sum of the account's HELD holds: available = balance - held. `rev` is bumped by every
-- change the writer makes to the row (a hold moves `available` without an entry, so `seq`
-- alone can no longer version the balance cache).
ALTER TABLE accounts ADD COLUMN held bigint NOT NULL DEFAULT 0 CHECK (held >= 0);
ALTER TABLE accounts ADD COLUMN rev bigint NOT NULL DEFAULT 0 CHECK (rev >= 0);
-- Invariant 6 with holds: the overdraft limit bounds what is available, not just the balance.
-- NOT VALID: every existing row has held = 0, so the old check already proves it for them;
-- validating would scan the table under a lock for nothing.
ALTER TABLE accounts ADD CONSTRAINT accounts_available_within_limit
  CHECK (overdraft_limit IS NULL OR balance - held >= -overdraft_limit) NOT VALID;

ALTER TABLE transfers DROP CONSTRAINT transfers_kind_check;
ALTER TABLE transfers ADD CONSTRAINT transfers_kind_check
  CHECK (kind IN ('TRANSFER', 'DEPOSIT', 'WITHDRAWAL', 'CAPTURE', 'REVERSAL'));
ALTER TABLE transfers ADD COLUMN hold_id uuid;
ALTER TABLE transfers ADD COLUMN reverses uuid;
-- Reconcile sums the reversals of each original; only REVERSAL rows carry `reverses`.
CREATE INDEX transfers_reverses_idx ON transfers (reverses) WHERE reverses IS NOT NULL;
CREATE INDEX transfers_hold_idx ON transfers (hold_id) WHERE hold_id IS NOT NULL;

CREATE TABLE holds (
  id              uuid PRIMARY KEY,
  account_id      uuid NOT NULL,  -- no foreign key: a refused hold or change may name no account
  -- bucketOf(account_id) (fixed forever): the expiry scan asks for its own buckets' due holds.
  bucket          int NOT NULL CHECK (bucket >= 0 AND bucket < 1024),
  amount          bigint NOT NULL CHECK (amount > 0),
  captured_amount bigint NOT NULL DEFAULT 0 CHECK (captured_amount >= 0 AND captured_amount <= amount),
  currency        char(3) NOT NULL,
  status          text NOT NULL CHECK (status IN ('HELD', 'CAPTURED', 'VOIDED', 'EXPIRED', 'REJECTED')),
  reason          text,
  principal       text NOT NULL,
  request_hash    text NOT NULL,
  description     text,
  -- The partition that placed it (the account may move later; its bucket decides).
  partition       int NOT NULL,
  capture_id      uuid,
  expires_at      timestamptz NOT NULL,
  created_at      timestamptz NOT NULL,
  applied_at      timestamptz NOT NULL DEFAULT now(),
  completed_at    timestamptz,
  CHECK ((status = 'REJECTED') = (reason IS NOT NULL)),
  CHECK ((status = 'HELD') = (completed_at IS NULL)),
  CHECK ((status = 'CAPTURED') = (capture_id IS NOT NULL)),
  CHECK (status = 'CAPTURED' OR captured_amount = 0)
);
-- The expiry scan: HELD holds by due time (small: holds end within seconds of falling due).
CREATE INDEX holds_due_idx ON holds (expires_at) WHERE status = 'HELD';
CREATE INDEX holds_account_idx ON holds (account_id) WHERE status = 'HELD';

-- How much of each transfer its reversals take back (COMPLETED and PROCESSING reversals;
-- a refunded reversal gives its amount back). Never more than the transfer's amount.
CREATE TABLE transfer_reversals (
  transfer_id     uuid PRIMARY KEY REFERENCES transfers (id),
  reversed_amount bigint NOT NULL CHECK (reversed_amount >= 0),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- PATCH /v1/accounts/{id}: one row per applied or refused change (the dedupe record too).
CREATE TABLE account_changes (
  id              uuid PRIMARY KEY,
  account_id      uuid NOT NULL,  -- no foreign key: a refused hold or change may name no account
  status          text CHECK (status IN ('OPEN', 'FROZEN', 'CLOSED')),
  overdraft_limit bigint CHECK (overdraft_limit >= 0),
  outcome         text NOT NULL CHECK (outcome IN ('APPLIED', 'REJECTED')),
  reason          text,
  principal       text NOT NULL,
  request_hash    text NOT NULL,
  -- The account's entry seq when applied: after a closing, no entry may follow it.
  seq_at          bigint NOT NULL,
  created_at      timestamptz NOT NULL,
  applied_at      timestamptz NOT NULL,
  CHECK ((outcome = 'REJECTED') = (reason IS NOT NULL))
);
CREATE INDEX account_changes_account_idx ON account_changes (account_id);

-- The dedupe read learns holds and account changes (same arguments as in 0005): their ids
-- are client command ids like transfer ids.
CREATE OR REPLACE FUNCTION ledger_applied_keys(p_transfer_ids uuid[], p_leg_transfer_ids uuid[], p_legs text[])
RETURNS TABLE (transfer_id uuid, leg text) LANGUAGE sql STABLE
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
  SELECT t.id, NULL::text FROM transfers t WHERE t.id = ANY (p_transfer_ids)
  UNION ALL
  SELECT h.id, NULL::text FROM holds h WHERE h.id = ANY (p_transfer_ids)
  UNION ALL
  SELECT c.id, NULL::text FROM account_changes c WHERE c.id = ANY (p_transfer_ids)
  UNION ALL
  SELECT l.transfer_id, l.leg
    FROM unnest(p_leg_transfer_ids, p_legs) AS w(transfer_id, leg)
    JOIN transfer_legs l ON l.transfer_id = w.transfer_id AND l.leg = w.leg
$$;

-- ledger_apply_batch as in 0004, extended. New keys of p_batch:
--   balances  [{id, balance, seq, expected_seq, held, rev, status, overdraft_limit}]
--             every account the batch changed (entries, holds, status or limit)
--   transfers gains hold_id, reverses
--   holds_new [{id, account_id, bucket, amount, currency, status, reason, principal,
--               request_hash, description, partition, expires_at, created_at, completed_at}]
--   hold_ends [{id, status, captured_amount, capture_id, completed_at}]   HELD holds that end
--   reversal_totals [{transfer_id, reversed_amount, expected}]           new totals
--   account_changes [{id, account_id, status, overdraft_limit, outcome, reason, principal,
--                     request_hash, seq_at, created_at, applied_at}]
-- A hold that is not HELD any more, or a reversal total that is not what the writer
-- expected, is another writer's doing: LL002 like a stale seq.
CREATE OR REPLACE FUNCTION ledger_apply_batch(
  p_topic text, p_partition int, p_epoch bigint, p_from_offset bigint, p_to_offset bigint, p_batch jsonb
) RETURNS bigint[] LANGUAGE plpgsql
SET enable_hashjoin = off
SET enable_mergejoin = off
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
    -- `(...) IS TRUE` keeps the planner on the primary key (see statuses above).
    UPDATE holds AS h SET status = u.status, captured_amount = u.captured_amount, capture_id = u.capture_id,
                          completed_at = u.completed_at
      FROM jsonb_to_recordset(p_batch->'hold_ends')
        AS u(id uuid, status text, captured_amount bigint, capture_id uuid, completed_at timestamptz)
     WHERE h.id = u.id AND (h.status = 'HELD') IS TRUE;
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
