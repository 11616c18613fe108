// Proves that with LEDGERLINE_ENV=production the API and the worker refuse to start logged in
// to Postgres as a role no privilege bounds: a superuser, or a member of ledgerline_owner under
// another name. The config check reads only the URL (the local passwords, the owner's name), so
// a superuser with a password of its own passed it (an operator run: the API got as far as
// the Kafka topic check, the worker to Kafka). Nor a role with CREATEROLE (it can grant itself
// the owner's role), nor a member of the other app's role (both apps' rights in one login), nor
// one of pg_write_all_data (every table, whatever the grants). A
// least-privileged login still gets past it.
import { randomBytes } from 'node:crypto';
import { createPool, withDatabase } from '@ledgerline/postgres';
import { startApi } from './support/api';
import { type TestDatabase, createTestDatabase } from './support/database';
import { type TestTopics, createTestTopics } from './support/kafka';
import { testServices } from './support/env';
import { startWorker } from './support/worker';

describe('production refuses a Postgres login that no privilege bounds', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  const suffix = randomBytes(4).toString('hex');
  const password = randomBytes(24).toString('base64url');
  const roles = {
    superuser: `ll_test_super_${suffix}`,
    ownerMember: `ll_test_owner_member_${suffix}`,
    roleMaker: `ll_test_createrole_${suffix}`,
    bothApps: `ll_test_both_apps_${suffix}`,
    writesAll: `ll_test_writes_all_${suffix}`,
    api: `ll_test_api_${suffix}`,
    worker: `ll_test_worker_${suffix}`,
  };
  const secret = () => randomBytes(48).toString('base64');
  /**
   * The local stack's Kafka has no TLS listener. Production wants TLS to Kafka even through a
   * loopback bootstrap address (the brokers the cluster advertises may be elsewhere); this
   * test is about the Postgres login, so it says, as an operator would, that Kafka stays here.
   */
  const kafkaOnThisMachine = { LEDGERLINE_PLAINTEXT_ALLOWED: 'kafka' };

  /** Straight to Postgres (PgBouncer's user list knows only the stack's roles), as `role`. */
  function loginUrl(role: string): string {
    const url = new URL(withDatabase(testServices().databaseDirectUrl, new URL(db.url).pathname.slice(1)));
    url.username = role;
    url.password = password;
    return url.toString();
  }

  async function asSuperuser(sql: string): Promise<void> {
    const pool = createPool({ connectionString: testServices().databaseDirectUrl, connectionsMax: 1, connectTimeoutMs: 10_000, applicationName: 'production-login-test' });
    try {
      await pool.query(sql);
    } finally {
      await pool.end();
    }
  }

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    const login = `LOGIN PASSWORD '${password}'`;
    await asSuperuser(`CREATE ROLE ${roles.superuser} SUPERUSER ${login}`);
    await asSuperuser(`CREATE ROLE ${roles.ownerMember} ${login}; GRANT ledgerline_owner TO ${roles.ownerMember}`);
    await asSuperuser(`CREATE ROLE ${roles.roleMaker} CREATEROLE ${login}; GRANT ledgerline_api, ledgerline_worker TO ${roles.roleMaker}`);
    await asSuperuser(`CREATE ROLE ${roles.bothApps} ${login}; GRANT ledgerline_api, ledgerline_worker TO ${roles.bothApps}`);
    await asSuperuser(`CREATE ROLE ${roles.writesAll} ${login}; GRANT ledgerline_api, ledgerline_worker TO ${roles.writesAll}; GRANT pg_write_all_data TO ${roles.writesAll}`);
    await asSuperuser(`CREATE ROLE ${roles.api} ${login}; GRANT ledgerline_api TO ${roles.api}`);
    await asSuperuser(`CREATE ROLE ${roles.worker} ${login}; GRANT ledgerline_worker TO ${roles.worker}`);
  });

  afterAll(async () => {
    await topics.delete();
    await db.drop();
    for (const role of Object.values(roles)) await asSuperuser(`DROP ROLE IF EXISTS ${role}`);
  });

  const target = () => ({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` });

  /** The error a start ended with; a start that succeeded is stopped again and reported as such. */
  async function startError(start: () => Promise<{ stop(): Promise<void> }>): Promise<Error | 'started'> {
    try {
      const runtime = await start();
      await runtime.stop();
      return 'started';
    } catch (error) {
      return error as Error;
    }
  }

  const api = (role: string) =>
    startError(() =>
      startApi(target(), {
        LEDGERLINE_ENV: 'production',
        ...kafkaOnThisMachine,
        API_DATABASE_URL: loginUrl(role),
        JWT_SECRET: secret(),
        LEDGERLINE_COMMAND_KEY: secret(),
        // Past the config's durability check; the start-up check of the topic comes after the login's.
        KAFKA_REPLICATION_FACTOR: '2',
        KAFKA_MIN_INSYNC_REPLICAS: '2',
      }),
    );

  const worker = (role: string) => startError(() => startWorker(target(), { LEDGERLINE_ENV: 'production', ...kafkaOnThisMachine, WORKER_DATABASE_URL: loginUrl(role), LEDGERLINE_COMMAND_KEY: secret() }));

  test('the API refuses a superuser and a member of ledgerline_owner, naming API_DATABASE_URL', async () => {
    const superuser = await api(roles.superuser);
    expect(superuser).toMatchObject({ name: 'UnsafeConfigError' });
    expect(String((superuser as Error).message)).toContain(`API_DATABASE_URL: logs in as "${roles.superuser}", a superuser`);
    const member = await api(roles.ownerMember);
    expect(member).toMatchObject({ name: 'UnsafeConfigError' });
    expect(String((member as Error).message)).toContain(`API_DATABASE_URL: logs in as "${roles.ownerMember}", a member of ledgerline_owner`);
  });

  test('the worker refuses them too, naming WORKER_DATABASE_URL', async () => {
    const superuser = await worker(roles.superuser);
    expect(superuser).toMatchObject({ name: 'UnsafeConfigError' });
    expect(String((superuser as Error).message)).toContain(`WORKER_DATABASE_URL: logs in as "${roles.superuser}", a superuser`);
    expect(await worker(roles.ownerMember)).toMatchObject({ name: 'UnsafeConfigError' });
  });

  test("a role with CREATEROLE, or a member of the other app's role, is refused by both apps", async () => {
    for (const start of [api, worker]) {
      const roleMaker = await start(roles.roleMaker);
      expect(roleMaker).toMatchObject({ name: 'UnsafeConfigError' });
      expect(String((roleMaker as Error).message)).toContain(`logs in as "${roles.roleMaker}", which has CREATEROLE`);
    }
    expect(String(((await api(roles.bothApps)) as Error).message)).toContain(`API_DATABASE_URL: logs in as "${roles.bothApps}", a member of ledgerline_worker, the other app's role`);
    expect(String(((await worker(roles.bothApps)) as Error).message)).toContain(`WORKER_DATABASE_URL: logs in as "${roles.bothApps}", a member of ledgerline_api, the other app's role`);
  });

  test('a member of pg_write_all_data (it writes a balance whatever the grants say) is refused by both apps (an outside security review)', async () => {
    // A member of its own app's role as well, so that only the predefined role refuses it.
    await asSuperuser(`REVOKE ledgerline_worker FROM ${roles.writesAll}`);
    expect(String(((await api(roles.writesAll)) as Error).message)).toContain(`API_DATABASE_URL: logs in as "${roles.writesAll}", a member of pg_write_all_data`);
    await asSuperuser(`GRANT ledgerline_worker TO ${roles.writesAll}; REVOKE ledgerline_api FROM ${roles.writesAll}`);
    expect(String(((await worker(roles.writesAll)) as Error).message)).toContain(`WORKER_DATABASE_URL: logs in as "${roles.writesAll}", a member of pg_write_all_data`);
  });

  test("a login of the app's own role's is not refused for it", async () => {
    // The API goes on to the commands topic (one replica here, two asked for): not a login refusal.
    const apiOutcome = await api(roles.api);
    expect(apiOutcome === 'started' || (apiOutcome as Error).name !== 'UnsafeConfigError').toBe(true);
    expect(await worker(roles.worker)).toBe('started');
  });
});
