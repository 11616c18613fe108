import { recordBrokerConnections } from './broker-connections';

// Integration tests start real processes and wait on real services: a minute per test.
jest.setTimeout(60_000);

recordBrokerConnections(expect.getState().testPath ?? '(outside a test file)');
