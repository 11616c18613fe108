/**
 * Tracing, off by default: OpenTelemetry spans from the HTTP request, through the Kafka
 * message headers, to the batch that applied it (README, "Tracing").
 *
 * A process turns it on once, at start (`startTracing`, called by each app's main.ts when
 * OTEL_TRACING=on); everything else asks `tracingEnabled()` when it is built and, when it is
 * off, wires nothing: no middleware, no publisher wrapper, no header read on the worker's hot
 * path. The OpenTelemetry API without a registered SDK is a no-op anyway; not wiring it at
 * all makes "off" cost nothing, not merely little.
 *
 * Context crosses Kafka as the W3C `traceparent` header alone, a plain string on the message
 * (packages/kafka carries it as a Record<string, string>): 55 bytes a message, whatever the
 * client sent. A client's `baggage` (up to 8 KB) and `tracestate` once went onto every message
 * its request published, uncounted by the produce size bounds: about 130 messages of a batch
 * in one partition made a request Kafka refused as too large, which the producer resends
 * forever, stopping that API's publishing (an outside review).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Context, ROOT_CONTEXT, type SpanContext, context, isSpanContextValid, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

/** The headers a traced Kafka message carries: W3C `traceparent`, nothing else. */
export type TraceHeaders = Record<string, string>;

export interface TracingOptions {
  /** `service.name` of every span (OTEL_SERVICE_NAME, else the app's own name). */
  serviceName: string;
  /** More resource attributes, e.g. `service.instance.id` (a worker's id). */
  attributes?: Record<string, string>;
  /**
   * Where spans go. Default: OTLP over HTTP, configured by the exporter's standard variables
   * (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS),
   * sent in batches. A given exporter (tests: InMemorySpanExporter) gets each span as it ends.
   */
  exporter?: SpanExporter;
}

export interface Tracing {
  /**
   * Exports what is buffered (waiting at most `waitMs` for the collector), then turns tracing
   * off again (the global API is a no-op after). Never throws: a collector that is down costs
   * the spans still buffered, not a failed shutdown.
   */
  shutdown(waitMs?: number): Promise<void>;
}

/** How long a stopping process waits for the collector to take its last spans. */
const SHUTDOWN_WAIT_MS = 2_000;

let started: NodeTracerProvider | null = null;

/**
 * Starts the SDK for this process: the global tracer provider, the W3C trace-context and
 * baggage propagators, and the AsyncLocalStorage context manager (a span made active around
 * an async call stays active in its continuations).
 */
export function startTracing(options: TracingOptions): Tracing {
  if (started) throw new Error('tracing is already started in this process');
  const processor = options.exporter ? new SimpleSpanProcessor(options.exporter) : new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName, ...options.attributes }),
    spanProcessors: [processor],
  });
  provider.register();
  started = provider;
  return {
    async shutdown(waitMs = SHUTDOWN_WAIT_MS) {
      if (started !== provider) return;
      const abandon = new AbortController();
      await Promise.race([
        provider.shutdown().catch(() => undefined),
        sleep(waitMs, undefined, { ref: false, signal: abandon.signal }).catch(() => undefined),
      ]);
      abandon.abort();
      trace.disable();
      propagation.disable();
      context.disable();
      started = null;
    },
  };
}

/** True once `startTracing` ran in this process (and until its shutdown). */
export function tracingEnabled(): boolean {
  return started !== null;
}

/** The W3C `traceparent` header for `ctx` (the active context by default); empty when tracing is off or there is no span. */
export function traceHeaders(ctx: Context = context.active()): TraceHeaders {
  const carrier: TraceHeaders = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent === undefined ? {} : { traceparent: carrier.traceparent };
}

/** The remote span context that `headers` carry (a consumed message's), or null. */
export function spanContextOf(headers: Readonly<Record<string, string>>): SpanContext | null {
  const spanContext = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, headers));
  return spanContext && isSpanContextValid(spanContext) ? spanContext : null;
}

/**
 * OpenTelemetry's messaging attribute names (semantic conventions, still "incubating", so
 * copied here as the project recommends rather than imported from its unstable entry point).
 */
export const MESSAGING_ATTRIBUTES = {
  system: 'messaging.system',
  destination: 'messaging.destination.name',
  partition: 'messaging.destination.partition.id',
  operationType: 'messaging.operation.type',
  batchMessageCount: 'messaging.batch.message_count',
} as const;
