// Proves what the consumer loop (applyGuarded) hands kafkajs when a fetch ends: kafkajs's own
// error, never the AfterCommitError the applier wraps a post-commit heartbeat failure in.
// kafkajs tells a rebalance by the error's `type` and its own errors by their class; thrown the
// wrapper, it logged 'Error when calling eachBatch' and restarted the consumer, which
// rebalanced the group again and again (361 such lines in one bench worker's log). Checked
// with kafkajs's own predicates on kafkajs's own errors.
import { KafkaJSConnectionError, KafkaJSProtocolError } from 'kafkajs';
import { serverError } from '../../../test/support/pg-errors';
import { AfterCommitError } from '../src/partition-applier';
import { fetchEnding } from '../src/partition-worker';

// kafkajs's error factory (what its heartbeat throws for a broker's answer) and the two tests
// its consumer runner applies to what eachBatch throws (kafkajs/src/consumer/runner.js).
/* eslint-disable @typescript-eslint/no-require-imports */
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as { createErrorFromCode(code: number): Error & { type: string } };
const { isRebalancing, isKafkaJSError } = require('kafkajs/src/errors') as { isRebalancing(e: unknown): boolean; isKafkaJSError(e: unknown): boolean };
/* eslint-enable @typescript-eslint/no-require-imports */

const afterCommit = (cause: unknown) => new AfterCommitError(3, 10n, 20n, 'the consumer heartbeat', cause);

describe('fetchEnding: what a fetch that must end throws to kafkajs', () => {
  test("a heartbeat answered REBALANCE_IN_PROGRESS after a commit reaches kafkajs as kafkajs's own error, which it takes for a rebalance", () => {
    const rebalance = createErrorFromCode(27);
    const wrapped = afterCommit(rebalance);
    // What kafkajs would make of the wrapper: not its error (logged, the consumer restarted), no rebalance.
    expect([isKafkaJSError(wrapped), isRebalancing(wrapped)]).toEqual([false, false]);

    const ending = fetchEnding(wrapped, true);

    expect(ending?.error).toBe(rebalance);
    expect(ending?.error).toBeInstanceOf(KafkaJSProtocolError);
    expect((ending?.error as { type: string }).type).toBe('REBALANCE_IN_PROGRESS');
    expect([isKafkaJSError(ending?.error), isRebalancing(ending?.error)]).toEqual([true, true]);
  });

  test.each([
    [25, 'UNKNOWN_MEMBER_ID'],
    [22, 'ILLEGAL_GENERATION'],
    [79, 'MEMBER_ID_REQUIRED'],
  ])('every other rejoin answer (%i, %s) after a commit reaches kafkajs unwrapped too', (code, type) => {
    const answer = createErrorFromCode(code);
    expect(answer.type).toBe(type);
    expect(fetchEnding(afterCommit(answer), true)?.error).toBe(answer);
    expect(fetchEnding(answer, true)?.error).toBe(answer); // and bare, as before any commit
  });

  test('a stopped or stale fetch ends with the original error, whatever it is', () => {
    const epipe = new KafkaJSConnectionError('Connection error: write EPIPE', { broker: '127.0.0.1:19092', code: 'EPIPE' });
    expect(fetchEnding(afterCommit(epipe), false)?.error).toBe(epipe);
    const refused = serverError('57P01', 'terminating connection due to administrator command', 'FATAL');
    expect(fetchEnding(refused, false)?.error).toBe(refused);
  });

  test('while the fetch is active, any other failure is a write failure, retried in the loop (nothing thrown)', () => {
    const epipe = new KafkaJSConnectionError('Connection error: write EPIPE', { broker: '127.0.0.1:19092', code: 'EPIPE' });
    expect(fetchEnding(afterCommit(epipe), true)).toBeNull();
    expect(fetchEnding(serverError('57P01', 'terminating connection due to administrator command', 'FATAL'), true)).toBeNull();
    expect(fetchEnding(createErrorFromCode(6), true)).toBeNull(); // NOT_LEADER_FOR_PARTITION: no rejoin
  });
});

// A fetch sought back to next_offset is noted (fetchesPastNext) until a fetch of the partition
// applies. A new group generation forgets it, as it forgets writes failing: else a partition
// sought back just before it went to another member, and given back with nothing to fetch,
// kept the old note, and /readyz said for as long as the partition stayed idle that Kafka
// offered nothing from next_offset (health.ts reads the note's `since`).
describe('PartitionWorker: a new group generation forgets fetches sought back to next_offset', () => {
  test('the note of a seek in the last generation is not readiness of this one', async () => {
    const { PartitionWorker } = await import('../src/partition-worker');
    const lines: string[] = [];
    // Only what assign and the seek note touch.
    const worker = new PartitionWorker({ ports: { log: (line: string) => lines.push(line) } } as unknown as ConstructorParameters<typeof PartitionWorker>[0]);
    const internal = worker as unknown as { assign(partitions: number[]): void; notePastNext(fetched: unknown, offset: bigint): void };
    internal.assign([0]);
    internal.notePastNext({ partition: 0, messages: [{ offset: '9' }], fetchedFrom: 9n }, 5n);
    expect(worker.ownership()[0]!.fetchesPastNext).not.toBeNull();

    internal.assign([]); // the partition goes to another member
    internal.assign([0]); // and comes back, with nothing to fetch

    expect(worker.ownership()).toEqual([{ partition: 0, epoch: null, nextOffset: null, writesFailing: null, fetchesPastNext: null }]);
  });
});
