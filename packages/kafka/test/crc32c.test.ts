/** The record batch checksum (src/crc32c.ts) against kafkajs's own and the standard check value. */
import fc from 'fast-check';
import { crc32c } from '../src/crc32c';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- kafkajs's CRC-32C (a byte a step), the reference.
const kafkajsCrc32C = require('kafkajs/src/protocol/recordBatch/crc32C') as (buffer: Buffer) => number;

describe('CRC-32C', () => {
  it('gives the check value of the Castagnoli CRC for "123456789", and 0 for nothing', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it('agrees with kafkajs on any bytes, of every length modulo 8, at any offset of a larger buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2_000 }), fc.nat({ max: 7 }), (bytes, offset) => {
        const within = Buffer.concat([Buffer.alloc(offset, 0xa5), Buffer.from(bytes)]).subarray(offset);
        expect(crc32c(within)).toBe(kafkajsCrc32C(within));
      }),
      { numRuns: 1_000 },
    );
  });
});
