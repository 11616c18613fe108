/**
 * Which code opened a connection to the broker that outlived its owner.
 *
 * Once in a few CI runs an in-process Kafka client left one idle connection open after the
 * last test, and Jest waited for the broker to close it at its 10-minute idle limit, with
 * nothing saying whose it was. The integration setup records the opener and stack of every
 * connection to the broker (`recordBrokerConnections`, once per test file); the global teardown
 * prints those still open and ends them as the broker's idle limit would
 * (`endLeakedBrokerConnections`), so the run ends at once and its log names the client. The
 * run's result is not changed: the leak is a client's bug to find from the log, not a failed
 * test. scripts/consumer-stop-stress.ts records the same way, per round.
 *
 * Tests run in band, so all of it happens in one process: the record lives on node:net's
 * `Socket` class, the one object every test file's sandbox and the teardown share (each
 * sandbox has its own `process` object and globals).
 */
import { Socket } from 'node:net';

export interface BrokerConnection {
  socket: Socket;
  /** What was running when it connected: a test file, a stress round. */
  openedBy: string;
  at: string;
  stack: string;
}

const RECORD = Symbol.for('ledgerline.test.brokerConnections');
const OPENER = Symbol.for('ledgerline.test.brokerConnectionOpener');
type Holder = { [RECORD]?: Set<BrokerConnection>; [OPENER]?: string };
const holder = Socket as unknown as Holder;

function brokerPorts(): Set<number> {
  return new Set((process.env.KAFKA_BROKERS ?? '').split(',').map((broker) => Number(broker.split(':').pop())));
}

/** Records each connection to the broker (KAFKA_BROKERS) from now on, as opened by `openedBy`. */
export function recordBrokerConnections(openedBy: string): void {
  holder[OPENER] = openedBy;
  if (holder[RECORD]) return;
  const opened = new Set<BrokerConnection>();
  holder[RECORD] = opened;
  const ports = brokerPorts();
  Error.stackTraceLimit = Math.max(Error.stackTraceLimit, 50); // down to the code that made the client
  const connect = Socket.prototype.connect as (...args: unknown[]) => Socket;
  Socket.prototype.connect = function recorded(this: Socket, ...args: unknown[]): Socket {
    // net.connect() passes its arguments on normalised: [[options, callback]].
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    const port = Number(typeof first === 'object' && first !== null ? (first as { port?: unknown }).port : first);
    if (ports.has(port)) {
      const entry: BrokerConnection = { socket: this, openedBy: holder[OPENER] ?? '', at: new Date().toISOString(), stack: new Error().stack ?? '' };
      opened.add(entry);
      this.once('close', () => opened.delete(entry));
    }
    return connect.apply(this, args);
  } as typeof Socket.prototype.connect;
}

/** The recorded connections to the broker still open. */
export function openBrokerConnections(): BrokerConnection[] {
  return [...(holder[RECORD] ?? [])].filter((entry) => !entry.socket.destroyed);
}

/** Who opened the connection, when, and the stack that connected it (Node's internals left out). */
export function describeBrokerConnection(entry: BrokerConnection): string {
  const frames = entry.stack.split('\n').slice(2, 30).filter((line) => !line.includes('node:internal'));
  return `opened at ${entry.at} by ${entry.openedBy}\n${frames.join('\n')}`;
}

/** Prints the broker connections still open, with who opened them and the stack, and ends them. */
export function endLeakedBrokerConnections(): void {
  for (const entry of openBrokerConnections()) {
    process.stderr.write(`\nA connection to the broker outlived the tests: ${describeBrokerConnection(entry)}\n`);
    // As the broker does at its idle limit: kafkajs then sees its connection end and stops its timers.
    entry.socket.end();
  }
}
