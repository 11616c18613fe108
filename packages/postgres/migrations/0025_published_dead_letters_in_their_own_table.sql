-- A published dead letter moves out of the outbox into `dead_letters`, so that the outbox
-- holds only what is still to be sent.
--
-- Since 0010 the relay deletes a published row, except a dead letter: that row is the only
-- record in Postgres of an isolated command's bytes, so it was kept and marked published.
-- The sweeper's read (loadUnpublishedOutbox), the check for a partition left behind
-- (partitionsWithLeftovers) and the backlog count of every /metrics scrape
-- (countUnpublishedOutbox) walk the primary key (source_partition, id) from the start of a
-- partition and skip rows WHERE published_at IS NULL, so they read every published dead
-- letter of the partition, oldest first, and forever: a flood of poison on one partition
-- (a million letters) made each sweep and each scrape read a million rows to find none, and
-- reconcile's outbox check, a scan of the table, read them too.
--
-- Now the relay's mark moves a dead letter (markOutboxPublished: one statement deletes the
-- outbox row and inserts it here), and a letter still waiting for Kafka stays in the outbox
-- as any row does. The dead-letter reads (ledgerctl dead-letters list, show, redrive, ack)
-- read both. A letter keeps its outbox id: dead_letter_redrives.letter_id and
-- dead_letter_acknowledgements.letter_id (0022, 0023) name the same letter before and after.
--
-- Only what the reads need is kept: a dead letter's key is null and its target partition is
-- the topic's only one (outbox-messages.ts). Written once by the worker, never changed
-- (privileges.sql). The primary key on id serves `show` and the redrive and acknowledgement
-- joins; the listing's "again of" reads every letter anyway.
--
-- The letters published before this migration are moved here now. A worker older than it,
-- still running after it, marks the letters it publishes in the outbox as before: they stay
-- listed (the reads take an outbox letter's published_at as it is), and are walked past as
-- before until the statement below runs again; a few, from an upgrade's minutes.
CREATE TABLE dead_letters (
  id               bigint PRIMARY KEY,
  source_partition int NOT NULL,
  payload          jsonb NOT NULL,
  created_at       timestamptz NOT NULL,
  published_at     timestamptz NOT NULL
);

WITH moved AS (
  DELETE FROM outbox WHERE topic = 'dead-letter' AND published_at IS NOT NULL
  RETURNING id, source_partition, payload, created_at, published_at)
INSERT INTO dead_letters (id, source_partition, payload, created_at, published_at)
SELECT id, source_partition, payload, created_at, published_at FROM moved;
