// Integration tests start real processes and wait on real services: a minute per test.
jest.setTimeout(60_000);
