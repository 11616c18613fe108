// Proves the deployment files agree with the code by construction (there is no Docker engine
// here to build the image): every `dist/<app>/main.js` the Dockerfile and the compose file
// run is one scripts/build.mjs produces from an app that exists, the image runs as a non-root
// user, and the compose app containers bind 0.0.0.0 so their published ports reach them.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

describe('Dockerfile, docker-compose.yml and the build', () => {
  const built = /const APPS = \[([^\]]*)\]/.exec(read('scripts/build.mjs'))![1]!.match(/'([a-z-]+)'/g)!.map((s) => s.slice(1, -1));

  test('the build compiles every app there is', () => {
    expect(built.sort()).toEqual(['ingest-api', 'ledgerctl', 'partition-worker']);
    for (const app of built) expect(existsSync(join(ROOT, 'apps', app, 'src', 'main.ts'))).toBe(true);
  });

  test('every dist entry point the Dockerfile and compose run is one the build produces', () => {
    const referenced = [...`${read('Dockerfile')}\n${read('docker-compose.yml')}`.matchAll(/dist\/([a-z-]+)\/main\.js/g)].map((m) => m[1]!);
    expect(new Set(referenced)).toEqual(new Set(built));
  });

  test('the image runs as a non-root user', () => {
    const dockerfile = read('Dockerfile');
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(finalStage).toMatch(/^USER node$/m);
    expect(finalStage).not.toMatch(/^USER root$/m);
  });

  test('compose app containers use the image and bind 0.0.0.0 inside', () => {
    const compose = read('docker-compose.yml');
    const service = (name: string) => compose.slice(compose.indexOf(`\n  ${name}:\n`), compose.indexOf('\n\n', compose.indexOf(`\n  ${name}:\n`)));
    expect(service('ingest-api')).toMatch(/image: ledgerline:local/);
    expect(service('ingest-api')).toMatch(/HOST: 0\.0\.0\.0/);
    expect(service('partition-worker')).toMatch(/image: ledgerline:local/);
    expect(service('partition-worker')).toMatch(/WORKER_OPS_HOST: 0\.0\.0\.0/);
    expect(compose).not.toMatch(/npx", "tsx"/);
  });

  test('compose runs every app container under an init, not node as PID 1', () => {
    // Found by an outside review: node as PID 1 gets only the signals it handles, so a
    // `docker stop` in its first moments was dropped until the SIGKILL.
    const compose = read('docker-compose.yml');
    const service = (name: string) => compose.slice(compose.indexOf(`\n  ${name}:\n`), compose.indexOf('\n\n', compose.indexOf(`\n  ${name}:\n`)));
    for (const name of ['migrate', 'ingest-api', 'partition-worker']) expect(service(name)).toMatch(/^ {4}init: true\b/m);
  });

  test("compose's Postgres has every server setting stack.sh's has, with the same value (compose says it does)", () => {
    // Found by an outside review: compose lacked client_connection_check_interval, so a
    // statement the API gave up on ran on in Postgres, holding its connection.
    const compose = read('docker-compose.yml');
    const postgres = compose.slice(compose.indexOf('\n  postgres:\n'), compose.indexOf('\n\n', compose.indexOf('\n  postgres:\n')));
    const composeSettings = new Map([...postgres.matchAll(/^\s+- ([a-z_.]+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    const stack = read('infra/local/stack.sh');
    const start = stack.indexOf('cat >"$PG_DATA/ledgerline.conf" <<EOF');
    expect(start).toBeGreaterThan(0);
    const conf = stack.slice(start, stack.indexOf('\nEOF', start));
    // Where and how the native stack listens and logs, and what it sizes per machine, are its own.
    const local = new Set(['listen_addresses', 'port', 'unix_socket_directories', 'password_encryption', 'log_line_prefix', 'log_min_duration_statement', 'shared_buffers', 'max_wal_size']);
    const stackSettings = [...conf.matchAll(/^([a-z_.]+) = (.+)$/gm)].map((m) => [m[1]!, m[2]!.replace(/^'(.*)'$/, '$1')] as const).filter(([name]) => !local.has(name));
    expect(stackSettings.length).toBeGreaterThan(5);
    expect(stackSettings.filter(([name, value]) => composeSettings.get(name) !== value)).toEqual([]);
  });
});
