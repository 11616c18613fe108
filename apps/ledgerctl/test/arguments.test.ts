// A bad argument is refused before anything connects, and the line that says so quotes at
// most its first 100 characters: a pasted megabyte does not come back as a megabyte of error
// (an outside review). Runs the real command; no service is needed.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
const MAIN = join(ROOT, 'apps', 'ledgerctl', 'src', 'main.ts');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

function ledgerctl(...args: string[]): { status: number | null; stderr: string } {
  const env = { PATH: process.env.PATH ?? '', LEDGERLINE_ENV: 'test' };
  const run = spawnSync(TSX, [MAIN, ...args], { env, encoding: 'utf8', cwd: ROOT });
  return { status: run.status, stderr: run.stderr };
}

describe('ledgerctl arguments', () => {
  const long = '9'.repeat(100_000);
  test.each([
    ['a dead letter id', ['dead-letters', 'show', long], /<id> must be a dead letter's id/],
    ['a count', ['dead-letters', '--limit', long], /--limit must be a non-negative integer/],
    ['an account id', ['routing', 'show', '--account', long], /--account must be an account id/],
  ])('%s that is not one is refused, quoting its start only', (_what, args, message) => {
    const run = ledgerctl(...args);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain(`"${'9'.repeat(100)}" (100000 characters)`);
    expect(run.stderr.length).toBeLessThan(2_000);
  });
});

// The list's options (`--limit`, `--partition`, `--open`, `--json`) were accepted beside a
// subcommand and ignored: `dead-letters --partition 1 redrive 9` redrove a letter of
// partition 0 (an outside review). Refused, exit 2, before anything connects.
describe('dead-letters subcommands', () => {
  test.each([
    [['dead-letters', '--partition', '1', 'redrive', '9'], '--partition', 'redrive'],
    [['dead-letters', 'show', '6', '--json'], '--json', 'show'],
    [['dead-letters', '--limit', 'abc', 'show', '6'], '--limit', 'show'],
    [['dead-letters', 'ack', '5', '--note', 'handled', '--open'], '--open', 'ack'],
  ])('%j is refused, naming the option', (args, option, subcommand) => {
    const run = ledgerctl(...args);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(`ledgerctl: ${option}: an option of the list (\`dead-letters\`), not of \`dead-letters ${subcommand}\`, which acts on the one letter its id names\n`);
  });
});
