-- Each time an operator sent a dead letter's command again (`ledgerctl dead-letters redrive`):
-- when, to which partition, and who. The dead letter itself (an outbox row of the
-- dead-letter topic) stays as it was written; this is the record that it was acted on, so
-- the listing can tell a letter still waiting from one already redriven, and an operator
-- can see who redrove what when a redriven command comes back dead-lettered again.
--
-- Written only by ledgerctl as the schema owner, in the same transaction as nothing else:
-- its row is committed once the command is on Kafka (a failed publish writes no row). The
-- app roles only read it (privileges.sql).
CREATE TABLE dead_letter_redrives (
  letter_id    bigint NOT NULL,
  redriven_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  to_partition int NOT NULL CHECK (to_partition >= 0),
  redriven_by  text NOT NULL CHECK (char_length(redriven_by) BETWEEN 1 AND 200),
  PRIMARY KEY (letter_id, redriven_at)
);
