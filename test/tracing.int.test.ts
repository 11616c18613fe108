// Proves the trace of one transfer end to end, with tracing on in this process and spans kept
// in memory: the real API (request span, producer span, `traceparent` in the Kafka message's
// headers), real Kafka, and a real worker whose batch span links to the request's trace;
// the debit batch's context then travels with the credit leg through the outbox relay, and
// the batch that applies the credit links to it.
import { randomUUID } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { type RoutingTable } from '@ledgerline/domain';
import { PartitionConsumer, headersOf } from '@ledgerline/kafka';
import { loadRouting } from '@ledgerline/postgres';
import { type Tracing, startTracing } from '@ledgerline/tracing';
import { type TestDatabase, createTestDatabase } from './support/database';
import { type TestTopics, createTestTopics } from './support/kafka';
import { Client, startApi, token } from './support/api';
import { startWorker, waitFor } from './support/worker';

const PARTITIONS = 2;

describe('tracing: HTTP request -> Kafka headers -> the batch that applied it', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let db: TestDatabase;
  let topics: TestTopics;
  let api: Awaited<ReturnType<typeof startApi>>;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let routing: RoutingTable;

  beforeAll(async () => {
    // Before the API and the worker are built: they wire their spans only when it is on.
    tracing = startTracing({ serviceName: 'ledgerline-test', exporter });
    db = await createTestDatabase(PARTITIONS);
    topics = await createTestTopics(PARTITIONS);
    const target = { databaseUrl: db.url, topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
    worker = await startWorker(target, { WORKER_HOLD_EXPIRY_SCAN_MS: '0' });
    api = await startApi(target);
    routing = await loadRouting(db.pool);
  });

  const afterDone: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const done of afterDone) await done();
    await api.stop();
    await worker.stop();
    expect(worker.fatal).toEqual([]);
    await topics.delete();
    await db.drop();
    await tracing.shutdown();
  });

  /** Opens an account of `client`'s owner on `partition` (ids derive from the key: try keys). */
  async function openAccountOn(client: Client, partition: number): Promise<string> {
    for (;;) {
      const answer = await client.post('/v1/accounts', { currency: 'USD' }, randomUUID());
      expect(answer.status).toBe(201);
      if (routing.partitionOf(answer.body.id) === partition) return answer.body.id;
    }
  }

  async function completed(client: Client, id: string): Promise<void> {
    await waitFor(`transfer ${id} COMPLETED`, async () => (await client.get(`/v1/transfers/${id}?wait_ms=5000`)).body.status === 'COMPLETED');
  }

  const spans = () => exporter.getFinishedSpans();
  const batchSpans = () => spans().filter((s) => s.kind === SpanKind.CONSUMER && s.name.startsWith('apply batch '));
  const linksTo = (span: ReadableSpan, traceId: string) => span.links.some((l) => l.context.traceId === traceId);

  test('the batch that applied a transfer links to its request, and the credit batch to the debit batch', async () => {
    const alice = new Client(api.url, await token('alice'));
    const admin = new Client(api.url, await token('ops', 'ledger:admin'));
    const from = await openAccountOn(alice, 0);
    const to = await openAccountOn(alice, 1);
    const deposit = await admin.post('/v1/deposits', { account_id: from, amount: '1000', currency: 'USD' });
    expect(deposit.status).toBe(202);
    await completed(alice, deposit.body.id);

    exporter.reset();
    const transfer = await alice.post('/v1/transfers', { from_account_id: from, to_account_id: to, amount: '250', currency: 'USD' });
    expect(transfer.status).toBe(202);
    await completed(alice, transfer.body.id);

    // The request: a SERVER span named by its route, and a PRODUCER span under it.
    // Spans end before the transfer shows COMPLETED (a batch's span before its commit is
    // announced), the request's when its response is closed: a short wait is plenty.
    const request = await waitFor('the request span', async () =>
      spans().find((s) => s.kind === SpanKind.SERVER && s.attributes['http.route'] === '/v1/transfers'),
      5_000,
    );
    expect(request.name).toBe('POST /v1/transfers');
    expect(request.attributes['http.response.status_code']).toBe(202);
    const traceId = request.spanContext().traceId;
    const send = spans().find((s) => s.kind === SpanKind.PRODUCER && s.spanContext().traceId === traceId);
    expect(send).toBeDefined();
    expect(send!.parentSpanContext?.spanId).toBe(request.spanContext().spanId);

    // The debit: the batch on the source partition links to the producer span, by the
    // traceparent its message carried; it is a trace of its own (a batch applies many requests).
    const debit = await waitFor('the debit batch span', async () => batchSpans().find((s) => linksTo(s, traceId)), 5_000);
    expect(debit.attributes['messaging.destination.partition.id']).toBe('0');
    expect(debit.links.find((l) => l.context.traceId === traceId)!.context.spanId).toBe(send!.spanContext().spanId);
    expect(debit.spanContext().traceId).not.toBe(traceId);
    expect(debit.parentSpanContext).toBeUndefined();

    // The credit leg went through the outbox relay with the debit batch's context.
    const credit = await waitFor('the credit batch span', async () => batchSpans().find((s) => linksTo(s, debit.spanContext().traceId)), 5_000);
    expect(credit.attributes['messaging.destination.partition.id']).toBe('1');
    expect(credit.links.find((l) => l.context.traceId === debit.spanContext().traceId)!.context.spanId).toBe(debit.spanContext().spanId);
  });

  test("a command carries its trace's traceparent and nothing else of the client's: no baggage, no tracestate (an outside review)", async () => {
    // A client's 8 KB baggage went onto every message its request published, uncounted by the
    // produce size bounds: a large batch made a request Kafka refused, resent forever.
    const admin = new Client(api.url, await token('ops', 'ledger:admin'));
    const account = await openAccountOn(admin, 0);
    const traceparent = `00-${randomUUID().replace(/-/g, '')}-${randomUUID().replace(/-/g, '').slice(0, 16)}-01`;
    const sent = await admin.request('POST', '/v1/deposits', {
      body: { account_id: account, amount: '5', currency: 'USD' },
      headers: { 'idempotency-key': randomUUID(), traceparent, tracestate: 'vendor=abc', baggage: `k=${'x'.repeat(8_000)}` },
    });
    expect(sent.status).toBe(202);
    const headers = await new Promise<Record<string, string>>((resolve, reject) => {
      const consumer = new PartitionConsumer({
        kafka: topics.kafka,
        topic: topics.names.commands,
        groupId: `${topics.prefix}-headers`,
        partitionsConcurrentMax: 1,
        fetchBytesMax: 1_048_576,
        fetchWaitMs: 50,
        fetchBytesMin: 1,
        onAssignment: () => undefined,
        onFetch: async (fetched) => {
          const message = fetched.messages.find((m) => m.value?.toString().includes(sent.body.id));
          if (message) resolve(headersOf(message));
          if (fetched.messages.length > 0) fetched.markProcessed(BigInt(fetched.messages[fetched.messages.length - 1]!.offset));
        },
        log: () => undefined,
      });
      consumer.start().then(
        () => setTimeout(() => reject(new Error('the deposit was not found on the commands topic')), 20_000).unref(),
        reject,
      );
      afterDone.push(() => consumer.stop());
    });
    expect(Object.keys(headers)).toEqual(['traceparent']);
    expect(headers.traceparent!.slice(3, 35)).toBe(traceparent.slice(3, 35)); // the client's trace, continued
  });
});
