/**
 * Which of kafkajs's own lines are errors (src/kafkajs-log.ts), on the messages of kafkajs's
 * real error table: a broker's answer that the client handles by itself (a rebalance, a
 * coordinator loading, a leader election) is a warning; any other error answer, and any
 * error that is not a broker's answer, stays an error.
 */
import { logLevel } from 'kafkajs';
import { kafkajsLineLevel } from '../src/kafkajs-log';

function answer(error: string, message = 'Response Heartbeat(key: 12, version: 3)'): Parameters<typeof kafkajsLineLevel>[0] {
  return { namespace: 'Connection', level: logLevel.ERROR, log: { message, error, correlationId: 9, size: 10, timestamp: '', logger: 'kafkajs' } };
}

describe('kafkajsLineLevel', () => {
  it.each([
    ['a rebalance (a worker joined or left)', 'The group is rebalancing, so a rejoin is needed'],
    ['a member the coordinator forgot', 'The coordinator is not aware of this member'],
    ['a stale generation', 'Specified group generation id is not valid'],
    ['a coordinator still loading', "The coordinator is loading and hence can't process requests for this group"],
    ['a leader election', 'There is no leader for this topic-partition as we are in the middle of a leadership election'],
  ])('logs %s as a warning', (_what, error) => {
    expect(kafkajsLineLevel(answer(error))).toBe(logLevel.WARN);
  });

  it('keeps an answer the client cannot handle an error', () => {
    expect(kafkajsLineLevel(answer('Not authorized to access topics: [Topic authorization failed]'))).toBe(logLevel.ERROR);
    expect(kafkajsLineLevel(answer('The server experienced an unexpected error when processing the request'))).toBe(logLevel.ERROR);
  });

  it('keeps errors that are not a broker answer, and other namespaces, as they are', () => {
    expect(kafkajsLineLevel(answer('The group is rebalancing, so a rejoin is needed', 'Connection error: connect ECONNREFUSED'))).toBe(logLevel.ERROR);
    expect(kafkajsLineLevel({ ...answer('The group is rebalancing, so a rejoin is needed'), namespace: 'Consumer' })).toBe(logLevel.ERROR);
    expect(kafkajsLineLevel({ ...answer('The group is rebalancing, so a rejoin is needed'), level: logLevel.INFO })).toBe(logLevel.INFO);
  });
});
