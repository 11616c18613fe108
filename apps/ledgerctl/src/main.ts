#!/usr/bin/env node
/** ledgerctl: the operator CLI. Each command lives in src/commands/. */
import { Command } from 'commander';
import { signDevToken } from '@ledgerline/auth';
import { loadCtlConfig } from './config';
import { setup } from './commands/setup';
import { runReconcile } from './commands/reconcile';

const program = new Command('ledgerctl').description('Operate a ledgerline deployment').showHelpAfterError();

program
  .command('migrate')
  .description('apply database migrations, create the routing table and the Kafka topics (idempotent)')
  .action(async () => {
    await setup(loadCtlConfig(), (line) => process.stdout.write(`${line}\n`));
  });

program
  .command('token')
  .description('print a signed HS256 JWT for local use')
  .option('--sub <principal>', 'the principal (JWT sub)', 'alice')
  .option('--scope <scopes>', 'space-separated scopes', 'ledger:read ledger:write')
  .option('--ttl-s <seconds>', 'lifetime in seconds', '86400')
  .action(async (options: { sub: string; scope: string; ttlS: string }) => {
    const ttlS = Number(options.ttlS);
    if (!Number.isInteger(ttlS) || ttlS < 1) throw new Error('--ttl-s must be a positive integer');
    const token = await signDevToken({ sub: options.sub, scope: options.scope, secret: loadCtlConfig().jwtSecret, ttlS });
    process.stdout.write(`${token}\n`);
  });

program
  .command('reconcile')
  .description('check every ledger invariant against live data; exit 1 on any violation')
  .option('--no-progress', 'no progress bar')
  .option('--no-cache', 'skip the Redis comparison')
  .action(async (options: { progress: boolean; cache: boolean }) => {
    process.exitCode = await runReconcile(loadCtlConfig(), options);
  });

program.parseAsync(process.argv).catch((error: Error) => {
  process.stderr.write(`ledgerctl: ${error.message}\n`);
  process.exit(2);
});
