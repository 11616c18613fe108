-- Moving buckets between partitions while money keeps moving (DESIGN.md, "Routing and
-- rebalancing"). A move's states:
--
--   HOLDING  ingest refuses the bucket's commands (503 + Retry-After); a FENCE marker goes to
--            the old partition
--   FENCED   the old partition's owner applied past the marker, in the same transaction that
--            set this state: from then on the bucket belongs to to_partition
--   DONE     routing_buckets says so too; the hold is lifted
--   ABORTED  rolled back while HOLDING (the fence, if it arrives later, changes nothing)
CREATE TABLE bucket_moves (
  id             bigserial PRIMARY KEY,
  bucket         int NOT NULL CHECK (bucket >= 0 AND bucket < 1024),
  from_partition int NOT NULL,
  to_partition   int NOT NULL,
  state          text NOT NULL CHECK (state IN ('HOLDING', 'FENCED', 'DONE', 'ABORTED')),
  created_at     timestamptz NOT NULL DEFAULT now(),
  fenced_at      timestamptz,
  finished_at    timestamptz,
  CHECK (from_partition <> to_partition)
);
-- Two partitions never apply the same bucket: at most one open move per bucket.
CREATE UNIQUE INDEX bucket_moves_one_open ON bucket_moves (bucket) WHERE state IN ('HOLDING', 'FENCED');

ALTER TABLE routing_buckets ADD COLUMN held boolean NOT NULL DEFAULT false;

-- Every process that routes (APIs, workers) reports the routing version it uses, so a move
-- can wait until all of them hold the bucket before it fences it.
CREATE TABLE routing_observers (
  instance   text PRIMARY KEY,
  role       text NOT NULL,
  version    bigint NOT NULL,
  seen_at    timestamptz NOT NULL DEFAULT now()
);
