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
 * Every caller already has a fallback for a failed command (docs/design.md, invariant 9), so
 * failing at once loses nothing the wait would have given.
 *
 * How: the breaker wraps the client's `sendCommand`, which every command goes through (single
 * commands, pipelines, auto-pipelines, Lua scripts).
 * - closed: commands pass. A command that times out opens the breaker.
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

  constructor(
    private readonly client: Redis,
    private readonly options: BreakerOptions,
  ) {
    const target = client as unknown as { sendCommand: SendCommand };
    this.send = target.sendCommand.bind(client);
    target.sendCommand = (command, stream) => this.sendCommand(command, stream);
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
    const sent = this.send(command, stream);
    command.promise.catch((error: unknown) => {
      // Only a closed breaker trips: a command sent before it opened and timing out later
      // says nothing new, and while probing the PING decides.
      if (isTimeout(error) && this.current === 'closed') this.open();
    });
    return sent;
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
    this.send(ping);
    ping.promise.then(
      () => this.change('closed'),
      (error: unknown) => (isTimeout(error) ? this.open() : this.change('closed')),
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
 * What an operator needs to hear of a change of state, or null: the breaker's opening and its
 * closing, not each probe of a Redis that stays hung.
 */
export function describeBreakerChange(state: BreakerState, previous: BreakerState): string | null {
  if (state === 'open' && previous === 'closed') return 'redis left a command unanswered: its commands fail at once (callers fall back) until a PING is answered';
  if (state === 'closed' && previous !== 'closed') return 'redis answers again: its commands are sent again';
  return null;
}
