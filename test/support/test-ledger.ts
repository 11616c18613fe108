import { type TestDatabase, createTestDatabase } from './database';
import { type TestTopics, createTestTopics } from './kafka';

export interface TestLedger {
  readonly db: TestDatabase;
  readonly topics: TestTopics;
  /** What the API, a worker and ledgerctl are pointed at: this file's database, topics and Redis key prefix. */
  readonly target: { databaseUrl: string; topicPrefix: string; redisKeyPrefix: string };
}

/**
 * A test file's own ledger: a database cloned from the migrated template and its own topics
 * (`partitions` each), made before the file's tests and dropped after them. Call it at the top
 * of a `describe`; read its members inside the tests (they exist once `beforeAll` ran).
 *
 * Jest runs a block's `afterAll` hooks in the order they were declared, so this one, declared
 * first, drops the ledger before any `afterAll` of the file runs: a worker or an API started
 * in `beforeAll` and stopped in `afterAll` would be left running against a dropped database
 * and deleted topics (retrying until it stops). Stop what a test starts in that test, or give
 * such a `describe` hooks of its own (createTestDatabase, createTestTopics).
 */
export function useTestLedger(partitions: number): TestLedger {
  let db: TestDatabase | undefined;
  let topics: TestTopics | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(partitions);
    topics = await createTestTopics(partitions);
  });
  afterAll(async () => {
    await topics?.delete();
    await db?.drop();
  });
  const made = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useTestLedger: read inside a test (after beforeAll)');
    return value;
  };
  return {
    get db() {
      return made(db);
    },
    get topics() {
      return made(topics);
    },
    get target() {
      const { prefix } = made(topics);
      return { databaseUrl: made(db).url, topicPrefix: prefix, redisKeyPrefix: `${prefix}:` };
    },
  };
}
