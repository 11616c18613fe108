/**
 * The worker's spans, wired only when tracing is on (packages/tracing, README "Tracing").
 *
 * One span per batch (one Postgres transaction, `writeBatch`). A batch applies many requests,
 * each with a trace of its own, so the span is not a child of any of them: it starts a trace
 * of its own and LINKS to the context each applied message carries in its headers (the API's
 * producer span), once per distinct context. Its own context goes on in the headers of the
 * rows the batch committed to the outbox (credit and refund legs, events), so the batch that
 * applies a credit leg links back to the batch that debited it.
 *
 * Off, the applier holds no BatchTracing (null) and never reads a header.
 */
import { type Link, SpanKind, SpanStatusCode, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { type ConsumedMessage, headersOf } from '@ledgerline/kafka';
import { MESSAGING_ATTRIBUTES as M, type TraceHeaders, spanContextOf, traceHeaders, tracingEnabled } from '@ledgerline/tracing';

/** The SDK's default link limit per span (OTEL_SPAN_LINK_COUNT_LIMIT): links past it would be dropped. */
const LINKS_MAX = 128;

export interface BatchSpan {
  /** This batch's context, for the headers of the outbox rows it committed. */
  readonly headers: TraceHeaders;
  end(): void;
  fail(error: unknown): void;
}

export interface BatchTracing {
  /** A span for the batch of `messages[0 .. count)`, offsets [fromOffset, toOffset). */
  start(topic: string, partition: number, messages: readonly ConsumedMessage[], count: number, fromOffset: bigint, toOffset: bigint): BatchSpan;
}

/** The applier's tracing: null when tracing is off (nothing to call, nothing allocated). */
export function batchTracing(): BatchTracing | null {
  if (!tracingEnabled()) return null;
  const tracer = trace.getTracer('@ledgerline/partition-worker');
  return {
    start(topic, partition, messages, count, fromOffset, toOffset) {
      const { links, traced } = linksOf(messages, count);
      const span = tracer.startSpan(
        `apply batch ${topic}`,
        {
          kind: SpanKind.CONSUMER,
          root: true,
          links,
          attributes: {
            [M.system]: 'kafka',
            [M.destination]: topic,
            [M.partition]: String(partition),
            [M.operationType]: 'process',
            [M.batchMessageCount]: count,
            'ledgerline.batch.from_offset': fromOffset.toString(),
            'ledgerline.batch.to_offset': toOffset.toString(),
            // Messages that carried a context; more than links when several share one (a
            // batch request), or past the link limit.
            'ledgerline.batch.traced_messages': traced,
          },
        },
        ROOT_CONTEXT,
      );
      return {
        headers: traceHeaders(trace.setSpan(ROOT_CONTEXT, span)),
        end: () => span.end(),
        fail(error) {
          span.recordException(error as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
          span.end();
        },
      };
    },
  };
}

/** One link per distinct context among the first `count` messages' headers, at most LINKS_MAX. */
function linksOf(messages: readonly ConsumedMessage[], count: number): { links: Link[]; traced: number } {
  const links: Link[] = [];
  const seen = new Set<string>();
  let traced = 0;
  for (let i = 0; i < count; i++) {
    const message = messages[i]!;
    if (!message.headers?.traceparent) continue;
    const spanContext = spanContextOf(headersOf(message));
    if (!spanContext) continue;
    traced++;
    const id = `${spanContext.traceId}-${spanContext.spanId}`;
    if (seen.has(id) || links.length >= LINKS_MAX) continue;
    seen.add(id);
    links.push({ context: spanContext });
  }
  return { links, traced };
}
