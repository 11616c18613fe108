import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export type AppProcess = ChildProcess & { output: string[] };

/**
 * One of the apps as its own OS process (`main` relative to the repository, run through tsx),
 * with `env` on top of the test's own (a variable of the test's own environment cannot be
 * removed this way); everything it prints is kept in `output`.
 */
export function spawnApp(main: string, env: Record<string, string>): AppProcess {
  const root = join(__dirname, '..', '..');
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, main)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as AppProcess;
  child.output = [];
  child.stdout?.on('data', (d: Buffer) => child.output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => child.output.push(d.toString()));
  return child;
}

/** One JSON line an app logged (packages/logging); the fields the stop tests read. */
export interface LogLine {
  level: string;
  msg: string;
  signal?: string;
  url?: string;
}

/** Every JSON line the process has printed so far, in order (other lines left out). */
export function logLines(app: AppProcess): LogLine[] {
  return app.output.join('').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
}
