// Proves the Logger port's pino adapter writes one JSON object per line with the level's
// name, the message and the bound fields, that child loggers carry their bindings, and that
// lineLog turns a `partition N: ...` message into a structured `partition` (and `epoch`), and
// that the request log gives a 503 the API chose a warn with its code, not a made-up error,
// and names who asked (the verified principal, or why the token was refused).
import { type AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { Writable } from 'node:stream';
import { createLogger, httpLogger, lineLog } from '../src';

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
    log('partition 2: offset 41 dead-lettered as forged: forged: a DEPOSIT needs an operator seal');
    expect(lines[3]).toMatchObject({ level: 'warn', partition: 2 });
    expect(lines[0]).toMatchObject({ level: 'info', partition: 5, epoch: '9', msg: 'claimed epoch 9, resuming at offset 100' });
    expect(lines[1]).toMatchObject({ level: 'warn' });
    expect(lines[2]).toMatchObject({ level: 'info', msg: 'joined group generation: partitions [0, 1]' });
    expect(lines[2]).not.toHaveProperty('partition');
  });
});

describe('httpLogger', () => {
  test("a request line shows a long URL's first 256 characters and its length, not all of it (an outside review)", async () => {
    const { logger, lines } = capture('info');
    const middleware = httpLogger(logger);
    const server = createServer((req, res) => middleware(req, res, () => void (res.statusCode = 401, res.end())));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const long = `/v1/accounts?q=${'A'.repeat(15_000)}`;
    await fetch(`http://127.0.0.1:${port}${long}`);
    await fetch(`http://127.0.0.1:${port}/v1/accounts?q=short`);
    await new Promise((resolve) => server.close(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    const requests = lines.filter((line) => line.req !== undefined).map((line) => line.req as { url: string; url_length?: number });
    expect(requests).toEqual([
      { id: expect.anything(), method: 'GET', url: long.slice(0, 256), url_length: long.length },
      { id: expect.anything(), method: 'GET', url: '/v1/accounts?q=short' },
    ]);
    expect(Math.max(...lines.map((line) => JSON.stringify(line).length))).toBeLessThan(1_000);
  });

  async function answered(
    status: number,
    code: string | null,
    thrown: Error | null = null,
    dependency: string | null = null,
    requester: Record<string, unknown> = {},
  ): Promise<Record<string, unknown>> {
    const { logger, lines } = capture('debug');
    const middleware = httpLogger(logger);
    const server = createServer((req, res) => {
      middleware(req, res, () => {
        (res as unknown as { locals: Record<string, unknown> }).locals = { ...requester };
        if (code) Object.assign((res as unknown as { locals: Record<string, unknown> }).locals, dependency ? { errorCode: code, errorDependency: dependency } : { errorCode: code });
        if (thrown) (res as unknown as { err: Error }).err = thrown;
        res.statusCode = status;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await fetch(`http://127.0.0.1:${port}/v1/transfers`, { method: 'POST' });
    await new Promise((resolve) => server.close(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    return lines.find((line) => line.res !== undefined)!;
  }

  test('a 503 the app answered is a warn with its code, without a made-up error and stack', async () => {
    const line = await answered(503, 'DEPENDENCY_UNAVAILABLE');
    expect(line).toMatchObject({ level: 'warn', code: 'DEPENDENCY_UNAVAILABLE', res: { statusCode: 503 } });
    expect(line.err).toBeUndefined();
    expect(line).not.toHaveProperty('dependency');
  });

  test("a bucket being moved is an operator's planned step: its 503s are info, not a warning each", async () => {
    expect(await answered(503, 'BUCKET_MOVING')).toMatchObject({ level: 'info', code: 'BUCKET_MOVING', res: { statusCode: 503 } });
  });

  test('a 503 for a failing dependency names it', async () => {
    const line = await answered(503, 'DEPENDENCY_UNAVAILABLE', null, 'kafka');
    expect(line).toMatchObject({ level: 'warn', code: 'DEPENDENCY_UNAVAILABLE', dependency: 'kafka' });
  });

  test('a 500 is an error, with the exception when there is one; a 4xx is info, a 2xx debug', async () => {
    expect(await answered(500, 'INTERNAL')).toMatchObject({ level: 'error', code: 'INTERNAL' });
    expect(await answered(500, 'INTERNAL', new Error('boom'))).toMatchObject({ level: 'error', err: { message: 'boom' } });
    expect(await answered(404, 'NOT_FOUND')).toMatchObject({ level: 'info' });
    expect(await answered(202, null)).toMatchObject({ level: 'debug' });
  });

  test('a 4xx line carries its code too, so an operator can find every IDEMPOTENCY_KEY_REUSED', async () => {
    expect(await answered(422, 'IDEMPOTENCY_KEY_REUSED')).toMatchObject({ level: 'info', code: 'IDEMPOTENCY_KEY_REUSED', res: { statusCode: 422 } });
    expect((await answered(202, null)).code).toBeUndefined();
  });

  test('a line names the verified principal (cut to 256 characters), or why the token was refused; neither when there was none', async () => {
    expect(await answered(403, 'FORBIDDEN', null, null, { principal: 'mallory' })).toMatchObject({ level: 'info', code: 'FORBIDDEN', principal: 'mallory' });
    expect(await answered(202, null, null, null, { principal: 'alice' })).toMatchObject({ level: 'debug', principal: 'alice' });
    expect(await answered(500, 'INTERNAL', new Error('boom'), null, { principal: 'alice' })).toMatchObject({ level: 'error', principal: 'alice' });
    expect(await answered(503, 'DEPENDENCY_UNAVAILABLE', null, 'redis', { principal: 'alice' })).toMatchObject({ dependency: 'redis', principal: 'alice' });
    expect((await answered(404, 'NOT_FOUND', null, null, { principal: 'p'.repeat(300) })).principal).toBe('p'.repeat(256));
    const refused = await answered(401, 'TOKEN_EXPIRED', null, null, { authRefusal: 'token has expired' });
    expect(refused).toMatchObject({ code: 'TOKEN_EXPIRED', auth_refusal: 'token has expired' });
    expect(refused).not.toHaveProperty('principal');
    const anonymous = await answered(404, 'NOT_FOUND');
    expect([anonymous.principal, anonymous.auth_refusal]).toEqual([undefined, undefined]);
  });
});
