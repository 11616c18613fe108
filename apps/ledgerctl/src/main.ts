#!/usr/bin/env node
/** ledgerctl: the operator CLI. Each command lives in src/commands/. */
import { Command, CommanderError } from 'commander';
import { ConfigError, describeStartFailure, jwtClaimBinding } from '@ledgerline/config';
import { SCOPES, TOKEN_LIFETIME_MAX_S_DEFAULT, principalProblem, signDevToken, unknownScopes } from '@ledgerline/auth';
import { BUCKET_COUNT } from '@ledgerline/domain';
import { instantParam, uuid } from '@ledgerline/schemas';
import { loadCtlConfig } from './config';
import { setup } from './commands/setup';
import { runReconcile } from './commands/reconcile';
import { addPartitions, moveCommand, rebalance, showAccountRouting, showRouting, showSystemAccounts, showWorkers } from './commands/operate';
import { acknowledgeLetter, redriveDeadLetter, showDeadLetter, showDeadLetters } from './commands/dead-letters';
import { rebindKeys } from './commands/keys';
import { MoveAbortedError } from './rebalance/move-buckets';

/** ledgerctl's exit code when a bucket move it planned or drove was rolled back instead of finished. */
const EXIT_MOVE_NOT_FINISHED = 3;

/** Dead letters one `ledgerctl dead-letters` prints at most: each is a row with its reason. */
const DEAD_LETTERS_SHOWN_MAX = 10_000;

// Output piped into `head` closes early: that is the reader's choice, not an error. The
// command still runs to its end, unheard, so that its exit code stays its verdict: exiting 0
// at the first refused write made `reconcile | head -1` read a broken ledger as sound (an
// outside review). Each later write is refused the same way and ignored.
// The same for stderr: `reconcile 2>&1 | head` closed it too, and a note written there (the
// cache check skipped) then crashed the command with exit 1, "a violation", on a sound ledger.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
    throw error;
  });
}

