// infra/local/ports.env, the one table of the local stacks' ports: every profile's set is
// complete, no port serves two things, and none sits in Linux's default range for outgoing
// connections' local ports (32768-60999), where a client socket can take a listener's port
// before it starts (a ws4 Postgres on 34432 once failed to bind that way).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const PROFILES = ['DEV', 'TEST', 'WS1', 'WS2', 'WS3', 'WS4'];
const SERVICES = ['KAFKA_PORT', 'KAFKA_CONTROLLER_PORT', 'POSTGRES_PORT', 'PGBOUNCER_PORT', 'REDIS_PORT'];
const EPHEMERAL_LOW = 32768;

function portsTable(): Map<string, number> {
  const text = readFileSync(join(__dirname, '../../infra/local/ports.env'), 'utf8');
  const table = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(\d+)$/.exec(line);
    if (match) table.set(match[1]!, Number(match[2]));
  }
  return table;
}

describe('the local stacks’ ports (infra/local/ports.env)', () => {
  const table = portsTable();

  test('every profile names every service', () => {
    for (const profile of PROFILES) for (const service of SERVICES) expect(table.get(`${profile}_${service}`)).toEqual(expect.any(Number));
    expect(table.size).toBe(PROFILES.length * SERVICES.length);
  });

  test('no port is listed twice', () => {
    const names = new Map<number, string[]>();
    for (const [name, port] of table) names.set(port, [...(names.get(port) ?? []), name]);
    expect([...names.values()].filter((sharing) => sharing.length > 1)).toEqual([]);
  });

  test("every port is below Linux's default ephemeral range", () => {
    expect([...table].filter(([, port]) => port < 1024 || port >= EPHEMERAL_LOW)).toEqual([]);
  });
});
