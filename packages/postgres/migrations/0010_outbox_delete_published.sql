-- Published outbox rows are deleted, not marked (loadtest/README.md, "Writes per
-- cross-partition transfer"). The relay's "published" UPDATE was a non-HOT update that
-- copied every row, JSON payload included, and added an index entry; a delete writes a
-- few dozen WAL bytes and leaves the table holding only what is still to be sent.
--
-- The relay deletes a row only after Kafka acknowledged it (as it marked it before), so the
-- sweeper still finds every row a crash left unpublished: `published_at IS NULL` keeps its
-- meaning. Dead letters are the exception: the row is the only record in Postgres of an
-- isolated command's bytes, so those are kept and marked published as before (they are rare:
-- the API refuses bad input at the border).
--
-- One index instead of two: the primary key becomes (source_partition, id), the order the
-- sweeper reads a partition's leftovers in (ids grow with commit order within a partition:
-- one writer at a time, fenced). It replaces both the key on id and the partial index of
-- unpublished rows (which only skipped published rows; now only dead letters are left).
DELETE FROM outbox WHERE published_at IS NOT NULL AND topic <> 'dead-letter';
ALTER TABLE outbox DROP CONSTRAINT outbox_pkey;
DROP INDEX outbox_unpublished_idx;
ALTER TABLE outbox ADD PRIMARY KEY (source_partition, id);
