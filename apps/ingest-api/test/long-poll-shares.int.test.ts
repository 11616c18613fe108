// Proves each principal's share of the API's long polls (API_LONG_POLLS_PER_PRINCIPAL_MAX):
// past its share a principal's next long poll answers at once with the current state, while
// another principal's still waits, and a share comes back when its poll ends. Without it one
// principal polling hard held every slot of the process (an outside review of what one client
// can exhaust). Against the real API, Kafka, Postgres through PgBouncer and Redis; no worker
// runs, so the transfer stays ACCEPTED and every long poll waits its whole wait_ms.
import { randomUUID } from 'node:crypto';
import type { RoutingTable } from '@ledgerline/domain';
import { loadRouting } from '@ledgerline/postgres';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { Client, startApi, token } from '../../../test/support/api';
import { openAccountOn } from '../../../test/support/ledger';
import { waitFor } from '../../../test/support/worker';

describe("a principal's share of the long polls", () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let routing: RoutingTable;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    topics = await createTestTopics(2);
    routing = await loadRouting(db.pool);
  });

  afterAll(async () => {
    await topics.delete();
    await db.drop();
  });

  test('past its share a long poll answers at once; another principal still waits; the share comes back', async () => {
    const api = await startApi({ databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` }, { API_LONG_POLLS_PER_PRINCIPAL_MAX: '1' });
    try {
      const alice = new Client(api.url, await token('alice'));
      const admin = new Client(api.url, await token('ops', 'ledger:admin'));
      const from = await openAccountOn(db.pool, routing, 0, 'alice');
      const to = await openAccountOn(db.pool, routing, 1, 'alice');
      const sent = await alice.post('/v1/transfers', { from_account_id: from, to_account_id: to, amount: '1', currency: 'USD' }, randomUUID());
      expect(sent.status).toBe(202);
      const path = `/v1/transfers/${sent.body.id}?wait_ms=1500`;
      const metrics = async () => (await fetch(`${api.url}/metrics`)).text();
      const waiting = async () => Number((await metrics()).match(/ledger_api_long_polls_waiting (\d+)/)?.[1] ?? -1);
      const refused = async () => {
        const text = await metrics();
        const count = (limit: string) => Number(text.match(new RegExp(`ledger_api_long_polls_refused_total\\{limit="${limit}"\\} (\\d+)`))?.[1] ?? 0);
        return { principal: count('principal'), process: count('process') };
      };

      // Alice's first long poll takes her one slot and waits; her second, sent while the first
      // waits, is past her share: it answers (ACCEPTED, as now) before the first does.
      const order: string[] = [];
      const first = alice.get(path).then((answer) => (order.push('first'), answer));
      await waitFor('the first long poll waiting', async () => (await waiting()) === 1);
      const second = await alice.get(path);
      order.push('second');
      expect([second.status, second.body.status]).toEqual([200, 'ACCEPTED']);
      expect(await refused()).toEqual({ principal: 1, process: 0 });
      // Another principal's long poll is not refused by alice's share: it waits.
      const other = await admin.get(path);
      expect([other.status, other.body.status]).toEqual([200, 'ACCEPTED']);
      expect(await refused()).toEqual({ principal: 1, process: 0 });
      expect((await first).body.status).toBe('ACCEPTED');
      expect(order).toEqual(['second', 'first']);

      // Her slot is back once her first poll ended: her next long poll waits, refused by nothing.
      expect((await alice.get(path)).status).toBe(200);
      expect(await refused()).toEqual({ principal: 1, process: 0 });
    } finally {
      await api.stop();
    }
  });
});
