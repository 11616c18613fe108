/**
 * kafkajs 2.2.4 encodes a produce request through nested encoders: every record gets its own
 * zero-filled 512-byte buffer, every varint a temporary array and buffer, every level (record,
 * record batch, partition, topic) a copy of the level below, and each message a spread copy
 * first. Measured on the worker's drain (`npm run bench -- --quick --only drain --profile`),
 * encoding the relay's produce requests was 17% of a worker's busy time. Written in one pass
 * into one buffer, the same bytes take 1.2 us a message at 500 messages a request against
 * kafkajs's 8.8, and 2.4 against 34 at one message on each of eight partitions
 * (`npx tsx packages/kafka/bench/produce-encoding.ts`; loadtest/JOURNAL.md, "thirty-fifth round").
 *
 * `encodeProduceRequest` writes exactly the bytes kafkajs's Produce v3 request encoder writes
 * (versions 3 to 8 of the request share one layout; kafkajs implements up to 7), for the
 * messages ledgerline sends: a string or Buffer key (or none), a string or Buffer value,
 * string or Buffer headers, no timestamp of their own, no compression. Anything else is left to
 * kafkajs's own encoder, so what goes on the wire never depends on which one ran.
 * `test/produce-encoding.test.ts` compares the two byte for byte on generated requests, and
 * the integration suites produce and consume through it against a real broker.
 *
 * It wraps the `encode` of the request kafkajs builds (its internal `protocol/requests/produce`
 * module, looked up for every produce call), so it is installed only on the kafkajs version it
 * was written for (package.json pins it); the test fails when kafkajs moves.
 */

import { crc32c } from './crc32c';
import { kafkajsVersion } from './kafkajs-version';

/** The part of a kafkajs message the encoder reads (kafkajs's `Message`, after partitioning). */
interface ProduceMessage {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, unknown>;
  timestamp?: unknown;
}

interface ProducePartition {
  partition: number;
  firstSequence?: number;
  messages: ProduceMessage[];
}

/** What kafkajs passes to its Produce request (v3 and later). */
export interface ProduceRequestArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  /** kafkajs's Long (or a number); written as a signed 64-bit integer. */
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: { topic: string; partitions: ProducePartition[] }[];
}

/** kafkajs's internal encoder: what its request framing reads from the encoded payload. */
interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
  size(): number;
}

interface KafkajsLong {
  value: bigint;
}

interface LongClass {
  fromValue(value: unknown): KafkajsLong;
}

interface BuiltRequest {
  apiVersion: number;
  encode(): Promise<KafkajsEncoder>;
}

type ProduceProtocol = (args: { version: number }) => (args: ProduceRequestArgs) => { request: BuiltRequest; response: unknown };

interface ProduceModule {
  protocol: ProduceProtocol & { [INSTALLED]?: true };
}

/** The kafkajs version whose produce encoding this replaces. */
export const KAFKAJS_VERSION_ENCODED = '2.2.4';
const INSTALLED = Symbol.for('ledgerline.kafkajs.produceEncoding');
/** The first Produce version whose request carries record batches (magic 2); this layout up to 8. */
const FIRST_RECORD_BATCH_VERSION = 3;
const LAST_SAME_LAYOUT_VERSION = 8;
const MAGIC = 2;
const TRANSACTIONAL_ATTRIBUTE = 16;

interface KafkajsInternals {
  Encoder: new (initialSize?: number) => KafkajsEncoder;
  Long: LongClass;
}

/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs's internals: no public way to reach them, and no types. */
function kafkajsProduceModule(): ProduceModule {
  return require('kafkajs/src/protocol/requests/produce') as ProduceModule;
}

let internals: KafkajsInternals | null = null;
/** Loaded on first use (another kafkajs may not have these modules), then kept: a require per request costs a path lookup. */
function kafkajsInternals(): KafkajsInternals {
  internals ??= {
    Encoder: require('kafkajs/src/protocol/encoder') as KafkajsInternals['Encoder'],
    Long: require('kafkajs/src/utils/long') as LongClass,
  };
  return internals;
}
/* eslint-enable @typescript-eslint/no-require-imports */

/** Whether produce requests are encoded here (false on a kafkajs it was not written for). */
export function produceEncodingInstalled(): boolean {
  return kafkajsProduceModule().protocol[INSTALLED] === true;
}

