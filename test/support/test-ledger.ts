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
