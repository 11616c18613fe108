/**
 * Which of kafkajs's own lines are errors, and that its repeated warnings and errors are folded
 * per window (src/kafkajs-log.ts), on the messages of kafkajs's
 * real error table: a broker's answer that the client handles by itself (a rebalance, a
 * coordinator loading, a leader election) is a warning; any other error answer, and any
 * error that is not a broker's answer, stays an error.
 */
import { Writable } from 'node:stream';
import { createLogger } from '@ledgerline/logging';
import { type LogEntry, logLevel } from 'kafkajs';
import { kafkajsLineLevel, kafkajsLogCreator } from '../src/kafkajs-log';

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

describe('kafkajsLogCreator', () => {
  test("folds a retry loop's repeated errors into one counted line per window; other levels pass as they come", async () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const log = kafkajsLogCreator(createLogger({ name: 'test', level: 'info', destination }), 100)();
    const entry = (level: logLevel, message: string, broker = '127.0.0.1:19092'): LogEntry => ({
      namespace: 'Connection',
      level,
      label: 'ERROR',
      log: { message, broker, clientId: 'worker-1', timestamp: new Date().toISOString(), logger: 'kafkajs' },
    });
    for (let i = 0; i < 40; i += 1) {
      log(entry(logLevel.ERROR, `Connection error: connect ECONNREFUSED 127.0.0.1:19092`));
      log(entry(logLevel.INFO, 'Starting'));
    }
    expect(lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual(['Connection error: connect ECONNREFUSED 127.0.0.1:19092']);
    expect(lines.filter((l) => l.level === 'info')).toHaveLength(40);
    await new Promise((resolve) => setTimeout(resolve, 250));
    const errors = lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(2);
    expect(errors[1]).toMatchObject({ msg: 'Connection error: connect ECONNREFUSED 127.0.0.1:19092 (39 more like this in the last 0.1 s)', folded: 39, last_at: expect.any(String), namespace: 'Connection', broker: '127.0.0.1:19092' });
  });
});
