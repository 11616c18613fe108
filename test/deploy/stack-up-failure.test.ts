// infra/local/stack.sh `up` when something fails on the way, and its downloads (found by an
// outside review): a failed `up` must leave nothing running that it started (its Kafka was
// launched in the background and came up after the caller's `down`, orphaned), and one failed
// download (Maven Central, apt) is retried a bounded number of times, then fails loudly.
//
// Runs a copy of the real scripts against stand-in binaries (java, mvn, pgbouncer, redis,
// apt-get; the services are never reached): what is under test is the script's own process
// handling, which needs no real service. The copy gets its own ports.env (free ports), runtime
// dir and jar cache, so it touches no stack of this machine.
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const KAFKA_VERSION = /<kafka\.version>(.*)<\/kafka\.version>/.exec(readFileSync(join(ROOT, 'infra/local/kafka/pom.xml'), 'utf8'))![1];

const STAND_INS: Record<string, string> = {
  // StorageTool format takes FAKE_FORMAT_S (a real one starts a JVM: seconds); the broker runs
  // until signalled, its pid in FAKE_LOG.
  java: `case " $* " in
  *" random-uuid "*) echo 4cJ9cOQzTAGEBUCwf7zN8A ;;
  *" format "*) echo "format" >>"$FAKE_LOG"; sleep "\${FAKE_FORMAT_S:-0}" ;;
  *" kafka.Kafka "*) echo "broker $$" >>"$FAKE_LOG"; trap 'exit 0' TERM; while :; do sleep 0.1; done ;;
esac`,
  // Fails its first FAKE_MVN_FAILS runs (a 502 from Central), then "downloads" the broker jar.
  mvn: `n=$(( $(cat "$FAKE_DIR/mvn-runs" 2>/dev/null || echo 0) + 1 )); echo "$n" >"$FAKE_DIR/mvn-runs"
[ "$n" -gt "\${FAKE_MVN_FAILS:-0}" ] || { echo "[ERROR] 502 Bad Gateway from Central" >&2; exit 1; }
for a in "$@"; do case "$a" in -DoutputDirectory=*) out="\${a#-DoutputDirectory=}" ;; esac; done
mkdir -p "$out" && touch "$out/kafka_2.13-${KAFKA_VERSION}.jar"`,
  // Fails its first FAKE_APT_<step>_FAILS runs of each step (update, install).
  'apt-get': `step=$1; [ "$step" = -q ] && step=$2; echo "$step" >>"$FAKE_DIR/apt-calls"
var="FAKE_APT_\${step^^}_FAILS"; n=$(grep -cx "$step" "$FAKE_DIR/apt-calls")
[ "$n" -gt "\${!var:-0}" ] || { echo "E: Failed to fetch (stand-in)" >&2; exit 100; }`,
  runuser: 'while [ "$1" != -- ]; do shift; done; shift; exec "$@"',
  pgbouncer: 'exit 1',
  'redis-server': 'exit 1',
  'redis-cli': 'exit 1',
};

