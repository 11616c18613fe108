// What the API publishes with tracing off and on: off, the routes publish through the
// producer itself and no message carries a header; on, each publish is a PRODUCER span under
// the active one, and every message carries that span's traceparent.
import { SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { startTracing } from '@ledgerline/tracing';
import type { CommandPublisher, OutgoingCommand } from '../src/ports';
import { commandPublisher } from '../src/tracing';

function recording(): CommandPublisher & { sent: OutgoingCommand[][] } {
  const sent: OutgoingCommand[][] = [];
  return {
    sent,
    async publishTogether(messages) {
      sent.push([...messages]);
    },
  };
}

const message = (key: string): OutgoingCommand => ({ topic: 'ledger.commands', partition: 3, key, value: '{}' });

describe('commandPublisher', () => {
  test('tracing off: the producer itself, and no header on any message', async () => {
    const producer = recording();
    const publisher = commandPublisher(producer);
    expect(publisher).toBe(producer);
    await publisher.publishTogether([message('a'), message('b')]);
    expect(producer.sent).toEqual([[message('a'), message('b')]]);
    for (const sent of producer.sent.flat()) expect(sent.headers).toBeUndefined();
  });

  test('tracing on: a PRODUCER span under the request, its traceparent on every message', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({ serviceName: 'test', exporter });
    try {
      const producer = recording();
      const publisher = commandPublisher(producer);
      await trace.getTracer('test').startActiveSpan('POST /v1/transfers', async (request) => {
        await publisher.publishTogether([message('a'), message('b')]);
        request.end();
      });
      const send = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.PRODUCER)!;
      const request = exporter.getFinishedSpans().find((s) => s.name === 'POST /v1/transfers')!;
      expect(send.name).toBe('send ledger.commands');
      expect(send.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
      expect(send.attributes['messaging.batch.message_count']).toBe(2);
      const traceparent = `00-${send.spanContext().traceId}-${send.spanContext().spanId}-01`;
      expect(producer.sent).toEqual([[{ ...message('a'), headers: { traceparent } }, { ...message('b'), headers: { traceparent } }]]);
    } finally {
      await tracing.shutdown();
    }
  });

  test('tracing on: a failed publish ends its span as an error and still throws', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({ serviceName: 'test', exporter });
    try {
      const publisher = commandPublisher({ publishTogether: async () => Promise.reject(new Error('broker down')) });
      await expect(publisher.publishTogether([message('a')])).rejects.toThrow('broker down');
      const [send] = exporter.getFinishedSpans();
      expect(send!.status).toMatchObject({ code: 2, message: 'broker down' });
    } finally {
      await tracing.shutdown();
    }
  });
});
