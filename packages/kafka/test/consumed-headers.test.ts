// Proves that a consumed message's headers are read whatever a producer wrote: a header with
// no value (Kafka's null, which kafkajs decodes as null) is absent, never a throw that would
// stop the partition's batch (the worker reads headers only with tracing on).
import { type ConsumedMessage, headersOf } from '../src';

const message = (headers: ConsumedMessage['headers']): ConsumedMessage => ({ offset: '0', key: null, value: Buffer.from('{}'), headers });

test('a header without a value is absent, and the others are read', () => {
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  expect(headersOf(message({ traceparent: Buffer.from(traceparent), tracestate: null, baggage: [null, Buffer.from('x')] }))).toEqual({ traceparent });
});

test('the first value of a repeated header, as UTF-8', () => {
  expect(headersOf(message({ h: [Buffer.from('é'), Buffer.from('second')], s: 'text' }))).toEqual({ h: 'é', s: 'text' });
  expect(headersOf(message(undefined))).toEqual({});
});
