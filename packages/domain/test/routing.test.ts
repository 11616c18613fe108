// Proves that an account's bucket is a fixed, case-insensitive, well-spread FNV-1a hash and that
// the versioned bucket -> partition table round-trips through its rows and refuses gaps.
import { randomUUID } from 'node:crypto';
import { BUCKET_COUNT } from '../src/limits';
import { RoutingTable, bucketOf } from '../src/routing';

/** Reproducible v4-shaped uuids (xorshift32), so the spread assertions cannot flake. */
function seededUuids(count: number, seed = 0x9e3779b9): string[] {
  let state = seed >>> 0;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  return Array.from({ length: count }, () => {
    const bytes = Buffer.alloc(16);
    for (let i = 0; i < 16; i += 4) bytes.writeUInt32BE(next(), i);
    bytes[6] = (bytes[6]! & 0x0f) | 0x40;
    bytes[8] = (bytes[8]! & 0x3f) | 0x80;
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  });
}

function histogram(ids: readonly string[]): number[] {
  const counts = new Array<number>(BUCKET_COUNT).fill(0);
  for (const id of ids) counts[bucketOf(id)]! += 1;
  return counts;
}

function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
}

describe('bucketOf', () => {
  test('BUCKET_COUNT is fixed at 1024: changing it would re-home every account', () => {
    expect(BUCKET_COUNT).toBe(1024);
  });

  // Expected values are the standard 32-bit FNV-1a (0xe40c292c for "a", 0xbf9cf968 for "foobar"),
  // cross-checked with an independent implementation, mod BUCKET_COUNT. Changing the hash moves accounts.
  test.each([
    ['', 453],
    ['a', 300],
    ['foobar', 360],
    ['3f9a1c2e-8b4d-4e6f-9a1b-2c3d4e5f6a7b', 233],
    ['00000000-0000-0000-0000-000000000000', 721],
  ])('bucketOf(%j) is %i, forever', (id, bucket) => {
    expect(bucketOf(id)).toBe(bucket);
  });

  test('is case-insensitive: an upper-case id lands in the bucket of its lower-case form', () => {
    for (const id of [...seededUuids(200), ...Array.from({ length: 50 }, () => randomUUID())]) {
      expect(bucketOf(id.toUpperCase())).toBe(bucketOf(id));
    }
    expect(bucketOf('3F9A1C2E-8B4D-4E6F-9A1B-2C3D4E5F6A7B')).toBe(233);
  });

  test('is always an integer in 0..1023', () => {
    for (const id of [...seededUuids(2_000), '', 'x'.repeat(10_000), '\u{1F4B8}', 'ÄÖÜ']) {
      const bucket = bucketOf(id);
      expect(Number.isInteger(bucket)).toBe(true);
      expect(bucket).toBeGreaterThanOrEqual(0);
      expect(bucket).toBeLessThan(BUCKET_COUNT);
    }
  });

  test('spreads 10,000 uuids over every bucket, max/min ratio bounded, chi-square near its mean', () => {
    const counts = histogram(seededUuids(10_000));
    const min = Math.min(...counts);
    const max = Math.max(...counts);
    expect(min).toBeGreaterThanOrEqual(1); // every bucket used
    expect(max / min).toBeLessThanOrEqual(15); // mean is 9.8; a skewed hash puts 30+ in a bucket
    // 1023 degrees of freedom: mean 1023, sd ~45. 1250 is five sd out.
    expect(chiSquare(counts)).toBeLessThan(1250);
  });

  test('spreads 10,000 crypto.randomUUID() ids as well (chi-square within five sd)', () => {
    const counts = histogram(Array.from({ length: 10_000 }, () => randomUUID()));
    expect(chiSquare(counts)).toBeLessThan(1250);
    expect(counts.filter((c) => c === 0).length).toBeLessThan(10);
  });
});

