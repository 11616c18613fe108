import { spawnSync } from 'node:child_process';
import { getPriority } from 'node:os';
import { WORKERS_NICE_DEFAULT, nicedCommand, workersNiceFrom } from '../../scripts/worker-priority';

// The nice value of every thread of the process, as the kernel reports it (field 19 of
// /proc/<pid>/task/<tid>/stat, after the command name in parentheses). Linux only, as the
// local stack and the bench are.
const THREADS_NICE = `
const fs = require('node:fs');
const nice = fs.readdirSync('/proc/self/task').map((tid) => {
  const stat = fs.readFileSync('/proc/self/task/' + tid + '/stat', 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
});
process.stdout.write(JSON.stringify({ nice }));
`;

function threadsNice(command: { command: string; args: string[] }): Set<number> {
  const result = spawnSync(command.command, command.args, { encoding: 'utf8' });
  expect(result.status).toBe(0);
  const { nice } = JSON.parse(result.stdout) as { nice: number[] };
  // Node starts its V8 platform and libuv threads before any script runs.
  expect(nice.length).toBeGreaterThan(1);
  return new Set(nice);
}

describe("the workers' CPU priority on a shared host (npm start, npm run bench)", () => {
  // Whatever this test runs at (a niced CI, say), the value asked for is the value the
  // process gets: `nice -n` adds to its launcher's value.
  const own = getPriority();

  it('runs every thread of the process at the nice value asked for, not only its first', () => {
    const wanted = Math.min(own + 7, 19);
    expect(threadsNice(nicedCommand(wanted, process.execPath, ['-e', THREADS_NICE]))).toEqual(new Set([wanted]));
  });

  it("runs the command as it is at the launcher's own value or below", () => {
    expect(nicedCommand(own, process.execPath, ['-e', '1'])).toEqual({ command: process.execPath, args: ['-e', '1'] });
    expect(nicedCommand(5, 'node', ['x'], 5)).toEqual({ command: 'node', args: ['x'] });
    expect(nicedCommand(10, 'node', ['x'], 3)).toEqual({ command: 'nice', args: ['-n', '7', 'node', 'x'] });
    expect(threadsNice(nicedCommand(own, process.execPath, ['-e', THREADS_NICE]))).toEqual(new Set([own]));
  });

  it('reads WORKERS_NICE, with its default when unset, and refuses anything but 0..19 (empty too)', () => {
    expect(workersNiceFrom({})).toBe(WORKERS_NICE_DEFAULT);
    expect(() => workersNiceFrom({ WORKERS_NICE: '' })).toThrow(`WORKERS_NICE is empty: unset it to use the default (${WORKERS_NICE_DEFAULT})`);
    expect(workersNiceFrom({ WORKERS_NICE: '0' })).toBe(0);
    expect(workersNiceFrom({ WORKERS_NICE: '19' })).toBe(19);
    for (const bad of ['-1', '20', '2.5', 'ten', '1e1', ' 5 ', '0x5', '100']) {
      expect(() => workersNiceFrom({ WORKERS_NICE: bad })).toThrow(/WORKERS_NICE must be an integer from 0 to 19/);
    }
  });
});
