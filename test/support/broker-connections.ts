/**
 * Which test opened a connection to the broker that outlived the run.
 *
 * Once in a few CI runs an in-process Kafka client left one idle connection open after the
 * last test, and Jest waited for the broker to close it at its 10-minute idle limit, with
 * nothing saying whose it was. The integration setup records the stack and test file of
 * every connection to the broker (`recordBrokerConnections`); the global teardown prints those
 * still open and ends them as the broker's idle limit would (`endLeakedBrokerConnections`), so
 * the run ends at once and its log names the client. The run's result is not changed: the
 * leak is a client's bug to find from the log, not a failed test. Tests run in band, so all of it happens in one process: the record
 * lives on node:net's `Socket` class, the one object every test file's sandbox and the
 * teardown share (each sandbox has its own `process` object and globals).
 */
import { Socket } from 'node:net';

interface Opened {
  socket: Socket;
  testPath: string;
  at: string;
  stack: string;
}

const RECORD = Symbol.for('ledgerline.test.brokerConnections');
const CURRENT_TEST = Symbol.for('ledgerline.test.currentTestPath');
type Holder = { [RECORD]?: Set<Opened>; [CURRENT_TEST]?: string };
const holder = Socket as unknown as Holder;

function brokerPorts(): Set<number> {
  return new Set((process.env.KAFKA_BROKERS ?? '').split(',').map((broker) => Number(broker.split(':').pop())));
}

/** Records each connection to the broker from now on, as opened by `testPath` (the file starting). */
export function recordBrokerConnections(testPath: string): void {
  holder[CURRENT_TEST] = testPath;
  if (holder[RECORD]) return;
  const opened = new Set<Opened>();
  holder[RECORD] = opened;
  const ports = brokerPorts();
  const connect = Socket.prototype.connect as (...args: unknown[]) => Socket;
  Socket.prototype.connect = function recorded(this: Socket, ...args: unknown[]): Socket {
    // net.connect() passes its arguments on normalised: [[options, callback]].
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    const port = Number(typeof first === 'object' && first !== null ? (first as { port?: unknown }).port : first);
    if (ports.has(port)) {
      const entry: Opened = { socket: this, testPath: holder[CURRENT_TEST] ?? '', at: new Date().toISOString(), stack: new Error().stack ?? '' };
      opened.add(entry);
      this.once('close', () => opened.delete(entry));
    }
    return connect.apply(this, args);
  } as typeof Socket.prototype.connect;
}

/** Prints the broker connections still open, with the test and stack that opened them, and ends them. */
export function endLeakedBrokerConnections(): number {
  const opened = holder[RECORD];
  if (!opened) return 0;
  const leaked = [...opened].filter((entry) => !entry.socket.destroyed);
  for (const entry of leaked) {
    const frames = entry.stack.split('\n').slice(2, 30).filter((line) => !line.includes('node:internal'));
    process.stderr.write(`\nA connection to the broker outlived the tests: opened at ${entry.at} by ${entry.testPath}\n${frames.join('\n')}\n`);
    // As the broker does at its idle limit: kafkajs then sees its connection end and stops its timers.
    entry.socket.end();
  }
  return leaked.length;
}