describe('RoutingTable', () => {
  test('initial deals buckets round-robin over the partitions', () => {
    const table = RoutingTable.initial(4);
    expect(table.version).toBe(1);
    expect([0, 1, 2, 3, 4, 5, 1023].map((b) => table.partitionOfBucket(b))).toEqual([0, 1, 2, 3, 0, 1, 3]);
    const perPartition = [0, 0, 0, 0];
    for (const row of table.rows()) perPartition[row.partition]! += 1;
    expect(perPartition).toEqual([256, 256, 256, 256]);
    expect(RoutingTable.initial(3, 7).version).toBe(7);
  });

  test('partitionOf(account) is the partition of its bucket', () => {
    const table = RoutingTable.initial(5);
    for (const id of seededUuids(100)) expect(table.partitionOf(id)).toBe(bucketOf(id) % 5);
    expect(table.partitionOf('3f9a1c2e-8b4d-4e6f-9a1b-2c3d4e5f6a7b')).toBe(233 % 5);
  });

  test('initial -> rows -> fromRows round-trips version and every bucket', () => {
    const table = RoutingTable.initial(6, 3);
    const rows = table.rows();
    expect(rows).toHaveLength(BUCKET_COUNT);
    expect(rows.map((r) => r.bucket)).toEqual(Array.from({ length: BUCKET_COUNT }, (_, i) => i));
    const copy = RoutingTable.fromRows(3, rows);
    expect(copy.version).toBe(3);
    expect(copy.rows()).toEqual(rows);
  });

  test('fromRows takes rows in any order, and moving one bucket moves only its accounts', () => {
    const before = RoutingTable.initial(4);
    const moved = before.rows().map((r) => (r.bucket === 233 ? { bucket: 233, partition: 3 } : r)).reverse();
    const after = RoutingTable.fromRows(2, moved);
    expect(after.version).toBe(2);
    expect(after.partitionOf('3f9a1c2e-8b4d-4e6f-9a1b-2c3d4e5f6a7b')).toBe(3);
    expect(before.partitionOf('3f9a1c2e-8b4d-4e6f-9a1b-2c3d4e5f6a7b')).toBe(233 % 4);
    for (const id of seededUuids(500)) {
      if (bucketOf(id) !== 233) expect(after.partitionOf(id)).toBe(before.partitionOf(id));
    }
  });

  test('fromRows refuses a table with a missing bucket, naming it', () => {
    const rows = RoutingTable.initial(4).rows().filter((r) => r.bucket !== 517);
    expect(() => RoutingTable.fromRows(9, rows)).toThrow(/version 9 has no partition for bucket 517/);
    expect(() => RoutingTable.fromRows(1, [])).toThrow(/no partition for bucket 0/);
  });

  test('fromRows refuses a bucket out of range', () => {
    const rows = RoutingTable.initial(2).rows();
    expect(() => RoutingTable.fromRows(1, [...rows, { bucket: BUCKET_COUNT, partition: 0 }])).toThrow(new RegExp(`bucket ${BUCKET_COUNT} out of range`));
    expect(() => RoutingTable.fromRows(1, [...rows, { bucket: -1, partition: 0 }])).toThrow(/bucket -1 out of range/);
  });

  test.each([0, -1, 1.5, BUCKET_COUNT + 1, Number.NaN])('initial refuses partition count %p', (count) => {
    expect(() => RoutingTable.initial(count)).toThrow(`partition count must be an integer in 1..${BUCKET_COUNT}`);
  });

  test('initial accepts the extremes 1 and BUCKET_COUNT', () => {
    expect(RoutingTable.initial(1).rows().every((r) => r.partition === 0)).toBe(true);
    expect(RoutingTable.initial(BUCKET_COUNT).partitionOfBucket(BUCKET_COUNT - 1)).toBe(BUCKET_COUNT - 1);
  });

  test('partitionOfBucket refuses a bucket out of range', () => {
    const table = RoutingTable.initial(4);
    expect(() => table.partitionOfBucket(BUCKET_COUNT)).toThrow(/out of range/);
    expect(() => table.partitionOfBucket(-1)).toThrow(/out of range/);
  });
});
