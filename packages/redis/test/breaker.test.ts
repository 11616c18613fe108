/**
 * The Redis circuit breaker's state machine (src/breaker.ts), on a stand-in for the ioredis
 * connection and Jest's fake clock: a command Redis leaves unanswered opens it, and commands
 * are then refused without reaching the connection; a timeout with bytes from Redis since the
 * command was sent (this process's own stall) leaves it closed, also when the bytes are read
 * only after the timeout fired; after `openMs` one PING decides (answered or failed: closed;
 * unanswered: open again, and another PING later); nothing is touched while the connection is
 * not ready; a pipeline and a MULTI (ioredis's own code) are refused command by command, with
 * nothing written; and the listener both apps give it reports a gauge and warns twice per
 * outage, not at each probe. Against a real Redis: redis-breaker.int.test.ts.
 */
import { EventEmitter } from 'node:events';
import Redis, { type ChainableCommander, Command } from 'ioredis';
import { type BreakerState, RedisCircuitOpenError, reportBreakerChanges } from '../src';
import { installBreaker } from '../src/breaker';

const OPEN_MS = 1_000;
/** How long the stand-in "waits" before a command times out (ioredis's `commandTimeout`). */
const TIMEOUT_MS = 500;

/**
 * The part of an ioredis connection breaker.ts uses: `status`, `sendCommand`, the socket
 * (`stream`, its 'data') given on 'connect', and 'end'. The pipeline fields are what ioredis's
 * Pipeline reads from its connection.
 */
class FakeConnection extends EventEmitter {
  status = 'ready';
  stream: EventEmitter | undefined;
  /** What reached the connection's own sendCommand, i.e. would have been written to Redis. */
  readonly sent: Command[] = [];
  readonly options = {};
  readonly scriptsSet = {};
  readonly addedBuiltinSet = new Set<string>();

  sendCommand(command: Command): unknown {
    this.sent.push(command);
    return command.promise;
  }

  /** A (re)connection: a new socket, announced as ioredis does. */
  connect(): void {
    this.stream = new EventEmitter();
    this.emit('connect');
  }

  /** Redis sends bytes on the socket (any reply). */
  hear(): void {
    this.stream!.emit('data', Buffer.from('+OK\r\n'));
  }
}

function setup() {
  const connection = new FakeConnection();
  const changes: [BreakerState, BreakerState][] = [];
  const breaker = installBreaker(connection as unknown as Redis, { openMs: OPEN_MS, onStateChange: (state, previous) => changes.push([state, previous]) });
  // After the breaker, as in createRedis: ioredis connects once the constructor has returned.
  connection.connect();
  /** A command as a caller sends it: through the connection's (wrapped) sendCommand. */
  const send = (name = 'get', args: string[] = ['k']): Command => {
    const command = new Command(name, args);
    command.promise.catch(() => undefined); // the tests read the outcome themselves
    connection.sendCommand(command);
    return command;
  };
  return { connection, breaker, changes, send };
}

/** ioredis's rejection of a command its `commandTimeout` ended. */
const timeOut = (command: Command) => command.reject(new Error('Command timed out'));

/** Runs the callbacks already due: promise handlers, then the breaker's setImmediate check. */
const settle = () => jest.advanceTimersByTimeAsync(0);

/** A command sent with nothing from Redis since, left unanswered past its timeout: opens the breaker. */
async function openIt(t: ReturnType<typeof setup>): Promise<void> {
  jest.advanceTimersByTime(1);
  const hung = t.send();
  await expire(t, hung);
  expect(t.breaker.state).toBe('open');
}

/**
 * `command` left unanswered for its whole timeout, then timed out, and the breaker's checks
 * run; `heardMeanwhile`: bytes from Redis arrived during the wait (this process stalled).
 */
async function expire(t: ReturnType<typeof setup>, command: Parameters<typeof timeOut>[0], { heardMeanwhile = false } = {}): Promise<void> {
  jest.advanceTimersByTime(TIMEOUT_MS);
  if (heardMeanwhile) t.connection.hear();
  timeOut(command);
  await settle();
}

/** The last command that reached the connection, checked to be the breaker's PING. */
function lastPing(connection: FakeConnection): Command {
  const ping = connection.sent.at(-1)!;
  expect(ping.name).toBe('ping');
  return ping;
}

