-- A batch's write waits at most 5 s for a row lock (worker writes also have a client-side
-- deadline, WORKER_WRITE_TIMEOUT_MS, 10 s by default: docs/design.md).
--
-- The client-side deadline closes the connection, but a backend waiting on a lock does not
-- notice that its client is gone: it keeps the locks it already took (in a grouped statement,
-- other partitions' partition_state rows) and may commit later. Only the partition's single
-- writer ever locks these rows, so a wait of seconds means a stuck or abandoned statement;
-- with lock_timeout the waiting call fails with 55P03 (an operating error, retried), the
-- whole statement rolls back and its locks go with it.
ALTER FUNCTION ledger_apply_batch(text, int, bigint, bigint, bigint, jsonb)
  SET lock_timeout = '5s';
