#!/usr/bin/env node
// Waits until a Kafka broker really answers metadata requests, not just accepts TCP.
//
//   node infra/local/wait-kafka.mjs <port> [timeoutSeconds=60] [host=127.0.0.1]
//
// Exit 0 when describeCluster lists at least one broker and listTopics answers; exit 1 on
// timeout (with the last error on stderr); exit 2 on bad usage or kafkajs missing.
// Plain ESM so it runs before any TypeScript tooling; kafkajs comes from the repo root's
// node_modules (installed by scripts/bootstrap.sh), resolved relative to this file so the
// caller's cwd does not matter. The root package.json declares kafkajs for this probe alone
// (the TypeScript code reaches Kafka through packages/kafka); knip cannot follow a
// createRequire, hence kafkajs in its ignoreDependencies.
import { createRequire } from 'node:module';

const [portArg, timeoutArg = '60', host = '127.0.0.1'] = process.argv.slice(2);
const port = Number(portArg);
const timeoutMs = Number(timeoutArg) * 1000;
if (!Number.isInteger(port) || port <= 0 || !(timeoutMs > 0)) {
  process.stderr.write('usage: wait-kafka.mjs <port> [timeoutSeconds] [host]\n');
  process.exit(2);
}

let kafkajs;
try {
  kafkajs = createRequire(new URL('../../package.json', import.meta.url))('kafkajs');
} catch {
  process.stderr.write('wait-kafka: kafkajs is not installed; run `bash scripts/bootstrap.sh` first\n');
  process.exit(2);
}
const { Kafka, logLevel } = kafkajs;

const deadline = Date.now() + timeoutMs;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One short attempt per round; our loop does the retrying so the overall deadline is honoured
// (kafkajs' own retry would back off for much longer than we want to wait).
async function probe() {
  const kafka = new Kafka({
    clientId: 'ledgerline-wait-kafka',
    brokers: [`${host}:${port}`],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 3000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (!cluster.brokers || cluster.brokers.length === 0) throw new Error('metadata lists no brokers yet');
    await admin.listTopics();
    return cluster;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

let lastError;
while (Date.now() < deadline) {
  try {
    const cluster = await probe();
    if (process.env.WAIT_KAFKA_VERBOSE) {
      process.stderr.write(`kafka ${host}:${port} up: cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s)\n`);
    }
    process.exit(0);
  } catch (err) {
    lastError = err;
    await sleep(250);
  }
}
process.stderr.write(`wait-kafka: no metadata from ${host}:${port} within ${timeoutArg}s: ${lastError?.message ?? 'timeout'}\n`);
process.exit(1);