/** Installs the encoder once per process; does nothing on another kafkajs version. */
export function installProduceEncoding(): void {
  if (kafkajsVersion() !== KAFKAJS_VERSION_ENCODED) return;
  const produce = kafkajsProduceModule();
  if (produce.protocol[INSTALLED]) return;
  const original = produce.protocol;
  const protocol: ProduceModule['protocol'] = ({ version }) => {
    const build = original({ version });
    if (version < FIRST_RECORD_BATCH_VERSION || version > LAST_SAME_LAYOUT_VERSION) return build;
    return (args) => {
      const built = build(args);
      const encodeAsKafkajs = built.request.encode;
      built.request.encode = async () => encodeProduceRequest(args) ?? (await encodeAsKafkajs());
      return built;
    };
  };
  protocol[INSTALLED] = true;
  produce.protocol = protocol;
}

/** A message's key or value as it goes on the wire: absent (-1) or its bytes. */
type Bytes = Buffer | string | null;

/** One partition's records as the first pass sizes them: each record's body, its headers, all of them with their length prefixes. */
interface PartitionPlan {
  bodySizes: number[];
  headers: Header[][];
  recordsSize: number;
}

/** A record's header, flattened as kafkajs flattens a header with several values. */
interface Header {
  key: string;
  value: Buffer | string;
}

/**
 * The request kafkajs's Produce v3 encoder would write, or null when the request holds
 * something this encoder leaves to kafkajs (compression, a message's own timestamp, a key,
 * value or header kafkajs would have to convert).
 */
export function encodeProduceRequest(args: ProduceRequestArgs): KafkajsEncoder | null {
  if ((args.compression ?? 0) !== 0) return null;
  const transactionalId = args.transactionalId ?? null;
  const kafkajs = kafkajsInternals();
  const producerId = args.producerId === undefined ? -1n : kafkajs.Long.fromValue(args.producerId).value;
  const timestamp = BigInt(Date.now());
  const producerEpoch = args.producerEpoch ?? 0;

  // First pass: every record's size, and whether all of it is a shape this encoder writes.
  const plans: PartitionPlan[] = [];
  let size = stringSize(transactionalId) + 2 + 4 + 4;
  for (const topic of args.topicData) {
    size += stringSize(topic.topic) + 4;
    for (const partition of topic.partitions) {
      const plan: PartitionPlan = { bodySizes: [], headers: [], recordsSize: 0 };
      for (let i = 0; i < partition.messages.length; i++) {
        const message = partition.messages[i]!;
        if (message.timestamp !== undefined && message.timestamp !== null) return null;
        const key = message.key ?? null;
        if (!isBytes(key) || !isBytes(message.value)) return null;
        const flat = flatHeaders(message.headers);
        if (flat === undefined) return null;
        const body = 1 + 1 + varIntSize(i) + bytesSize(key) + bytesSize(message.value) + headersSize(flat);
        plan.bodySizes.push(body);
        plan.headers.push(flat);
        plan.recordsSize += varIntSize(body) + body;
      }
      plans.push(plan);
      size += 4 + 4 + RECORD_BATCH_OVERHEAD + plan.recordsSize;
    }
  }

  const buf = Buffer.allocUnsafe(size);
  const w = new Writer(buf);
  w.string(transactionalId);
  w.int16(args.acks);
  w.int32(args.timeout);
  w.int32(args.topicData.length);
  let p = 0;
  for (const topic of args.topicData) {
    w.string(topic.topic);
    w.int32(topic.partitions.length);
    for (const partition of topic.partitions) {
      const plan = plans[p++]!;
      // record_set: firstOffset int64, batch length int32, then the batch itself.
      const batchSize = 4 + 1 + 4 + BATCH_BODY_FIXED + plan.recordsSize;
      w.int32(partition.partition);
      w.int32(8 + 4 + batchSize);
      w.int64(0n);
      w.int32(batchSize);
      w.int32(0); // partition leader epoch
      w.int8(MAGIC);
      const crcAt = w.offset;
      w.offset += 4;
      const bodyAt = w.offset;
      w.int16(transactionalId ? TRANSACTIONAL_ATTRIBUTE : 0);
      w.int32(partition.messages.length - 1); // last offset delta
      w.int64(timestamp); // first timestamp
      w.int64(timestamp); // max timestamp
      w.int64(producerId);
      w.int16(producerEpoch);
      w.int32(partition.firstSequence ?? 0);
      w.int32(partition.messages.length);
      for (let i = 0; i < partition.messages.length; i++) {
        const message = partition.messages[i]!;
        w.varInt(plan.bodySizes[i]!);
        w.int8(0); // attributes
        w.varInt(0); // timestamp delta: no message has its own timestamp
        w.varInt(i); // offset delta
        w.bytes(message.key ?? null);
        w.bytes(message.value);
        const flat = plan.headers[i]!;
        w.varInt(flat.length);
        for (const header of flat) {
          w.bytes(header.key);
          w.bytes(header.value);
        }
      }
      buf.writeUInt32BE(crc32c(buf.subarray(bodyAt, w.offset)), crcAt);
    }
  }
  if (w.offset !== size) throw new Error(`produce request encoding: wrote ${w.offset} bytes of the ${size} reckoned`);

  const encoder = new kafkajs.Encoder(0);
  encoder.buf = buf;
  encoder.offset = size;
  return encoder;
}

