/**
 * A circuit breaker in front of a command connection: once Redis leaves a command unanswered
 * past its timeout, the connection's commands fail at once instead of each waiting out the
 * timeout, until a PING is answered again.
 *
 * Why: a Redis that is down fails fast already (the connection has no offline queue), but a
 * hung one (stopped, swapping, a network path that drops packets) keeps its TCP connection
 * open and answers nothing. Every command then waits out `commandTimeoutMs`, and an API request
 * makes several (its rate limit, its ACCEPTED record, a status read): an outside fault review
 * measured about 2 s added to every request while Redis was SIGSTOPped, with nothing failing.
 * Every caller already has a fallback for a failed command (docs/design.md, invariant 9):
 * the rate limit counts in memory, a balance is read from Postgres, an ACCEPTED record not
 * written leaves its command findable by its claim (a 503 to retry, not a 404). While the
 * breaker is open those fallbacks answer, as they would after each timeout, only at once.
 *
 * How: the breaker wraps the client's `sendCommand`, which every command goes through (single
 * commands, pipelines, auto-pipelines, Lua scripts).
 * - closed: commands pass. A command that times out opens the breaker, unless Redis sent
 *   anything since that command was sent: then Redis answers, and the timeout was this
 *   process's own stall (the event loop runs timers before it reads the socket).
 *   `redis-breaker.int.test.ts` stalls the loop with Redis healthy: the breaker stays closed.
 * - open: commands are refused at once with `RedisCircuitOpenError`, for `openMs`.
 * - probing: then one PING goes out (commands are still refused meanwhile). An answer closes
 *   the breaker; another timeout opens it again for `openMs`. Any other failure closes it too:
 *   a connection that is down or not writable makes commands fail fast on their own.
 * While the connection is not ready (connecting, its handshake) commands pass untouched: ioredis
 * refuses them itself without an offline queue, and the handshake must reach Redis.
 *
 * Hand-written rather than a library's (opossum and the like wrap a function and trip on an
 * error rate over a rolling window): the trigger here is one kind of failure of one
 * connection, and the hook is ioredis's own command path, so that no call site can bypass it.
 */
import { Command, type Redis } from 'ioredis';

export type BreakerState = 'closed' | 'open' | 'probing';

export interface BreakerOptions {
  /** How long the breaker stays open before it probes with a PING (ms). */
  openMs: number;
  /** Called on each change of state (for a gauge, a log line). */
  onStateChange?: (state: BreakerState, previous: BreakerState) => void;
}

/** A command refused without being sent, because Redis left an earlier one unanswered. */
export class RedisCircuitOpenError extends Error {
  override readonly name = 'RedisCircuitOpenError';
  constructor() {
    super('redis is not answering (a command timed out); commands fail at once until a PING is answered');
  }
}

/** ioredis's message for a command that `commandTimeout` ended. */
const COMMAND_TIMED_OUT = 'Command timed out';

const isTimeout = (error: unknown): boolean => error instanceof Error && error.message === COMMAND_TIMED_OUT;

type SendCommand = (command: Command, stream?: unknown) => unknown;

/** Puts a breaker in front of `client`'s commands (see above). */
export function installBreaker(client: Redis, options: BreakerOptions): RedisBreaker {
  return new RedisBreaker(client, options);
}

export class RedisBreaker {
  private current: BreakerState = 'closed';
  private timer: NodeJS.Timeout | null = null;
  private readonly send: SendCommand;
  /** When bytes from Redis last arrived on the connection (ms). */
  private heardAt = 0;

  constructor(
    private readonly client: Redis,
    private readonly options: BreakerOptions,
  ) {
    const target = client as unknown as { sendCommand: SendCommand };
    this.send = target.sendCommand.bind(client);
    target.sendCommand = (command, stream) => this.sendCommand(command, stream);
    // Each (re)connection's socket: anything Redis sends proves it answers.
    client.on('connect', () => client.stream?.on('data', () => (this.heardAt = Date.now())));
    client.once('end', () => this.clearTimer());
  }

  get state(): BreakerState {
    return this.current;
  }

  private sendCommand(command: Command, stream?: unknown): unknown {
    if (this.client.status !== 'ready') return this.send(command, stream);
    if (this.current !== 'closed') {
      command.reject(new RedisCircuitOpenError());
      return command.promise;
    }
    const sentAt = Date.now();
    const sent = this.send(command, stream);
    command.promise.catch((error: unknown) => {
      if (!isTimeout(error)) return;
      this.afterIo(() => {
        // Only a closed breaker trips: a command sent before it opened and timing out later
        // says nothing new, and while probing the PING decides.
        if (this.current === 'closed' && !this.heardSince(sentAt)) this.open();
      });
    });
    return sent;
  }

  /**
   * Runs `check` once the replies already waiting on the socket have been read. A timeout fires
   * in the event loop's timers phase, before its poll phase reads the socket: when this process
   * itself stalled (a long GC pause, a CPU-bound burst), the command "timed out" with its
   * reply waiting. setImmediate runs after the poll phase, when `heardAt` knows.
   */
  private afterIo(check: () => void): void {
    setImmediate(check);
  }

  /** Whether Redis sent anything since `since`: then it answers, and a timeout was this process's stall. */
  private heardSince(since: number): boolean {
    return this.heardAt >= since;
  }

  private open(): void {
    this.change('open');
    this.clearTimer();
    this.timer = setTimeout(() => this.probe(), this.options.openMs);
    this.timer.unref();
  }

  private probe(): void {
    this.timer = null;
    if (this.client.status !== 'ready') {
      this.change('closed');
      return;
    }
    this.change('probing');
    const ping = new Command('ping', []);
    const sentAt = Date.now();
    this.send(ping);
    ping.promise.then(
      () => this.change('closed'),
      (error: unknown) => {
        if (!isTimeout(error)) return this.change('closed');
        this.afterIo(() => (this.heardSince(sentAt) ? this.change('closed') : this.open()));
      },
    );
  }

  private change(state: BreakerState): void {
    const previous = this.current;
    if (previous === state) return;
    this.current = state;
    this.options.onStateChange?.(state, previous);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/**
 * The listener both apps give the breaker: a gauge at 1 while it is open or probing (0 when
 * closed), and a warning when it opens and when it closes, not at each probe of a Redis that
 * stays hung.
 */
export function reportBreakerChanges(gauge: { set(value: number): void }, warn: (message: string) => void): (state: BreakerState, previous: BreakerState) => void {
  return (state, previous) => {
    gauge.set(state === 'closed' ? 0 : 1);
    if (state === 'open' && previous === 'closed') warn('redis left a command unanswered: its commands fail at once (callers fall back) until a PING is answered');
    if (state === 'closed' && previous !== 'closed') warn('redis answers again: its commands are sent again');
  };
}
