// stack.sh refuses a word past what its command takes, before anything runs: `down kafka`
// stopped the whole stack and exited 0 (found by an outside review), where an operator meant
// one service. Run against a runtime dir that holds nothing of any stack, so that a command
// that did run (the guard removed) finds no pid to signal and nothing to delete that matters;
// its exit code then is not 2 and it prints something else.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

describe('stack.sh with a word its command does not take', () => {
  const parent = mkdtempSync(join(tmpdir(), 'stack-args-'));
  const stackDir = join(parent, 'stack');
  const env = { ...process.env, LL_PROFILE: 'ws4', LL_STACK_DIR: stackDir };
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  test.each([
    [['down', 'kafka'], 'down takes no argument; unexpected: kafka; one service: stack.sh stop-service <svc>'],
    [['stop', 'kafka', 'redis'], 'stop takes no argument; unexpected: kafka redis; one service: stack.sh stop-service <svc>'],
    [['reset', 'kafka'], 'reset takes no argument; unexpected: kafka'],
    [['stop-service', 'redis', 'kafka'], 'stop-service takes one service; unexpected: kafka'],
    [['status', 'kafka'], 'status takes no argument; unexpected: kafka'],
    [['env', 'kafka'], 'env takes no argument; unexpected: kafka'],
  ])('stack.sh %j exits 2 and says what it takes', (args, message) => {
    const run = spawnSync('bash', ['infra/local/stack.sh', ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
    expect({ status: run.status, stderr: run.stderr.trim(), stdout: run.stdout }).toEqual({ status: 2, stderr: `stack.sh: ${message}`, stdout: '' });
  });
});
