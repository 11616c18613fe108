// The tracing switch and the headers Kafka messages carry: off, nothing is injected or
// extracted; on, the active span's context round-trips through W3C trace-context headers.
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { spanContextOf, startTracing, traceHeaders, tracingEnabled } from '@ledgerline/tracing';

describe('tracing', () => {
  test('off (the default): not enabled, no headers even inside a span', () => {
    expect(tracingEnabled()).toBe(false);
    const span = trace.getTracer('test').startSpan('no-op');
    expect(traceHeaders(trace.setSpan(context.active(), span))).toEqual({});
    span.end();
    expect(spanContextOf({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' })).toBeNull();
  });

  test('on: the active span travels as traceparent and comes back as a remote span context', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({ serviceName: 'test', exporter });
    try {
      expect(tracingEnabled()).toBe(true);
      expect(() => startTracing({ serviceName: 'again', exporter })).toThrow(/already started/);
      const headers = trace.getTracer('test').startActiveSpan('publish', (span) => {
        const carried = traceHeaders();
        span.end();
        return carried;
      });
      const [span] = exporter.getFinishedSpans();
      const { traceId, spanId } = span!.spanContext();
      expect(headers.traceparent).toBe(`00-${traceId}-${spanId}-01`);
      expect(spanContextOf(headers)).toMatchObject({ traceId, spanId, isRemote: true });
      expect(span!.resource.attributes['service.name']).toBe('test');
      expect(spanContextOf({ traceparent: 'garbage' })).toBeNull();
      expect(spanContextOf({})).toBeNull();
    } finally {
      await tracing.shutdown();
    }
    expect(tracingEnabled()).toBe(false);
    expect(traceHeaders()).toEqual({});
  });

  test('shutdown is bounded and never throws when the collector does not answer', async () => {
    let asked = 0;
    const hanging: SpanExporter = {
      export: (_spans, done) => done({ code: 1, error: new Error('ECONNREFUSED') }),
      shutdown: () => {
        asked += 1;
        return new Promise<void>(() => undefined); // never answers
      },
    };
    const tracing = startTracing({ serviceName: 'test', exporter: hanging });
    trace.getTracer('test').startSpan('lost').end();
    // Bounded: a shutdown that waited for the exporter would never resolve (Jest's timeout).
    await tracing.shutdown(200);
    // The exporter was asked to shut down, never answered, and tracing is off all the same.
    expect(asked).toBe(1);
    expect(tracingEnabled()).toBe(false);
  });
});
