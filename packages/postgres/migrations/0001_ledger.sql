-- The ledger. Written by exactly one worker per partition (no row locks: ordering, not
-- locking, keeps writers apart); read by the API and by ledgerctl.

CREATE TABLE accounts (
  id              uuid PRIMARY KEY,
  owner           text NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('USER', 'TRANSIT', 'EXTERNAL')),
  currency        char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  -- How far below zero the balance may go; NULL = unbounded, allowed for system accounts only.
  overdraft_limit bigint CHECK (overdraft_limit IS NULL OR overdraft_limit >= 0),
  status          text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'CLOSED')),
  metadata        jsonb NOT NULL DEFAULT '{}',
  -- sha256 of the creating request, to refuse a reused Idempotency-Key with another body.
  request_hash    text,
  balance         bigint NOT NULL DEFAULT 0,
  -- Sequence number of the latest entry: the balance's version.
  seq             bigint NOT NULL DEFAULT 0 CHECK (seq >= 0),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CHECK (kind <> 'USER' OR overdraft_limit IS NOT NULL),
  -- Invariant 6 backstop: the database itself refuses an overdraft past the limit.
  CHECK (overdraft_limit IS NULL OR balance >= -overdraft_limit)
);
CREATE INDEX accounts_owner_idx ON accounts (owner);

-- Append-only double-entry journal: one row per account movement.
CREATE TABLE entries (
  account_id    uuid NOT NULL REFERENCES accounts (id),
  seq           bigint NOT NULL CHECK (seq > 0),
  transfer_id   uuid NOT NULL,
  leg           text NOT NULL CHECK (leg IN ('DEBIT', 'CREDIT', 'REFUND')),
  amount        bigint NOT NULL CHECK (amount <> 0),
  balance_after bigint NOT NULL,
  currency      char(3) NOT NULL,
  partition     int NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, seq)
);
CREATE INDEX entries_transfer_idx ON entries (transfer_id);

CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- One row per applied client command. Inserted by the source partition; a cross-partition
-- transfer's terminal status is written by whichever partition holds the saga's baton
-- (the destination on success, the source again on refund): never two at once.
CREATE TABLE transfers (
  id               uuid PRIMARY KEY,
  kind             text NOT NULL CHECK (kind IN ('TRANSFER', 'DEPOSIT', 'WITHDRAWAL')),
  status           text NOT NULL CHECK (status IN ('PROCESSING', 'COMPLETED', 'REJECTED')),
  reason           text,
  from_account_id  uuid,
  to_account_id    uuid,
  amount           bigint NOT NULL CHECK (amount > 0),
  currency         char(3) NOT NULL,
  principal        text NOT NULL,
  request_hash     text NOT NULL,
  description      text,
  source_partition int NOT NULL,
  created_at       timestamptz NOT NULL,
  applied_at       timestamptz NOT NULL DEFAULT now(),
  completed_at     timestamptz,
  CHECK ((status = 'REJECTED') = (reason IS NOT NULL)),
  CHECK ((status = 'PROCESSING') = (completed_at IS NULL))
);
CREATE INDEX transfers_processing_idx ON transfers (created_at) WHERE status = 'PROCESSING';

-- Saga legs applied on the far side (CREDIT at the destination, REFUND back at the source):
-- the consumer's dedupe record and the reconciler's evidence.
CREATE TABLE transfer_legs (
  transfer_id uuid NOT NULL,
  leg         text NOT NULL CHECK (leg IN ('CREDIT', 'REFUND')),
  partition   int NOT NULL,
  outcome     text NOT NULL CHECK (outcome IN ('APPLIED', 'REJECTED')),
  reason      text,
  applied_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (transfer_id, leg)
);

-- Exactly-once and fencing: the next offset to apply is stored with the batch's effects;
-- taking a partition over bumps its epoch, and a commit whose epoch is stale changes nothing.
CREATE TABLE partition_state (
  topic       text NOT NULL,
  partition   int NOT NULL,
  next_offset bigint NOT NULL DEFAULT 0 CHECK (next_offset >= 0),
  epoch       bigint NOT NULL DEFAULT 0,
  owner       text,
  claimed_at  timestamptz,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, partition)
);

-- Messages a committed batch must send: written in the batch's transaction, published after.
CREATE TABLE outbox (
  id               bigserial PRIMARY KEY,
  source_partition int NOT NULL,
  topic            text NOT NULL CHECK (topic IN ('commands', 'events', 'dead-letter')),
  target_partition int,
  message_key      text,
  payload          jsonb NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  published_at     timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (source_partition, id) WHERE published_at IS NULL;

-- bucket -> partition, versioned. BUCKET_COUNT (1024) is fixed in packages/domain.
CREATE TABLE routing_buckets (
  bucket    int PRIMARY KEY CHECK (bucket >= 0 AND bucket < 1024),
  partition int NOT NULL CHECK (partition >= 0)
);
CREATE TABLE routing_version (
  singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  version         bigint NOT NULL,
  partition_count int NOT NULL CHECK (partition_count > 0),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