// A usage error (unknown option, missing argument) exits 2 like every other refused input:
// exit 1 stays reserved for what `reconcile` found, so a script can tell a typo from a
// broken ledger.
// Excess arguments are refused too: `dead-letters redirve 5` once listed the dead letters
// and exited 0, and a mistyped command must never look like one that ran.
const program = new Command('ledgerctl').description('Operate a ledgerline deployment').showHelpAfterError().exitOverride().allowExcessArguments(false);

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
  .option('--scope <scopes>', `space-separated scopes, of ${SCOPES.join(', ')} (ledger:write does not imply ledger:read; ledger:admin implies both)`, 'ledger:read ledger:write')
  .option('--ttl-s <seconds>', `lifetime in seconds; the API refuses more than its JWT_LIFETIME_MAX_S (default ${TOKEN_LIFETIME_MAX_S_DEFAULT})`, String(TOKEN_LIFETIME_MAX_S_DEFAULT))
  // HS256 tokens of two environments sharing a secret tell themselves apart only by these (docs/security.md).
  .option('--iss <issuer>', 'the issuer (JWT iss), which an API with JWT_ISSUER requires (default: JWT_ISSUER when set, else none)')
  .option('--aud <audience>', 'the audience (JWT aud), which an API with JWT_AUDIENCE requires (default: JWT_AUDIENCE when set, else none)')
  .action(async (options: { sub: string; scope: string; ttlS: string; iss?: string; aud?: string }) => {
    const ttlS = Number(options.ttlS);
    if (!/^[0-9]{1,9}$/.test(options.ttlS) || ttlS < 1) throw new Error('--ttl-s must be a positive integer');
    // The API's own rule for a sub: a token it would refuse (401 or 400) is not printed.
    const subProblem = principalProblem(options.sub);
    if (subProblem) throw new Error(`--sub ${subProblem.message}, got ${shown(options.sub)}`);
    // A scope the API does not know grants nothing: a token with only typos in it would be refused everything.
    const unknown = unknownScopes(options.scope);
    if (unknown.length > 0) {
      // Echoed bounded: the first few, each cut (the option is free text).
      const shown = unknown.slice(0, 5).map((s) => JSON.stringify(s.slice(0, 64)));
      throw new Error(`--scope: ${shown.join(', ')}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''} ${unknown.length === 1 ? 'grants' : 'grant'} nothing here; the scopes are ${SCOPES.join(', ')}`);
    }
    if (options.scope.trim() === '') throw new Error(`--scope: give at least one of ${SCOPES.join(', ')}`);
    if (ttlS > TOKEN_LIFETIME_MAX_S_DEFAULT) {
      process.stderr.write(`ledgerctl token: valid for ${ttlS} s; an API with the default JWT_LIFETIME_MAX_S (${TOKEN_LIFETIME_MAX_S_DEFAULT}) refuses it\n`);
    }
    // Signing connects to nothing: no stack's addresses are needed, whatever LL_PROFILE says.
    // The API's own rule for JWT_ISSUER / JWT_AUDIENCE: a value no API could be set to is refused.
    jwtClaimBinding('--iss', options.iss);
    jwtClaimBinding('--aud', options.aud);
    const config = loadCtlConfig(process.env, { connects: false });
    const secret = config.jwtSecret;
    if (secret === null) throw new Error('JWT_SECRET: not set; with LEDGERLINE_ENV=production there is no development secret to sign with');
    const issuer = options.iss ?? config.jwtIssuer() ?? undefined;
    const audience = options.aud ?? config.jwtAudience() ?? undefined;
    const token = await signDevToken({ sub: options.sub, scope: options.scope, secret, ttlS, issuer, audience });
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

program
  .command('workers')
  .description("the consumer group's members, each partition's owner, epoch, stored offset and lag")
  .action(() => showWorkers(loadCtlConfig()));

const deadLetters = program
  .command('dead-letters')
  .description('the newest commands a partition could not apply (malformed, forged or UNPROCESSABLE), oldest first')
  .option('--limit <n>', `at most this many (1..${DEAD_LETTERS_SHOWN_MAX})`, '20')
  .option('--partition <p>', 'only those of this partition')
  .option('--open', 'only the letters nobody has handled yet (neither acknowledged nor redriven)')
  .option('--json', 'each whole message (reason, offset, key and value in base64) as a JSON line')
  .action((options: { limit: string; partition?: string; open?: boolean; json?: boolean }) =>
    showDeadLetters(loadCtlConfig(), {
      limit: parseWithin(options.limit, '--limit', 1, DEAD_LETTERS_SHOWN_MAX),
      partition: options.partition === undefined ? undefined : parseNonNegative(options.partition, '--partition'),
      open: options.open === true,
      json: options.json === true,
    }),
  );
// The list's options choose which letters are listed; a subcommand names its one letter by
// id and reads none of them. Given with one (`dead-letters --partition 1 redrive 9`), they
// were accepted and ignored, so the redrive of a letter of another partition looked checked
// (an outside review): refused instead, before anything connects.
deadLetters.hook('preSubcommand', (parent, subcommand) => {
  const given = parent.options.filter((option) => parent.getOptionValueSource(option.attributeName()) === 'cli').map((option) => option.long);
  if (given.length) throw new Error(`${given.join(', ')}: an option of the list (\`dead-letters\`), not of \`dead-letters ${subcommand.name()}\`, which acts on the one letter its id names`);
});
deadLetters
  .command('show <id>')
  .description('one dead letter whole: where it was read, why, and its command decoded')
  .action((id: string) => showDeadLetter(loadCtlConfig(), parseOutboxId(id)));
deadLetters
  .command('redrive <id>')
  .description("send one dead letter's command again (by its id from `dead-letters`) once what made it fail is mended")
  .action((id: string) => redriveDeadLetter(loadCtlConfig(), parseOutboxId(id)));
deadLetters
  .command('ack <id>')
  .description('record that one dead letter is handled, and why: it leaves `dead-letters --open` (written once, as the schema owner)')
  .requiredOption('--note <text>', 'why it is handled (one line, at most 500 characters)')
  .action((id: string, options: { note: string }) => acknowledgeLetter(loadCtlConfig(), parseOutboxId(id), options.note));

program
  .command('keys')
  .description('Idempotency-Key operations')
  .command('rebind')
  .description('after a restore from a backup, once the workers have applied Kafka again and before the APIs start: bind the keys whose claims the restore lost to the transfers, holds and account changes written since --since (docs/operations.md)')
  .requiredOption('--since <instant>', "RFC 3339 instant with an offset: the backup's START TIME (its backup_label), or earlier")
  .action((options: { since: string }) => {
    const since = instantParam.safeParse(options.since);
    if (!since.success) throw new Error(`--since ${options.since}: ${since.error.issues[0]?.message ?? 'not an instant'}`);
    return rebindKeys(loadCtlConfig(), since.data);
  });

const routing = program.command('routing').description('the bucket -> partition table');
routing
  .command('show')
  .description('the table, its version, and the command rate per partition and bucket; with --account, where one account lives')
  .option('--account <id>', "an account's id: its bucket, its partition, and a move of its bucket in progress")
  .action((options: { account?: string }) => (options.account === undefined ? showRouting(loadCtlConfig()) : showAccountRouting(loadCtlConfig(), parseAccountId(options.account))));

program
  .command('system-accounts')
  .description("the ledger's own accounts by partition and currency (transit, external), their ids and balances")
  .action(() => showSystemAccounts(loadCtlConfig()));

const buckets = program.command('buckets').description('bucket operations');
buckets
  .command('move')
  .description('move buckets to a partition with the hold/fence/switch protocol (re-run to finish a crashed move)')
  .argument('<bucket...>', 'bucket numbers (0..1023)')
  .requiredOption('--to-partition <p>', 'target partition')
  .action((list: string[], options: { toPartition: string }) =>
    moveCommand(loadCtlConfig(), list.map(parseBucket), parseNonNegative(options.toPartition, '--to-partition')),
  );

program
  .command('partitions')
  .description('partition operations')
  .command('add')
  .description('grow the commands topic (the events topic keeps its count: docs/events.md) and spread buckets onto the new partitions (re-run with --finish to finish a crashed spread)')
  .requiredOption('--to <n>', 'the new partition count')
  .option('--finish', 'with the topics already at --to: make the moves that level the bucket counts, undoing the count changes of any buckets move or rebalance --apply made since (without it they are only printed)')
  // At most one partition per bucket: a partition above that could never own an account, and
  // Kafka cannot take partitions back.
  .action((options: { to: string; finish?: boolean }) => addPartitions(loadCtlConfig(), parseWithin(options.to, '--to', 1, BUCKET_COUNT), options.finish === true));

program
  .command('rebalance')
  .description('propose (--plan) or carry out (--apply) moves that even out per-bucket traffic')
  .option('--plan', 'print the proposed moves (default)')
  .option('--apply', 'carry the moves out')
  .option('--moves-max <n>', 'at most this many bucket moves', '32')
  .action((options: { plan?: boolean; apply?: boolean; movesMax: string }) => {
    if (options.plan === true && options.apply === true) throw new Error('--plan and --apply exclude each other: --plan only prints, --apply moves');
    return rebalance(loadCtlConfig(), options.apply === true, parseWithin(options.movesMax, '--moves-max', 1, BUCKET_COUNT));
  });

function parseBucket(text: string): number {
  const bucket = parseNonNegative(text, 'bucket');
  if (bucket >= BUCKET_COUNT) throw new Error(`bucket ${text} is out of range 0..${BUCKET_COUNT - 1}`);
  return bucket;
}

function parseWithin(text: string, what: string, min: number, max: number): number {
  const value = parseNonNegative(text, what);
  if (value < min || value > max) throw new Error(`${what} must be in ${min}..${max}, got ${value}`);
  return value;
}

/** An argument as an error line quotes it: its first 100 characters, escaped. */
const shown = (text: string) => JSON.stringify(text.slice(0, 100)) + (text.length > 100 ? ` (${text.length} characters)` : '');

/** An account id as the API reads one (its `uuid` schema: any case, lower-cased as stored). */
function parseAccountId(text: string): string {
  const parsed = uuid.safeParse(text);
  if (!parsed.success) throw new Error(`--account must be an account id (a UUID), got ${shown(text)}`);
  return parsed.data;
}

/** An outbox row's id (a bigint sequence: beyond what parseNonNegative takes). */
function parseOutboxId(text: string): bigint {
  if (!/^[1-9][0-9]{0,17}$/.test(text)) throw new Error(`<id> must be a dead letter's id from \`ledgerctl dead-letters\`, got ${shown(text)}`);
  return BigInt(text);
}

function parseNonNegative(text: string, what: string): number {
  if (!/^[0-9]{1,9}$/.test(text)) throw new Error(`${what} must be a non-negative integer, got ${shown(text)}`);
  return Number(text);
}

program.parseAsync(process.argv).catch((error: Error) => {
  // Commander has printed its own line (and the help) already; --help and --version end here with 0.
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  process.stderr.write(error instanceof ConfigError ? describeStartFailure('ledgerctl', error) : `ledgerctl: ${error.message}\n`);
  // A bucket move that did not finish (rolled back: its wait ran out, or another ledgerctl
  // driving it gave up) exits 3: the input was sound (2 is refused input) and the ledger is
  // not broken (1 is reconcile's), but the routing is not what the command set out to make.
  process.exit(error instanceof MoveAbortedError ? EXIT_MOVE_NOT_FINISHED : 2);
});
