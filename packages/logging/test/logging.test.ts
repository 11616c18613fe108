// Proves the Logger port's pino adapter writes one JSON object per line with the level's
// name, the message and the bound fields, that child loggers carry their bindings, and that
// lineLog turns a `partition N: ...` message into a structured `partition` (and `epoch`).
import { Writable } from 'node:stream';
import { createLogger, lineLog } from '../src';

function capture(level: 'info' | 'debug' = 'info') {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ name: 'test', level, destination }), lines };
}

describe('the pino Logger', () => {
  test('JSON lines with level name, message and fields; levels below the threshold are dropped', () => {
    const { logger, lines } = capture('info');
    logger.info('started', { port: 8080 });
    logger.debug('not shown');
    logger.warn('careful');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 'info', name: 'test', msg: 'started', port: 8080 });
    expect(typeof lines[0]!.time).toBe('string');
    expect(lines[1]).toMatchObject({ level: 'warn', msg: 'careful' });
  });

  test('a child logger carries its bindings on every line', () => {
    const { logger, lines } = capture();
    logger.child({ partition: 3, epoch: '7' }).error('fenced', { offset: 12 });
    expect(lines[0]).toMatchObject({ level: 'error', partition: 3, epoch: '7', offset: 12, msg: 'fenced' });
  });

  test('lineLog structures partition messages and raises failures to warn', () => {
    const { logger, lines } = capture();
    const log = lineLog(logger);
    log('partition 5: claimed epoch 9, resuming at offset 100');
    log('outbox relay: 3 rows not published yet (timeout); the sweeper retries');
    log('joined group generation: partitions [0, 1]');
    expect(lines[0]).toMatchObject({ level: 'info', partition: 5, epoch: '9', msg: 'claimed epoch 9, resuming at offset 100' });
    expect(lines[1]).toMatchObject({ level: 'warn' });
    expect(lines[2]).toMatchObject({ level: 'info', msg: 'joined group generation: partitions [0, 1]' });
    expect(lines[2]).not.toHaveProperty('partition');
  });
});
