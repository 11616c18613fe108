// scripts/fuzz.sh (npm run fuzz) around the fuzzer (found by an outside review): it installs the
// python3 venv module when missing (apt, as root, like the stack's packages), stops the stack's
// services it started and only those, and exits with the fuzzer's own code.
//
// Runs a copy of the real script (and of infra/local/install.sh) with stand-ins for what it
// drives: stack.sh (records its commands), bootstrap.sh, npx (the fuzzer, exits FAKE_FUZZ_EXIT),
// python3, apt-get and id. What is under test is the script's own logic; test/fuzz/main.ts is
// the fuzz itself, against real services, and is not run here.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

const STAND_INS: Record<string, string> = {
  // status lists FAKE_RUNNING as running, the rest stopped (stack.sh's format).
  'repo/infra/local/stack.sh': `echo "$*" >>"$FAKE_DIR/stack-calls"
if [ "$1" = status ]; then for s in kafka postgres pgbouncer redis; do
  case " $FAKE_RUNNING " in *" $s "*) echo "  $s running  pid 1 port 1" ;; *) echo "  $s stopped  port 1" ;; esac; done; fi
exit 0`,
  'repo/scripts/bootstrap.sh': 'exit 0',
  'bin/npx': 'echo "$SCHEMATHESIS" >"$FAKE_DIR/fuzzed-with"; exit "${FAKE_FUZZ_EXIT:-0}"',
  'bin/id': 'echo "${FAKE_UID:-0}"',
  // python3 has its venv module once apt-get installed python3-venv (or FAKE_HAS_VENV=1).
  'bin/python3': `if [ "$1" = -c ]; then [ "\${FAKE_HAS_VENV:-0}" = 1 ] || [ -e "$FAKE_DIR/installed-python3-venv" ]; exit; fi
[ "$1 $2" = "-m venv" ] && mkdir -p "$3/bin" && printf '#!/bin/sh\\ntouch "%s/bin/schemathesis"; chmod +x "%s/bin/schemathesis"\\n' "$3" "$3" >"$3/bin/pip" && chmod +x "$3/bin/pip"`,
  'bin/apt-get': `echo "$*" >>"$FAKE_DIR/apt-calls"
for a in "$@"; do [ "$a" = python3-venv ] && touch "$FAKE_DIR/installed-python3-venv"; done; exit 0`,
};

describe('scripts/fuzz.sh', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fuzz-script-'));
    for (const sub of ['repo/scripts', 'repo/infra/local', 'bin', 'cache']) mkdirSync(join(dir, sub), { recursive: true });
    cpSync(join(ROOT, 'scripts/fuzz.sh'), join(dir, 'repo/scripts/fuzz.sh'));
    cpSync(join(ROOT, 'infra/local/install.sh'), join(dir, 'repo/infra/local/install.sh'));
    for (const [path, body] of Object.entries(STAND_INS)) {
      writeFileSync(join(dir, path), `#!/usr/bin/env bash\n${body}\n`);
      chmodSync(join(dir, path), 0o755);
    }
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const venvReady = () => {
    const bin = join(dir, 'cache', 'schemathesis-4.32.5', 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'schemathesis'), '');
    chmodSync(join(bin, 'schemathesis'), 0o755);
  };
  const fuzz = (extra: Record<string, string>) =>
    spawnSync('bash', [join(dir, 'repo/scripts/fuzz.sh')], {
      env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}`, LEDGERLINE_CACHE: join(dir, 'cache'), LL_FETCH_BACKOFF_S: '0', FAKE_DIR: dir, FAKE_RUNNING: '', ...extra },
      encoding: 'utf8',
    });
  const lines = (file: string) => (existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8').trim().split('\n') : []);

  test.each([['finds a failure', '1'], ['passes', '0']])('when the fuzzer %s, fuzz.sh exits with its code and stops the services it started (not those already running)', (_, code) => {
    venvReady();
    const run = fuzz({ FAKE_RUNNING: 'kafka postgres', FAKE_FUZZ_EXIT: code });
    expect(run.status).toBe(Number(code));
    expect(lines('stack-calls')).toEqual(['status', 'up', 'env', 'stop-service pgbouncer', 'stop-service redis']);
    expect(run.stdout).toContain('fuzz: stopping the services it started: pgbouncer redis');
  });

  test('a stack that ran whole before is left running', () => {
    venvReady();
    const run = fuzz({ FAKE_RUNNING: 'kafka postgres pgbouncer redis', FAKE_FUZZ_EXIT: '1' });
    expect(run.status).toBe(1);
    expect(lines('stack-calls')).toEqual(['status', 'up', 'env']);
  });

  test('python3 without its venv module: installed with apt-get (as root), then the virtualenv and schemathesis', () => {
    const run = fuzz({});
    expect(run.status).toBe(0);
    expect(lines('apt-calls')).toEqual(['update -q', 'install -y -q --no-install-recommends --no-upgrade python3 python3-venv']);
    expect(lines('fuzzed-with')).toEqual([join(dir, 'cache', 'schemathesis-4.32.5', 'bin', 'schemathesis')]);
  });

  test('python3 with its venv module: no apt-get', () => {
    expect(fuzz({ FAKE_HAS_VENV: '1' }).status).toBe(0);
    expect(lines('apt-calls')).toEqual([]);
  });

  test('not root and the venv module missing: stops before anything starts, naming the packages', () => {
    const run = fuzz({ FAKE_UID: '1000' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('fuzz: needs python3 with its venv module: install them (sudo apt-get install -y python3 python3-venv) or run as root');
    expect(lines('apt-calls')).toEqual([]);
    expect(lines('stack-calls')).toEqual([]);
  });
});
