import { spawnSync } from 'node:child_process';
import { WORKERS_NICE_DEFAULT, nicedCommand, workersNiceFrom } from '../../scripts/worker-priority';

// The nice value of every thread of the process, as the kernel reports it (field 19 of
// /proc/<pid>/task/<tid>/stat, after the command name in parentheses).
const THREADS_NICE = `
const fs = require('node:fs');
const nice = fs.readdirSync('/proc/self/task').map((tid) => {
  const stat = fs.readFileSync('/proc/self/task/' + tid + '/stat', 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
});
process.stdout.write(JSON.stringify({ pid: process.pid, nice }));
`;

function runNiced(nice: number): { nice: number[] } {
  const { command, args } = nicedCommand(nice, process.execPath, ['-e', THREADS_NICE]);
  const result = spawnSync(command, args, { encoding: 'utf8' });
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout) as { nice: number[] };
}

describe("the workers' CPU priority on a shared host (npm start, npm run bench)", () => {
  it('runs every thread of the process at the nice value, not only its first', () => {
    const { nice } = runNiced(7);
    // Node starts its V8 platform and libuv threads before any script runs.
    expect(nice.length).toBeGreaterThan(1);
    expect(new Set(nice)).toEqual(new Set([7]));
  });

  it('leaves the command as it is at 0', () => {
    expect(nicedCommand(0, process.execPath, ['-e', '1'])).toEqual({ command: process.execPath, args: ['-e', '1'] });
    expect(new Set(runNiced(0).nice)).toEqual(new Set([0]));
  });

  it('reads WORKERS_NICE, with its default, and refuses anything but 0..19', () => {
    expect(workersNiceFrom({})).toBe(WORKERS_NICE_DEFAULT);
    expect(workersNiceFrom({ WORKERS_NICE: '' })).toBe(WORKERS_NICE_DEFAULT);
    expect(workersNiceFrom({ WORKERS_NICE: '0' })).toBe(0);
    expect(workersNiceFrom({ WORKERS_NICE: '19' })).toBe(19);
    for (const bad of ['-1', '20', '2.5', 'ten', '1e1x']) {
      expect(() => workersNiceFrom({ WORKERS_NICE: bad })).toThrow(/WORKERS_NICE must be an integer from 0 to 19/);
    }
  });
});