/** Free TCP ports on 127.0.0.1; the servers holding them are returned listening. */
async function listenOnFreePorts(n: number): Promise<Server[]> {
  return Promise.all(
    Array.from({ length: n }, () => new Promise<Server>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
}
const portOf = (server: Server) => (server.address() as { port: number }).port;
const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** Alive and not a zombie (a stopped broker's exit may not be reaped at once). */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('stack.sh up against stand-in binaries', () => {
  let dir: string;
  let postgresHolder: Server;
  const brokers: number[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stack-up-'));
    const local = join(dir, 'repo', 'infra', 'local');
    mkdirSync(local, { recursive: true });
    for (const file of ['stack.sh', 'install.sh', 'wait-kafka.mjs', 'kafka']) cpSync(join(ROOT, 'infra/local', file), join(local, file), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'repo', 'node_modules'));
    // Postgres's port is taken by another program (this test), the review's failure; Kafka's
    // launch is then still under way in the background.
    const servers = await listenOnFreePorts(5);
    const [kafka, controller, pgbouncer, redis] = servers.map(portOf);
    postgresHolder = servers[4]!;
    await Promise.all(servers.slice(0, 4).map(close));
    writeFileSync(join(local, 'ports.env'), `WS4_KAFKA_PORT=${kafka}\nWS4_KAFKA_CONTROLLER_PORT=${controller}\nWS4_POSTGRES_PORT=${portOf(postgresHolder)}\nWS4_PGBOUNCER_PORT=${pgbouncer}\nWS4_REDIS_PORT=${redis}\n`);
    for (const sub of ['bin', 'pg']) mkdirSync(join(dir, sub));
    for (const [name, body] of Object.entries({ ...STAND_INS, 'pg/postgres': 'exit 1', 'pg/psql': 'exit 1' })) {
      const path = join(dir, name.includes('/') ? name : join('bin', name));
      writeFileSync(path, `#!/usr/bin/env bash\n${body}\n`);
      chmodSync(path, 0o755);
    }
  });

  afterEach(async () => {
    await close(postgresHolder);
    // Whatever a failing run left behind.
    for (const pid of brokers.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string> = {}) => ({
    ...process.env,
    PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
    PG_BIN: join(dir, 'pg'),
    LL_PROFILE: 'ws4',
    LL_STACK_DIR: join(dir, 'stack'),
    LEDGERLINE_CACHE: join(dir, 'cache'),
    LL_FETCH_BACKOFF_S: '0',
    FAKE_DIR: dir,
    FAKE_LOG: join(dir, 'java.log'),
    ...extra,
  });
  // Output to files, not pipes: a pipe would make spawnSync wait for every process holding it,
  // the background launch too, where scripts/test.sh waits for stack.sh's own exit only.
  const stack = (command: string, extra: Record<string, string> = {}) => {
    const [out, err] = [join(dir, `${command}.out`), join(dir, `${command}.err`)];
    const [outFd, errFd] = [openSync(out, 'w'), openSync(err, 'w')];
    try {
      const run = spawnSync('bash', [join(dir, 'repo/infra/local/stack.sh'), command], { env: env(extra), stdio: ['ignore', outFd, errFd], timeout: 120_000 });
      return { status: run.status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
    } finally {
      closeSync(outFd);
      closeSync(errFd);
    }
  };
  const jarsCached = () => existsSync(join(dir, 'cache', `kafka-${KAFKA_VERSION}`, '.complete'));
  const cacheJars = () => {
    const home = join(dir, 'cache', `kafka-${KAFKA_VERSION}`);
    mkdirSync(join(home, 'libs'), { recursive: true });
    writeFileSync(join(home, '.complete'), `${createHash('sha256').update(readFileSync(join(ROOT, 'infra/local/kafka/pom.xml'))).digest('hex')}\n`);
  };
  const launched = () => (existsSync(join(dir, 'java.log')) ? readFileSync(join(dir, 'java.log'), 'utf8') : '').split('\n').filter((l) => l.startsWith('broker ')).map((l) => Number(l.slice(7)));

  test('a failed up waits for its background Kafka launch and stops it: nothing it started runs after up and down', async () => {
    cacheJars();
    const up = stack('up', { FAKE_FORMAT_S: '3' });
    expect(up.status).toBe(1);
    expect(up.stderr).toContain(`postgres: port ${portOf(postgresHolder)} is already in use`);
    // scripts/test.sh's EXIT trap, at once.
    const down = stack('down');
    expect(down.stdout).toMatch(/^kafka: not running$/m);
    // The launch attempt's outcome, however long it took: a broker was launched (pid logged).
    const deadline = Date.now() + 60_000;
    while (launched().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    brokers.push(...launched());
    expect(brokers).toHaveLength(1);
    expect(brokers.filter(alive)).toEqual([]);
    expect(up.stderr).toContain('up failed: stopping what it started: kafka');
    expect(up.stderr).toMatch(/^kafka: stopped \(was pid \d+\)$/m);
  });

  test("one failed fetch of the Kafka jars is retried (Central's 502), and the jars are then cached", () => {
    const up = stack('up', { FAKE_MVN_FAILS: '2' });
    expect(up.stderr).toContain(`maven's fetch of the Kafka ${KAFKA_VERSION} jars failed (exit 1, attempt 1 of 4); retrying in 0s`);
    expect(up.stderr).toContain('(exit 1, attempt 2 of 4)');
    expect(readFileSync(join(dir, 'mvn-runs'), 'utf8').trim()).toBe('3');
    expect(jarsCached()).toBe(true);
    // It went on to the next step (and failed there, on the taken port), stopping its broker.
    expect(up.stderr).toContain(`postgres: port ${portOf(postgresHolder)} is already in use`);
    brokers.push(...launched());
    expect(brokers.filter(alive)).toEqual([]);
  });

  test('a fetch that fails every time stops up after the 4th attempt, naming it, with nothing cached or started', () => {
    const up = stack('up', { FAKE_MVN_FAILS: '99' });
    expect(up.status).toBe(1);
    expect(readFileSync(join(dir, 'mvn-runs'), 'utf8').trim()).toBe('4');
    expect(up.stderr).toContain(`maven's fetch of the Kafka ${KAFKA_VERSION} jars failed (exit 1) on each of 4 attempts; giving up`);
    expect(up.stderr).toContain('maven could not fetch the Kafka jars from Maven Central');
    expect(jarsCached()).toBe(false);
    expect(launched()).toEqual([]);
  });
});

describe('apt_install (infra/local/install.sh)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'apt-install-'));
    mkdirSync(join(dir, 'bin'));
    // sleep records how long it was asked to wait, and returns at once.
    for (const [name, body] of [['apt-get', STAND_INS['apt-get']!], ['sleep', 'echo "$1" >>"$FAKE_DIR/sleeps"']] as const) {
      writeFileSync(join(dir, 'bin', name), `#!/usr/bin/env bash\n${body}\n`);
      chmodSync(join(dir, 'bin', name), 0o755);
    }
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const aptInstall = (extra: Record<string, string>) =>
    spawnSync('bash', ['-c', `. ${join(ROOT, 'infra/local/install.sh')}; apt_install pkg-a pkg-b`], {
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LL_FETCH_'))), PATH: `${join(dir, 'bin')}:${process.env.PATH}`, FAKE_DIR: dir, ...extra },
      encoding: 'utf8',
    });
  const calls = () => readFileSync(join(dir, 'apt-calls'), 'utf8').trim().split('\n');

  test('a transient failure of apt-get update or install is retried, and the install then succeeds', () => {
    const run = aptInstall({ FAKE_APT_UPDATE_FAILS: '1', FAKE_APT_INSTALL_FAILS: '2' });
    expect(run.status).toBe(0);
    expect(calls()).toEqual(['update', 'update', 'install', 'install', 'install']);
    expect(run.stderr).toContain('apt-get update failed (exit 100, attempt 1 of 4); retrying in 2s');
  });

  test('apt-get that fails every time fails the install after the 4th attempt (2, 4, 8 s apart), with its exit code and what failed', () => {
    const run = aptInstall({ FAKE_APT_INSTALL_FAILS: '99' });
    expect(run.status).toBe(100);
    expect(calls()).toEqual(['update', 'install', 'install', 'install', 'install']);
    expect(readFileSync(join(dir, 'sleeps'), 'utf8').trim().split('\n')).toEqual(['2', '4', '8']);
    expect(run.stderr).toContain('apt-get install pkg-a pkg-b failed (exit 100) on each of 4 attempts; giving up');
  });
});
