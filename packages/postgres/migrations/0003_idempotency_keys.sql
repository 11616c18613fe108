-- The durable record of every Idempotency-Key a money movement was accepted under.
-- Written by the ingest API before it publishes (and removed again if publishing fails),
-- so a reused key with another body is refused (422) even when Redis forgot it and the
-- first command has not been applied yet (found by the chaos run: Redis alone could not).
CREATE TABLE idempotency_keys (
  transfer_id  uuid PRIMARY KEY,   -- transferIdFor(principal, key): the key, hashed
  principal    text NOT NULL,
  request_hash text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
