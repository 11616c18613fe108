/**
 * The one-pass produce request encoder (src/produce-encoding.ts) against kafkajs's own: the same
 * bytes for every request it takes, and kafkajs's encoder for every request it leaves. The
 * round trip through a real broker is in the integration suites (batching-producer.int and
 * every worker suite produce through it).
 */
import fc from 'fast-check';
import { KAFKAJS_VERSION_ENCODED, type ProduceRequestArgs, encodeProduceRequest, installProduceEncoding, produceEncodingInstalled } from '../src/produce-encoding';

interface KafkajsEncoder {
  buffer: Buffer;
}

/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs's internals, as the module under test reaches them. */
const kafkajsV3Request = require('kafkajs/src/protocol/requests/produce/v3/request') as (args: ProduceRequestArgs) => { encode(): Promise<KafkajsEncoder> };
const Long = require('kafkajs/src/utils/long') as { fromValue(value: unknown): unknown; fromInt(value: number): unknown };
const produceModule = require('kafkajs/src/protocol/requests/produce') as {
  protocol(args: { version: number }): (args: ProduceRequestArgs) => { request: { apiVersion: number; encode(): Promise<KafkajsEncoder> } };
};
/* eslint-enable @typescript-eslint/no-require-imports */

const NOW = 1_765_000_000_123;

async function kafkajsBytes(args: ProduceRequestArgs): Promise<Buffer> {
  return (await kafkajsV3Request(args).encode()).buffer;
}

function oursBytes(args: ProduceRequestArgs): Buffer | null {
  const encoded = encodeProduceRequest(args) as unknown as KafkajsEncoder | null;
  return encoded === null ? null : encoded.buffer;
}

const text = fc.string({ unit: 'binary', maxLength: 300 });
const bytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
const keyOrValue = fc.oneof(text, bytes);
const headerValue = fc.oneof(text, bytes);
const headers = fc.option(fc.dictionary(fc.string({ unit: 'binary', maxLength: 20 }), fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 })), { maxKeys: 3 }), { nil: undefined });
const message = fc.record({ key: fc.option(keyOrValue, { nil: undefined }), value: fc.option(keyOrValue, { nil: null }), headers }, { requiredKeys: ['value'] });
const partition = fc.record({
  partition: fc.integer({ min: 0, max: 1_000 }),
  firstSequence: fc.option(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { nil: undefined }),
  messages: fc.array(message, { maxLength: 40 }),
});
const request: fc.Arbitrary<ProduceRequestArgs> = fc.record({
  acks: fc.constantFrom(-1, 0, 1),
  timeout: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  transactionalId: fc.option(fc.string({ maxLength: 30 }), { nil: null }),
  producerId: fc.oneof(fc.constant(Long.fromInt(-1)), fc.bigInt({ min: 0n, max: 2n ** 62n }).map((v) => Long.fromValue(v))),
  producerEpoch: fc.integer({ min: 0, max: 32_767 }),
  topicData: fc.array(fc.record({ topic: fc.string({ minLength: 1, maxLength: 40 }), partitions: fc.array(partition, { maxLength: 6 }) }), { maxLength: 3 }),
});

describe('the one-pass produce request encoder', () => {
  let now: jest.SpyInstance;
  beforeEach(() => {
    now = jest.spyOn(Date, 'now').mockReturnValue(NOW);
  });
  afterEach(() => now.mockRestore());

  it('is written for the kafkajs in node_modules (an upgrade must review src/produce-encoding.ts)', () => {
    installProduceEncoding();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect((require('kafkajs/package.json') as { version: string }).version).toBe(KAFKAJS_VERSION_ENCODED);
    expect(produceEncodingInstalled()).toBe(true);
  });

  it('writes the bytes kafkajs writes, for any request of the shapes it takes', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (args) => {
        const ours = oursBytes(args);
        expect(ours).not.toBeNull();
        expect(ours!.equals(await kafkajsBytes(args))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('writes a request like the relay sends, byte for byte', async () => {
    const messages = Array.from({ length: 500 }, (_, i) => ({
      key: `9a414c1a-8f00-4234-8678-${String(i).padStart(12, '0')}`,
      value: JSON.stringify({ type: 'CREDIT_LEG', transfer_id: `t-${i}`, amount: String(i * 100), currency: 'USD' }),
      headers: i % 2 === 0 ? { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } : undefined,
    }));
    const args: ProduceRequestArgs = {
      acks: -1,
      timeout: 30_000,
      producerId: Long.fromValue(4711),
      producerEpoch: 3,
      topicData: [
        { topic: 'ledger.commands', partitions: [0, 1, 2, 3].map((p) => ({ partition: p, firstSequence: 1_000 * p, messages: messages.slice(p * 100, p * 100 + 100) })) },
        { topic: 'ledger.events', partitions: [{ partition: 5, firstSequence: 17, messages: messages.slice(400) }] },
      ],
    };
    expect(oursBytes(args)!.equals(await kafkajsBytes(args))).toBe(true);
  });

  it('leaves to kafkajs what it does not write: compression, a message timestamp, a value kafkajs converts', () => {
    const base: ProduceRequestArgs = { acks: -1, timeout: 1_000, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: 'k', value: 'v' }] }] }] };
    expect(oursBytes(base)).not.toBeNull();
    expect(oursBytes({ ...base, compression: 1 })).toBeNull();
    const withMessage = (m: object): ProduceRequestArgs => ({ ...base, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [m as never] }] }] });
    expect(oursBytes(withMessage({ key: 'k', value: 'v', timestamp: '1765000000000' }))).toBeNull();
    expect(oursBytes(withMessage({ key: 'k', value: 42 }))).toBeNull();
    expect(oursBytes(withMessage({ key: 7, value: 'v' }))).toBeNull();
    expect(oursBytes(withMessage({ key: 'k', value: 'v', headers: { h: 5 } }))).toBeNull();
  });

  it('is what a produce request kafkajs builds encodes with, for the versions sharing the v3 layout', async () => {
    installProduceEncoding();
    const args: ProduceRequestArgs = { acks: -1, timeout: 1_000, producerId: Long.fromInt(9), producerEpoch: 0, topicData: [{ topic: 't', partitions: [{ partition: 2, firstSequence: 5, messages: [{ key: 'k', value: 'v' }] }] }] };
    for (const version of [3, 4, 5, 6, 7]) {
      const built = produceModule.protocol({ version })(args);
      expect(built.request.apiVersion).toBe(version);
      // The one-pass encoder takes one buffer from Buffer.allocUnsafe; kafkajs's never calls it.
      const allocations = jest.spyOn(Buffer, 'allocUnsafe');
      const encoded = await built.request.encode();
      expect(allocations).toHaveBeenCalledTimes(1);
      allocations.mockClear();
      expect(encoded.buffer.equals(await kafkajsBytes(args))).toBe(true);
      expect(allocations).not.toHaveBeenCalled();
      allocations.mockRestore();
    }
  });

  it('hands kafkajs back a request it leaves, which kafkajs then encodes itself', async () => {
    installProduceEncoding();
    const args: ProduceRequestArgs = { acks: -1, timeout: 1_000, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: 'k', value: 'v', timestamp: String(NOW - 5) }] }] }] };
    const allocations = jest.spyOn(Buffer, 'allocUnsafe');
    const encoded = await produceModule.protocol({ version: 7 })(args).request.encode();
    expect(allocations).not.toHaveBeenCalled();
    allocations.mockRestore();
    expect(encoded.buffer.equals(await kafkajsBytes(args))).toBe(true);
  });
});
