/**
 * After the last integration test: a connection to the broker still open is printed with the
 * test and stack that opened it, and ended (test/support/broker-connections.ts).
 */
import { endLeakedBrokerConnections } from './broker-connections';

export default async function globalTeardown(): Promise<void> {
  // A client closing as the last test ends gets a moment to finish.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  endLeakedBrokerConnections();
}
