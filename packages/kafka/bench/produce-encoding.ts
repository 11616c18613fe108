/**
 * How long a produce request takes to encode, kafkajs's own encoder against the one-pass one
 * (src/produce-encoding.ts), per message, at three request sizes: 500 messages over eight
 * partitions (a drain's relay), 48, and one on each of eight partitions (a quiet relay). The
 * messages are the relay's shape: a 36-character key and a ~420-byte JSON command.
 *
 *   npx tsx packages/kafka/bench/produce-encoding.ts
 *
 * One process, both encoders alternated per size after a warm-up; a figure moves with the
 * machine, the ratio much less.
 */
import { type ProduceRequestArgs, encodeProduceRequest } from '../src/produce-encoding';

/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs's own encoder, the reference. */
const kafkajsV3Request = require('kafkajs/src/protocol/requests/produce/v3/request') as (args: ProduceRequestArgs) => { encode(): Promise<unknown> };
const Long = require('kafkajs/src/utils/long') as { fromInt(value: number): unknown };
/* eslint-enable @typescript-eslint/no-require-imports */

const PARTITIONS = 8;
const value = JSON.stringify({
  v: 1,
  type: 'CREDIT_LEG',
  transfer_id: '5f0c0b6e-9a41-4c1a-8f00-123456789abc',
  from_account_id: '0b6e9a41-4c1a-4f00-9234-56789abc0000',
  to_account_id: '9a414c1a-8f00-4234-9678-9abc00001111',
  amount: '2500',
  currency: 'USD',
  source_partition: 3,
  accepted_at: '2026-11-21T05:27:41.157Z',
  principal: 'user:0b6e9a41-4c1a-4f00-9234-56789abc0000',
  request_hash: 'a'.repeat(64),
  description: 'rent, December',
});

function request(messages: number): ProduceRequestArgs {
  const perPartition = Math.max(1, Math.round(messages / PARTITIONS));
  const partitions = Array.from({ length: PARTITIONS }, (_, partition) => ({
    partition,
    firstSequence: 0,
    messages: Array.from({ length: perPartition }, (_, i) => ({ key: `9a414c1a-8f00-4234-9678-${String(i).padStart(12, '0')}`, value })),
  }));
  return { acks: -1, timeout: 30_000, producerId: Long.fromInt(5), producerEpoch: 0, topicData: [{ topic: 'ledger.commands', partitions }] };
}

async function microsPerMessage(args: ProduceRequestArgs, encode: (args: ProduceRequestArgs) => Promise<unknown>): Promise<number> {
  const messages = args.topicData[0]!.partitions.reduce((sum, p) => sum + p.messages.length, 0);
  const rounds = Math.max(200, Math.floor(400_000 / messages));
  for (let i = 0; i < rounds / 4; i++) await encode(args);
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) await encode(args);
  return Number(process.hrtime.bigint() - started) / 1_000 / rounds / messages;
}

async function main(): Promise<void> {
  console.log(`value ${Buffer.byteLength(value)} bytes; us per message (lower is better)`);
  console.log('messages a request | kafkajs | one pass | ratio');
  for (const messages of [500, 48, 8]) {
    const args = request(messages);
    const kafkajs = await microsPerMessage(args, (a) => kafkajsV3Request(a).encode());
    const ours = await microsPerMessage(args, async (a) => encodeProduceRequest(a));
    console.log(`${messages} | ${kafkajs.toFixed(2)} | ${ours.toFixed(2)} | ${(kafkajs / ours).toFixed(1)}x`);
  }
}

void main();
