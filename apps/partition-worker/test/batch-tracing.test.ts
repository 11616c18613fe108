// The worker's batch span: none at all with tracing off; on, a root CONSUMER span linked once
// to each distinct context the batch's messages carry (only those it covers), whose own
// context is what the outbox rows carry on.
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ConsumedMessage } from '@ledgerline/kafka';
import { spanContextOf, startTracing } from '@ledgerline/tracing';
import { batchTracing } from '../src/batch-tracing';

const A = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const B = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const message = (offset: number, traceparent?: string): ConsumedMessage => ({
  offset: String(offset),
  key: null,
  value: Buffer.from('{}'),
  ...(traceparent ? { headers: { traceparent: Buffer.from(traceparent) } } : {}),
});

describe('batchTracing', () => {
  test('off: nothing to call', () => {
    expect(batchTracing()).toBeNull();
  });

  test('on: one root span per batch, linked once per distinct context of the messages it covers', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({ serviceName: 'test', exporter });
    try {
      const messages = [message(10, A), message(11), message(12, A), message(13, B), message(14, 'not a traceparent'), message(15, B)];
      // The batch covers the first five: the sixth (B again) is the next batch's.
      const span = batchTracing()!.start('ledger.commands', 2, messages, 5, 10n, 15n);
      span.end();
      const [batch] = exporter.getFinishedSpans();
      expect(batch!.name).toBe('apply batch ledger.commands');
      expect(batch!.kind).toBe(SpanKind.CONSUMER);
      expect(batch!.parentSpanContext).toBeUndefined();
      expect(batch!.links.map((l) => l.context.spanId)).toEqual(['b7ad6b7169203331', '00f067aa0ba902b7']);
      expect(batch!.attributes).toMatchObject({
        'messaging.destination.partition.id': '2',
        'messaging.batch.message_count': 5,
        'ledgerline.batch.from_offset': '10',
        'ledgerline.batch.to_offset': '15',
        'ledgerline.batch.traced_messages': 3,
      });
      expect(spanContextOf(span.headers)).toMatchObject({ traceId: batch!.spanContext().traceId, spanId: batch!.spanContext().spanId });
    } finally {
      await tracing.shutdown();
    }
  });
});
