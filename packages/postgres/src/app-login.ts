/**
 * Whom an app logs in to Postgres as, checked at a production start: the config check sees
 * only the URL (the local passwords, the owner's name), not what the server grants the login.
 */
import type { Pool } from 'pg';

/** The application roles of privileges.sql, one per app. */
export type AppRole = 'ledgerline_api' | 'ledgerline_worker';

const OWNER_ROLE = 'ledgerline_owner';

/**
 * PostgreSQL's predefined roles that go around the table privileges or out of the database:
 * write every table (a balance, an entry), or read and write the server's files and run its
 * programs (an outside security review: a login in pg_write_all_data wrote a balance).
 */
const UNBOUNDED_PREDEFINED_ROLES = ['pg_write_all_data', 'pg_write_server_files', 'pg_read_server_files', 'pg_execute_server_program'];

/**
 * Why the role `pool` logs in as is too powerful for the app of `appRole` to run as, or null.
 * A superuser (the cluster's own, a managed database's master user) or a member of the
 * owner's role under another name passed the config check, and with it privileges.sql bounds
 * nothing: such a login can disable the append-only trigger on `entries`, rewrite a balance,
 * drop a table. A member of a predefined role that writes every table (pg_write_all_data) can
 * rewrite a balance, and one of the server-file roles read or write the server's files. A role
 * with CREATEROLE can grant itself the owner's role. And a member of the
 * other app's role holds both apps' rights: the API's would write the ledger, the worker's
 * would claim idempotency keys. Asked of the server (`current_user` as PgBouncer logs in), so
 * whatever the URL says.
 */
export async function appLoginProblem(pool: Pool, appRole: AppRole): Promise<string | null> {
  const otherRole: AppRole = appRole === 'ledgerline_api' ? 'ledgerline_worker' : 'ledgerline_api';
  const { rows } = await pool.query(
    `SELECT current_user::text AS login, r.rolsuper AS superuser, r.rolcreaterole AS createrole,
            EXISTS (SELECT FROM pg_roles o WHERE o.rolname = $1 AND pg_has_role(current_user, o.oid, 'MEMBER')) AS owner,
            EXISTS (SELECT FROM pg_roles o WHERE o.rolname = $2 AND pg_has_role(current_user, o.oid, 'MEMBER')) AS other,
            ARRAY(SELECT o.rolname::text FROM pg_roles o WHERE o.rolname = ANY($3::text[]) AND pg_has_role(current_user, o.oid, 'MEMBER') ORDER BY 1) AS predefined
       FROM pg_roles r WHERE r.rolname = current_user`,
    [OWNER_ROLE, otherRole, UNBOUNDED_PREDEFINED_ROLES],
  );
  const row = rows[0] as { login: string; superuser: boolean; createrole: boolean; owner: boolean; other: boolean; predefined: string[] } | undefined;
  if (row === undefined) return null;
  const login = JSON.stringify(row.login.slice(0, 63));
  const own = 'the app needs its own least-privileged role (docs/security.md)';
  if (row.superuser) return `logs in as ${login}, a superuser: no privilege bounds it (it can disable the entries trigger and rewrite the ledger); ${own}`;
  if (row.owner) return `logs in as ${login}, a member of ${OWNER_ROLE}, the schema's owner; ${own}`;
  if (row.createrole) return `logs in as ${login}, which has CREATEROLE and can grant itself ${OWNER_ROLE}; ${own}`;
  if (row.predefined.length > 0) return `logs in as ${login}, a member of ${row.predefined.join(', ')}: it goes around the tables' privileges; ${own}`;
  if (row.other) return `logs in as ${login}, a member of ${otherRole}, the other app's role: it holds both apps' rights; ${own}`;
  return null;
}
