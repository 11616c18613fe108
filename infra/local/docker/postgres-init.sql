-- docker-compose.yml only: runs once, when the postgres container initialises its volume.
-- (stack.sh does the same itself.) The image already created role/db ledgerline (superuser).
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
-- The apps' roles with their local passwords (refused by LEDGERLINE_ENV=production); the
-- database belongs to ledgerline_owner, which runs the migrations (docs/security.md).
CREATE ROLE ledgerline_owner LOGIN PASSWORD 'ledgerline_owner';
CREATE ROLE ledgerline_worker LOGIN PASSWORD 'ledgerline_worker';
CREATE ROLE ledgerline_api LOGIN PASSWORD 'ledgerline_api';
ALTER DATABASE ledgerline OWNER TO ledgerline_owner;
