-- docker-compose.yml only: runs once, when the postgres container initialises its volume.
-- (stack.sh does the same itself.) The image already created role/db ledgerline (superuser).
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
