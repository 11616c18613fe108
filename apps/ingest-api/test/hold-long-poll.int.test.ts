// Proves `GET /v1/holds/{id}?wait_ms=N&until=ended` (docs/api.md): a long poll that waits
// while the hold is ACCEPTED or HELD, so a client that voided or captured a hold learns of its
// end without polling. Each poll waits up to 30 s, and the API here re-checks waiting polls
// against Postgres only once a minute (API_LONG_POLL_RECHECK_MS): a poll answered with the
// hold ended within half its wait_ms was woken by the worker's notification of the end, not by
// its time running out (the last read of a poll that timed out would find the end too, so the
// answer alone does not tell). Not a measure of speed: a notification takes milliseconds.
// Against the real API, a worker, Kafka, Postgres through PgBouncer and Redis.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadRouting, reconcile } from '@ledgerline/postgres';
import type { RoutingTable } from '@ledgerline/domain';
import { type TestDatabase, createTestDatabase } from '../../../test/support/database';
import { type TestTopics, createTestTopics } from '../../../test/support/kafka';
import { Client, startApi, token } from '../../../test/support/api';
import { startWorker } from '../../../test/support/worker';

const PARTITIONS = 2;
/** The most a long poll waits (docs/api.md). */
const WAIT_MS = 30_000;
/** A poll answered within this was woken, not timed out. */
const WOKEN_WITHIN_MS = WAIT_MS / 2;

describe('a long poll until a hold has ended', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let api: Awaited<ReturnType<typeof startApi>>;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let routing: RoutingTable;
  let alice: Client;
  let admin: Client;
  let target: { databaseUrl: string; topicPrefix: string; redisKeyPrefix: string };

  beforeAll(async () => {
    db = await createTestDatabase(PARTITIONS);
    topics = await createTestTopics(PARTITIONS);
    target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
    worker = await startWorker(target, { WORKER_HOLD_EXPIRY_SCAN_MS: '500' });
    api = await startApi(target, { API_LONG_POLL_RECHECK_MS: '60000' });
    routing = await loadRouting(db.pool);
    alice = new Client(api.url, await token('alice'));
    admin = new Client(api.url, await token('ops', 'ledger:admin'));
  });

  afterAll(async () => {
    const report = await reconcile(db.pool, { outboxAgeMaxMs: 60_000 });
    await api.stop();
    await worker.stop();
    expect(worker.fatal).toEqual([]);
    expect(report.checks.filter((c) => c.violations > 0)).toEqual([]);
    await topics.delete();
    await db.drop();
  });

  async function openAccount(partition: number): Promise<string> {
    for (;;) {
      const answer = await alice.post('/v1/accounts', { currency: 'USD' }, randomUUID());
      expect(answer.status).toBe(201);
      if (routing.partitionOf(answer.body.id) === partition) return answer.body.id as string;
    }
  }

  /** A HELD hold of 40 on a funded account of `partition`. */
  async function heldHold(partition: number, expiresInS = 600): Promise<{ account: string; id: string }> {
    const account = await openAccount(partition);
    const deposit = await admin.post('/v1/deposits', { account_id: account, amount: '100', currency: 'USD' });
    expect((await admin.get(`/v1/transfers/${deposit.body.id as string}?wait_ms=15000`)).body.status).toBe('COMPLETED');
    const placed = await alice.post('/v1/holds', { account_id: account, amount: '40', currency: 'USD', expires_in_s: expiresInS });
    expect(placed.status).toBe(202);
    const applied = await alice.get(`/v1/holds/${placed.body.id as string}?wait_ms=15000`);
    expect(applied.body.status).toBe('HELD');
    return { account, id: placed.body.id as string };
  }

  /** Starts the long poll, and once it is waiting, does `end`. */
  async function pollWhile(id: string, end: () => Promise<unknown>) {
    const started = Date.now();
    const poll = alice.get(`/v1/holds/${id}?wait_ms=${WAIT_MS}&until=ended`);
    await sleep(300);
    await end();
    const answer = await poll;
    return { answer, tookMs: Date.now() - started };
  }

  test('a void ends the poll with the hold VOIDED', async () => {
    const { id } = await heldHold(0);
    const { answer, tookMs } = await pollWhile(id, () => alice.post(`/v1/holds/${id}/void`, {}));
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('VOIDED');
    expect(tookMs).toBeLessThan(WOKEN_WITHIN_MS);
  });

  test('a capture across partitions ends the poll with the hold CAPTURED', async () => {
    const { id } = await heldHold(0);
    const destination = await openAccount(1);
    const { answer, tookMs } = await pollWhile(id, () => alice.post(`/v1/holds/${id}/capture`, { to_account_id: destination, amount: '25' }, randomUUID()));
    expect(answer.body).toMatchObject({ status: 'CAPTURED', captured_amount: '25' });
    expect(tookMs).toBeLessThan(WOKEN_WITHIN_MS);
  });

  test('the expiry scan ends the poll with the hold EXPIRED', async () => {
    const { id } = await heldHold(1, 1);
    const started = Date.now();
    const answer = await alice.get(`/v1/holds/${id}?wait_ms=${WAIT_MS}&until=ended`);
    expect(answer.body.status).toBe('EXPIRED');
    expect(Date.now() - started).toBeLessThan(WOKEN_WITHIN_MS);
  });

  test('a hold that stays HELD is answered HELD once wait_ms has passed; without until=ended the poll does not wait for its end', async () => {
    const { id } = await heldHold(0);
    expect((await alice.get(`/v1/holds/${id}?wait_ms=300&until=ended`)).body.status).toBe('HELD');
    const applied = alice.get(`/v1/holds/${id}?wait_ms=${WAIT_MS}`);
    const until = alice.get(`/v1/holds/${id}?wait_ms=${WAIT_MS}&until=applied`);
    expect((await applied).body.status).toBe('HELD');
    expect((await until).body.status).toBe('HELD');
    await alice.post(`/v1/holds/${id}/void`, {});
  });

  test('the safety re-check (every 50 ms on this API) does not end a poll on a hold that is still HELD', async () => {
    const { id } = await heldHold(0);
    // The re-check asks Postgres which waited keys are settled: for a poll until ended, only
    // a hold that is no longer HELD (a poll waiting for the placement is settled by any row).
    const recheckingApi = await startApi(target, { API_LONG_POLL_RECHECK_MS: '50' });
    try {
      const viaRechecking = new Client(recheckingApi.url, await token('alice'));
      const poll = viaRechecking.get(`/v1/holds/${id}?wait_ms=${WAIT_MS}&until=ended`);
      await sleep(1_000);
      await alice.post(`/v1/holds/${id}/void`, {});
      expect((await poll).body.status).toBe('VOIDED');
    } finally {
      await recheckingApi.stop();
    }
  });

  test('until is applied or ended', async () => {
    const { id } = await heldHold(0);
    const answer = await alice.get(`/v1/holds/${id}?until=captured`);
    expect(answer.status).toBe(400);
    expect(answer.body.error.details).toEqual([expect.objectContaining({ path: 'until' })]);
  });
});
