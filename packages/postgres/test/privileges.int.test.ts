// Proves `migrate` names the object and the way out when the schema holds an object another
// role owns (an operator review: a DBA's helper function made every migrate fail with a bare
// "must be owner of function ..."). Against the real Postgres through PgBouncer.
import { applyPrivileges, runAdminStatement, withDatabase } from '@ledgerline/postgres';
import { useTestDatabase } from '../../../test/support/database';
import { testServices } from '../../../test/support/env';

describe('privileges.sql', () => {
  const own = useTestDatabase(1);

  test('an object another role owns stops the migration with its statement and what to do, and changes nothing', async () => {
    const { db } = own;
    expect(await applyPrivileges(db.pool)).toBe(true); // as it stands: all the owner's
    const direct = withDatabase(testServices().databaseDirectUrl, db.name);
    // Roles are cluster-wide: one of this database's own, so two suites on one stack never meet.
    const role = `dba_of_${db.name}`;
    await runAdminStatement(direct, `DROP ROLE IF EXISTS ${role}`);
    await runAdminStatement(direct, `CREATE ROLE ${role} NOLOGIN`);
    try {
      await runAdminStatement(direct, 'CREATE FUNCTION dba_helper() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$');
      await runAdminStatement(direct, `ALTER FUNCTION dba_helper() OWNER TO ${role}`);
      await expect(applyPrivileges(db.pool)).rejects.toThrow(
        /^privileges: ALTER ROUTINE dba_helper\(\) OWNER TO ledgerline_owner failed as ledgerline_owner: must be owner of function dba_helper \(everything in schema public must belong to ledgerline_owner: have a superuser or the object's owner run that statement, or drop the object, then migrate again\)$/,
      );
      const owner = await db.pool.query(`SELECT proowner::regrole::text AS owner FROM pg_proc WHERE proname = 'dba_helper'`);
      expect(owner.rows).toEqual([{ owner: role }]);
      // What the message says to do, done: the next migrate passes.
      await runAdminStatement(direct, 'ALTER ROUTINE dba_helper() OWNER TO ledgerline_owner');
      expect(await applyPrivileges(db.pool)).toBe(true);
    } finally {
      await runAdminStatement(direct, 'DROP FUNCTION IF EXISTS dba_helper()');
      await runAdminStatement(testServices().databaseDirectUrl, `DROP ROLE IF EXISTS ${role}`);
    }
  });
});
