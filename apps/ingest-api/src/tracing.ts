/**
 * The API's spans, wired only when tracing is on (packages/tracing, README "Tracing"):
 *
 *   - one SERVER span per HTTP request, named by its route template (`POST /v1/transfers`,
 *     never the raw path), continuing the client's trace when it sent a `traceparent`
 *     (/healthz, /readyz and /metrics are not traced);
 *   - one PRODUCER span around each publish to Kafka, a child of the request's span, whose
 *     context every published message carries in its headers (W3C `traceparent`). The worker
 *     links the batch that applies the message to it.
 *
 * Off, `requestSpans` is not mounted and `commandPublisher` returns the producer itself:
 * messages carry no headers, and nothing here runs.
 */
import { type Span, SpanKind, SpanStatusCode, ROOT_CONTEXT, context, propagation, trace } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_URL_PATH } from '@opentelemetry/semantic-conventions';
import { MESSAGING_ATTRIBUTES as M, traceHeaders, tracingEnabled } from '@ledgerline/tracing';
import type { NextFunction, Request, Response } from 'express';
import type { CommandPublisher, OutgoingCommand } from './ports';

const TRACER = '@ledgerline/ingest-api';

/** Probes and scrapes: every few seconds each, they would drown the requests that matter. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** Express middleware: the request's SERVER span, active for everything the request does. */
export function requestSpans() {
  const tracer = trace.getTracer(TRACER);
  return (req: Request, res: Response, next: NextFunction) => {
    if (UNTRACED_PATHS.has(req.path)) return next();
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(
      req.method,
      { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: req.method, [ATTR_URL_PATH]: req.path } },
      parent,
    );
    // 'close' comes for every request, answered or cut off.
    res.once('close', () => {
      const route = req.route?.path as string | undefined;
      if (route) {
        span.updateName(`${req.method} ${route}`);
        span.setAttribute(ATTR_HTTP_ROUTE, route);
      }
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), next);
  };
}

/** The publisher the routes use: the producer itself when tracing is off, else `tracedPublisher`. */
export function commandPublisher(producer: CommandPublisher): CommandPublisher {
  return tracingEnabled() ? tracedPublisher(producer) : producer;
}

/**
 * Wraps each publish in a PRODUCER span and puts that span's context in every message's
 * headers. One span per produce call: a batch request's items share it (and the worker
 * links a batch once per distinct context).
 */
function tracedPublisher(producer: CommandPublisher): CommandPublisher {
  const tracer = trace.getTracer(TRACER);
  return {
    publishTogether(messages: readonly OutgoingCommand[]): Promise<void> {
      const topic = messages[0]?.topic ?? '';
      const attributes = {
        [M.system]: 'kafka',
        [M.destination]: topic,
        [M.operationType]: 'send',
        [M.batchMessageCount]: messages.length,
        ...(messages.length === 1 ? { [M.partition]: String(messages[0]!.partition) } : {}),
      };
      return tracer.startActiveSpan(`send ${topic}`, { kind: SpanKind.PRODUCER, attributes }, async (span: Span) => {
        const headers = traceHeaders();
        try {
          await producer.publishTogether(messages.map((m) => ({ ...m, headers: { ...m.headers, ...headers } })));
        } catch (error) {
          span.recordException(error as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
          throw error;
        } finally {
          span.end();
        }
      });
    },
  };
}
