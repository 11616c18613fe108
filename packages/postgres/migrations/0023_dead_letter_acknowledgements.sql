-- An operator's word that a dead letter is handled (`ledgerctl dead-letters ack <id> --note`):
-- when, by whom, and why, e.g. "forged by the penetration test", "client told, sent a new
-- request". A dead letter is a signal to investigate, not a queue to replay: with this and
-- the redrives (0022), `ledgerctl dead-letters --open` lists only the letters nobody has
-- handled yet. One acknowledgement per letter; the letter itself stays as it was written.
--
-- Written only by ledgerctl as the schema owner; the app roles only read it (privileges.sql).
CREATE TABLE dead_letter_acknowledgements (
  letter_id        bigint PRIMARY KEY,
  acknowledged_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  acknowledged_by  text NOT NULL CHECK (char_length(acknowledged_by) BETWEEN 1 AND 200),
  note             text NOT NULL CHECK (char_length(note) BETWEEN 1 AND 500)
);