beforeEach(() => {
  jest.useFakeTimers({ now: 1_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('the Redis circuit breaker', () => {
  test('a command Redis leaves unanswered opens it; then commands are refused at once and never reach the connection', async () => {
    const t = setup();
    t.connection.hear(); // an earlier reply: before the command, so it proves nothing
    await openIt(t);
    expect(t.changes).toEqual([['open', 'closed']]);

    const sentBefore = t.connection.sent.length;
    const refused = t.send();
    await expect(refused.promise).rejects.toBeInstanceOf(RedisCircuitOpenError);
    await expect(refused.promise).rejects.toThrow(/redis is not answering/);
    expect(t.connection.sent).toHaveLength(sentBefore);
  });

  test("a timeout with bytes from Redis since the command was sent (this process's stall) leaves it closed", async () => {
    const t = setup();
    jest.advanceTimersByTime(1);
    const stalled = t.send();
    await expire(t, stalled, { heardMeanwhile: true });
    expect(t.breaker.state).toBe('closed');
    expect(t.changes).toEqual([]);
    t.send('get', ['next']);
    expect(t.connection.sent.at(-1)!.args).toEqual(['next']);
  });

  test('the stall check waits for the bytes read after the timeout fired (the timers phase runs before the socket is read)', async () => {
    const t = setup();
    jest.advanceTimersByTime(1);
    const stalled = t.send();
    jest.advanceTimersByTime(TIMEOUT_MS);
    timeOut(stalled);
    // The rejection's handlers run (microtasks), then the poll phase reads the waiting reply,
    // then the check (setImmediate).
    await Promise.resolve();
    await Promise.resolve();
    t.connection.hear();
    await settle();
    expect(t.breaker.state).toBe('closed');
  });

  test('while the connection is not ready, commands pass untouched: none is refused, and a timeout opens nothing', async () => {
    const t = setup();
    t.connection.status = 'connect';
    jest.advanceTimersByTime(1);
    const handshake = t.send('info');
    expect(t.connection.sent).toEqual([handshake]);
    await expire(t, handshake);
    expect(t.breaker.state).toBe('closed');

    // Open, then the connection drops: commands go to ioredis, which refuses them itself.
    t.connection.status = 'ready';
    await openIt(t);
    t.connection.status = 'reconnecting';
    const passed = t.send('get', ['while-reconnecting']);
    expect(t.connection.sent.at(-1)).toBe(passed);
  });

  test('after openMs one PING goes out, commands are still refused meanwhile, and its answer closes it', async () => {
    const t = setup();
    await openIt(t);
    const sentBefore = t.connection.sent.length;
    jest.advanceTimersByTime(OPEN_MS - 1);
    expect(t.connection.sent).toHaveLength(sentBefore);
    expect(t.breaker.state).toBe('open');

    jest.advanceTimersByTime(1);
    expect(t.breaker.state).toBe('probing');
    expect(t.connection.sent).toHaveLength(sentBefore + 1);
    const ping = lastPing(t.connection);
    await expect(t.send().promise).rejects.toBeInstanceOf(RedisCircuitOpenError);
    expect(t.connection.sent).toHaveLength(sentBefore + 1);

    ping.resolve('PONG');
    await settle();
    expect(t.breaker.state).toBe('closed');
    expect(t.changes).toEqual([
      ['open', 'closed'],
      ['probing', 'open'],
      ['closed', 'probing'],
    ]);
    const passed = t.send('get', ['after']);
    expect(t.connection.sent.at(-1)).toBe(passed);
  });

  test('a PING left unanswered opens it again for openMs, and another PING follows', async () => {
    const t = setup();
    await openIt(t);
    jest.advanceTimersByTime(OPEN_MS);
    const first = lastPing(t.connection);
    await expire(t, first);
    expect(t.breaker.state).toBe('open');
    await expect(t.send().promise).rejects.toBeInstanceOf(RedisCircuitOpenError);

    jest.advanceTimersByTime(OPEN_MS);
    expect(t.breaker.state).toBe('probing');
    const second = lastPing(t.connection);
    expect(second).not.toBe(first);
    second.resolve('PONG');
    await settle();
    expect(t.changes.map(([state]) => state)).toEqual(['open', 'probing', 'open', 'probing', 'closed']);
  });

  test('a PING that timed out with bytes from Redis since it was sent closes it (a stall while probing)', async () => {
    const t = setup();
    await openIt(t);
    jest.advanceTimersByTime(OPEN_MS);
    const ping = lastPing(t.connection);
    await expire(t, ping, { heardMeanwhile: true });
    expect(t.breaker.state).toBe('closed');
  });

  test('a PING that fails other than by a timeout closes it (a connection down fails commands fast by itself)', async () => {
    const t = setup();
    await openIt(t);
    jest.advanceTimersByTime(OPEN_MS);
    lastPing(t.connection).reject(new Error('Connection is closed.'));
    await settle();
    expect(t.breaker.state).toBe('closed');
  });

  test('at probe time, a connection that is not ready closes it without a PING', async () => {
    const t = setup();
    await openIt(t);
    const sentBefore = t.connection.sent.length;
    t.connection.status = 'reconnecting';
    jest.advanceTimersByTime(OPEN_MS);
    expect(t.breaker.state).toBe('closed');
    expect(t.connection.sent).toHaveLength(sentBefore);
    expect(t.changes).toEqual([
      ['open', 'closed'],
      ['closed', 'open'],
    ]);
  });

  test('a command sent while closed that times out while probing changes nothing: the PING decides', async () => {
    const t = setup();
    jest.advanceTimersByTime(1);
    const hung = t.send('get', ['a']);
    const late = t.send('get', ['b']);
    await expire(t, hung);
    jest.advanceTimersByTime(OPEN_MS);
    expect(t.breaker.state).toBe('probing');
    timeOut(late);
    await settle();
    expect(t.breaker.state).toBe('probing');
    lastPing(t.connection).resolve('PONG');
    await settle();
    expect(t.changes.map(([state]) => state)).toEqual(['open', 'probing', 'closed']);
  });

  test('after a reconnection, bytes on the new socket count as Redis answering', async () => {
    const t = setup();
    t.connection.connect(); // a reconnection: a new socket
    jest.advanceTimersByTime(1);
    const stalled = t.send();
    await expire(t, stalled, { heardMeanwhile: true });
    expect(t.breaker.state).toBe('closed');
  });

  test("after the connection's 'end' it sends no PING (its timer is cleared), and stays in the state it had", async () => {
    const t = setup();
    await openIt(t);
    const sentBefore = t.connection.sent.length;
    t.connection.status = 'end';
    t.connection.emit('end');
    jest.advanceTimersByTime(OPEN_MS * 3);
    expect(t.connection.sent).toHaveLength(sentBefore);
    expect(t.breaker.state).toBe('open');
    expect(jest.getTimerCount()).toBe(0);
  });

  test('a pipeline while open: each command is refused with the breaker error, and nothing is written', async () => {
    const t = setup();
    await openIt(t);
    const sentBefore = t.connection.sent.length;
    const pipeline = (Redis.prototype.pipeline as (this: unknown) => ChainableCommander).call(t.connection);
    const result = await pipeline.get('a').incr('b').exec();
    expect(result).toHaveLength(2);
    for (const [error] of result!) expect(error).toBeInstanceOf(RedisCircuitOpenError);
    expect(t.connection.sent).toHaveLength(sentBefore);
  });

  test('a MULTI while open: its EXEC rejects with the breaker error, the queued commands as previousErrors, nothing written', async () => {
    const t = setup();
    await openIt(t);
    const sentBefore = t.connection.sent.length;
    const multi = (Redis.prototype.multi as (this: unknown) => ChainableCommander).call(t.connection);
    const outcome = multi.set('a', '1').incr('b').exec();
    await expect(outcome).rejects.toBeInstanceOf(RedisCircuitOpenError);
    const error = (await outcome.catch((e: unknown) => e)) as RedisCircuitOpenError & { previousErrors: unknown[] };
    // MULTI, SET, INCR refused before EXEC.
    expect(error.previousErrors).toHaveLength(3);
    for (const previous of error.previousErrors) expect(previous).toBeInstanceOf(RedisCircuitOpenError);
    expect(t.connection.sent).toHaveLength(sentBefore);
  });

  test('a pipeline while closed reaches the connection command by command', async () => {
    const t = setup();
    const pipeline = (Redis.prototype.pipeline as (this: unknown) => ChainableCommander).call(t.connection);
    const done = pipeline.get('a').incr('b').exec();
    expect(t.connection.sent.map((c) => c.name)).toEqual(['get', 'incr']);
    t.connection.sent[0]!.resolve('x');
    t.connection.sent[1]!.resolve(1);
    expect(await done).toEqual([
      [null, 'x'],
      [null, 1],
    ]);
  });
});

describe('reportBreakerChanges (the listener both apps give the breaker)', () => {
  test('the gauge is 1 while open or probing, 0 when closed; one warning when it opens and one when it closes, none at each probe', () => {
    const gauge: number[] = [];
    const warnings: string[] = [];
    const report = reportBreakerChanges({ set: (value) => gauge.push(value) }, (message) => warnings.push(message));
    const outage: [BreakerState, BreakerState][] = [
      ['open', 'closed'],
      ['probing', 'open'],
      ['open', 'probing'],
      ['probing', 'open'],
      ['closed', 'probing'],
    ];
    for (const [state, previous] of outage) report(state, previous);
    expect(gauge).toEqual([1, 1, 1, 1, 0]);
    expect(warnings).toEqual([expect.stringMatching(/redis left a command unanswered/), expect.stringMatching(/redis answers again/)]);
  });

  test('wired to a breaker, it follows an outage from the first timeout to the answered PING', async () => {
    const connection = new FakeConnection();
    const gauge: number[] = [];
    const warnings: string[] = [];
    const breaker = installBreaker(connection as unknown as Redis, { openMs: OPEN_MS, onStateChange: reportBreakerChanges({ set: (v) => gauge.push(v) }, (m) => warnings.push(m)) });
    connection.connect();
    jest.advanceTimersByTime(1);
    const hung = new Command('get', ['k']);
    hung.promise.catch(() => undefined);
    connection.sendCommand(hung);
    timeOut(hung);
    await settle();
    jest.advanceTimersByTime(OPEN_MS);
    lastPing(connection).resolve('PONG');
    await settle();
    expect(breaker.state).toBe('closed');
    expect(gauge).toEqual([1, 1, 0]);
    expect(warnings).toHaveLength(2);
  });
});