/** Attributes, last offset delta, two timestamps, producer id and epoch, first sequence, record count. */
const BATCH_BODY_FIXED = 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;
/** What a partition's record set holds besides its records: offset, length, epoch, magic, CRC and the fixed body. */
const RECORD_BATCH_OVERHEAD = 8 + 4 + 4 + 1 + 4 + BATCH_BODY_FIXED;

function isBytes(value: unknown): value is Bytes {
  return value === null || typeof value === 'string' || Buffer.isBuffer(value);
}

/** kafkajs's header list (an array value becomes one header per element); undefined: not a shape written here. */
function flatHeaders(headers: Record<string, unknown> | undefined): Header[] | undefined {
  if (headers === undefined) return NO_HEADERS;
  if (headers === null || typeof headers !== 'object') return undefined;
  const flat: Header[] = [];
  for (const key of Object.keys(headers)) {
    const value = headers[key];
    const values = Array.isArray(value) ? value : [value];
    for (const one of values) {
      if (typeof one !== 'string' && !Buffer.isBuffer(one)) return undefined;
      flat.push({ key, value: one });
    }
  }
  return flat;
}

const NO_HEADERS: Header[] = [];

function headersSize(headers: Header[]): number {
  let size = varIntSize(headers.length);
  for (const header of headers) size += bytesSize(header.key) + bytesSize(header.value);
  return size;
}

function stringSize(value: string | null): number {
  return 2 + (value === null ? 0 : Buffer.byteLength(value, 'utf8'));
}

function bytesSize(value: Bytes): number {
  if (value === null) return 1;
  const length = typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
  return varIntSize(length) + length;
}

/** Bytes of a zigzag varint (Kafka's signed varint) for a 32-bit integer. */
function varIntSize(value: number): number {
  let encoded = ((value << 1) ^ (value >> 31)) >>> 0;
  let bytes = 1;
  while (encoded >= 0x80) {
    bytes++;
    encoded >>>= 7;
  }
  return bytes;
}

/** Big-endian writes into one buffer, as Kafka's protocol has them. */
class Writer {
  offset = 0;
  constructor(private readonly buf: Buffer) {}

  int8(value: number): void {
    this.offset = this.buf.writeInt8(value, this.offset);
  }

  int16(value: number): void {
    this.offset = this.buf.writeInt16BE(value, this.offset);
  }

  int32(value: number): void {
    this.offset = this.buf.writeInt32BE(value, this.offset);
  }

  int64(value: bigint): void {
    this.offset = this.buf.writeBigInt64BE(BigInt.asIntN(64, value), this.offset);
  }

  /** A nullable string with an int16 length (-1: null). */
  string(value: string | null): void {
    if (value === null) return this.int16(-1);
    const length = Buffer.byteLength(value, 'utf8');
    this.int16(length);
    this.offset += this.buf.write(value, this.offset, length, 'utf8');
  }

  /** A zigzag varint. */
  varInt(value: number): void {
    let encoded = ((value << 1) ^ (value >> 31)) >>> 0;
    while (encoded >= 0x80) {
      this.buf[this.offset++] = (encoded & 0x7f) | 0x80;
      encoded >>>= 7;
    }
    this.buf[this.offset++] = encoded;
  }

  /** Nullable bytes with a varint length (-1: null); a string as UTF-8. */
  bytes(value: Bytes): void {
    if (value === null) return this.varInt(-1);
    if (typeof value === 'string') {
      const length = Buffer.byteLength(value, 'utf8');
      this.varInt(length);
      this.offset += this.buf.write(value, this.offset, length, 'utf8');
      return;
    }
    this.varInt(value.length);
    this.offset += value.copy(this.buf, this.offset);
  }
}
