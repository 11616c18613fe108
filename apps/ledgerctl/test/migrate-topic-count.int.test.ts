// Proves that `ledgerctl migrate` refuses a commands topic with fewer partitions than its
// routing table uses (made earlier by hand, or by a first migrate that failed between the
// topics and the table): it exited 0 and printed the topic's count, and every command of the
// buckets routed past the topic's end then failed to publish (an outside review of ledgerctl).
// The real ledgerctl in a child process, against Postgres through PgBouncer and Kafka.
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { ledgerctlFor } from '../../../test/support/ledgerctl';

describe('ledgerctl migrate and the commands topic\'s partition count', () => {
  let db: TestDatabase;
  let small: TestTopics;
  let fitting: TestTopics;

  beforeAll(async () => {
    db = await createTestDatabase(4); // routing over partitions 0..3
    small = await createTestTopics(2);
    fitting = await createTestTopics(4);
  });
  afterAll(async () => {
    await small.delete();
    await fitting.delete();
    await db.drop();
  });

  test('a topic with fewer partitions than the routing table uses is refused, exit 2, naming the command that grows it', async () => {
    const refused = await ledgerctlFor({ databaseUrl: db.url, topicPrefix: small.prefix })(['migrate'], { KAFKA_PARTITIONS: '4' });
    expect(refused.code).toBe(2);
    expect(refused.err).toContain(`${small.names.commands} has 2 partitions but the routing table sends buckets to partitions up to 3`);
    expect(refused.err).toContain('ledgerctl partitions add --to 4');
    expect(await small.admin.partitionCount(small.names.commands)).toBe(2); // nothing grown behind the operator's back
  });

  test('a topic that fits passes', async () => {
    const passed = await ledgerctlFor({ databaseUrl: db.url, topicPrefix: fitting.prefix })(['migrate'], { KAFKA_PARTITIONS: '4' });
    expect([passed.code, passed.err]).toEqual([0, '']);
    expect(passed.out).toContain(`topics ready: ${fitting.names.commands} (4 partitions)`);
  });
});
