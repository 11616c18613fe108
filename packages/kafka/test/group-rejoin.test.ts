// Proves the worker can tell a consumer-group "rejoin" answer (a heartbeat during a
// rebalance) from a failed write: kafkajs's own errors for those answers, bare or wrapped,
// are recognised, and nothing else is.
import { KafkaJSNonRetriableError } from 'kafkajs';
import { isGroupRejoin } from '../src';

// kafkajs's error table and factory: the errors its heartbeat actually throws.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as { createErrorFromCode(code: number): Error & { type: string } };

describe('isGroupRejoin', () => {
  test.each([
    [27, 'REBALANCE_IN_PROGRESS'],
    [25, 'UNKNOWN_MEMBER_ID'],
    [22, 'ILLEGAL_GENERATION'],
    [79, 'MEMBER_ID_REQUIRED'],
  ])("kafkajs's error for code %i (%s), bare and wrapped", (code, type) => {
    const error = createErrorFromCode(code);
    expect(error.type).toBe(type);
    expect(isGroupRejoin(error)).toBe(true);
    // As its retrier wraps it (the typings omit the options kafkajs 2.2 takes).
    expect(isGroupRejoin(new (KafkaJSNonRetriableError as new (e: Error, options: { cause: Error }) => Error)(error, { cause: error }))).toBe(true);
  });

  test('anything else is not', () => {
    expect(isGroupRejoin(createErrorFromCode(6))).toBe(false); // NOT_LEADER_FOR_PARTITION
    expect(isGroupRejoin(Object.assign(new Error('terminating connection'), { code: '57P01' }))).toBe(false);
    expect(isGroupRejoin(new Error('The group is rebalancing, so a rejoin is needed'))).toBe(false); // the type decides, not the text
    expect(isGroupRejoin(null)).toBe(false);
  });
});
