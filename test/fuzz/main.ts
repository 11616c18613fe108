/**
 * `npm run fuzz` (scripts/fuzz.sh): schemathesis against /openapi.json of a real API and a
 * real worker, on a database and topics of the run's own (dropped afterwards), with every
 * check for FUZZ_SECONDS (default 120). Not part of `npm test`: it takes minutes and its
 * search is random; what it finds becomes a unit or integration test.
 *
 * What JSON Schema cannot express, and schemathesis would therefore report as a schema-valid
 * request the API refuses: from_account_id == to_account_id (400) and account metadata past
 * its total key count or serialised size (400) are kept out of the generated bodies (and
 * the first out of the stateful phase's linked requests) by fuzz_hooks.py; a reused
 * Idempotency-Key with another body (422) is an accepted answer of the POSTs
 * (schemathesis.toml). Everything else the validators enforce is declared in the
 * document, and any other refusal, 5xx or non-405 answer to an undeclared method fails.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createPool, ensureRouting, listDeadLetters, migrate, runAdminStatement, withDatabase } from '@ledgerline/postgres';
import { INVARIANT_BROKEN_REASON } from '../../apps/partition-worker/src/partition-applier';
import { startApi, token } from '../support/api';
import { testServices } from '../support/env';
import { createTestTopics } from '../support/kafka';
import { startWorker } from '../support/worker';

const PARTITIONS = 4;

async function main(): Promise<number> {
  const schemathesis = process.env.SCHEMATHESIS;
  if (!schemathesis) throw new Error('SCHEMATHESIS (the schemathesis executable) is not set: run `npm run fuzz`');
  const seconds = Number(process.env.FUZZ_SECONDS ?? 120);
  const services = testServices();

  // A database of the run's own, migrated from scratch: fuzzing writes thousands of rows.
  const name = `fuzz_${randomBytes(5).toString('hex')}`;
  await runAdminStatement(services.databaseDirectUrl, `CREATE DATABASE ${name}`);
  const direct = createPool({ connectionString: withDatabase(services.databaseDirectUrl, name), connectionsMax: 1, connectTimeoutMs: 10_000, applicationName: 'fuzz' });
  await migrate(direct);
  await ensureRouting(direct, PARTITIONS);
  await direct.end();

  const topics = await createTestTopics(PARTITIONS);
  const target = { databaseUrl: withDatabase(services.databaseUrl, name), topicPrefix: topics.prefix, redisKeyPrefix: `${topics.prefix}:` };
  const worker = await startWorker(target);
  // The rate limiter is not what is fuzzed: a 429 would hide the answer under test (a missing
  // header must be a 400), so the per-principal limits are set far above what one run sends.
  const unlimited = String(1_000_000);
  const api = await startApi(target, {
    API_RATE_WRITES_PER_S: unlimited,
    API_RATE_WRITES_BURST: unlimited,
    API_RATE_READS_PER_S: unlimited,
    API_RATE_READS_BURST: unlimited,
    // The token outlives the run, however long FUZZ_SECONDS makes it (at most 30 days).
    JWT_LIFETIME_MAX_S: String(Math.min(30 * 86_400, seconds + 3600)),
  });
  try {
    const bearer = await token('fuzz', 'ledger:read ledger:write ledger:admin', seconds + 3600);
    const reportDir = join(__dirname, '..', '..', 'schemathesis-report');
    const args = [
      '--config-file',
      join(__dirname, 'schemathesis.toml'),
      'run',
      `${api.url}/openapi.json`,
      '--checks',
      'all',
      '--max-time',
      String(seconds),
      // POST /v1/batch's items are a oneOf of kinds; generating for oneOf discards many
      // candidates, which this health check would report instead of testing the route.
      '--suppress-health-check',
      'filter_too_much',
      '--report',
      'junit,har',
      '--report-dir',
      reportDir,
      ...(process.env.FUZZ_SEED ? ['--seed', process.env.FUZZ_SEED] : []),
    ];
    process.stdout.write(`fuzz: ${schemathesis} ${args.join(' ')}\n`);
    // fuzz_hooks.py keeps out of the generated bodies what JSON Schema cannot say (see there).
    const env = { ...process.env, LL_FUZZ_TOKEN: bearer, PYTHONPATH: __dirname, SCHEMATHESIS_HOOKS: 'fuzz_hooks' };
    // Run from the (ignored) report directory: schemathesis keeps a .schemathesis/ cache in its cwd.
    mkdirSync(reportDir, { recursive: true });
    const child = spawn(schemathesis, args, { stdio: 'inherit', env, cwd: reportDir });
    const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
    if (worker.fatal.length > 0) {
      process.stderr.write(`fuzz: the worker stopped on ${worker.fatal.map((e) => e.message).join('; ')}\n`);
      return 1;
    }
    // A command whose apply broke an invariant is isolated, not a stop (the worker's
    // failureKind): a bug all the same, found by its dead letter's reason, once the worker
    // has applied everything the run sent (each partition's next offset at its log end; the
    // saga legs it appends on the way are waited for the same way).
    const ledger = createPool({ connectionString: target.databaseUrl, connectionsMax: 1, connectTimeoutMs: 10_000, applicationName: 'fuzz' });
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const ends = await topics.admin.highWatermarks(topics.names.commands);
        const applied = new Map((await ledger.query('SELECT partition, next_offset FROM partition_state WHERE topic = $1', [topics.names.commands])).rows.map((r) => [Number(r.partition), BigInt(r.next_offset)]));
        if ([...ends].every(([partition, end]) => end === 0n || (applied.get(partition) ?? -1n) >= end)) break;
        if (Date.now() > deadline) {
          process.stderr.write('fuzz: the worker did not apply everything the run sent within 60 s\n');
          return 1;
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const letters = await listDeadLetters(ledger, { limit: 10_000 });
      const broken = letters.filter((row) => String(row.letter.reason).startsWith(INVARIANT_BROKEN_REASON));
      process.stdout.write(`fuzz: ${letters.length} dead letters, ${broken.length} of them for a broken invariant\n`);
      if (broken.length > 0) {
        process.stderr.write(`fuzz: commands broke an invariant in memory: ${broken.map((row) => String(row.letter.reason)).join('; ')}\n`);
        return 1;
      }
    } finally {
      await ledger.end();
    }
    return code;
  } finally {
    await api.stop();
    await worker.stop();
    await topics.delete();
    await runAdminStatement(services.databaseDirectUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`fuzz failed: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  },
);
