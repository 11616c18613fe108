/**
 * Who used the CPU during a measurement window, from /proc (Linux): the machine's busy share
 * and, per process group (our workers, the API, Postgres with its backends, Kafka, PgBouncer,
 * Redis, k6), how many cores' worth of CPU it burnt. The remainder ("other") is everything
 * else on the machine, e.g. another engineer's test run: the noise figure of the window.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const CLOCK_TICKS_PER_S = 100;

export type PidSource = () => number[];
/** A group measured by a tick counter instead of pids (e.g. children already reaped). */
export interface TickSource {
  ticks(): number;
}
/**
 * A service and the processes it forks (the postmaster and its backends): the root's pid, its
 * children's, and the CPU of children it has reaped (the root's cutime + cstime), so that a
 * backend or an autovacuum worker that exits inside the window is still counted.
 */
export interface TreeSource {
  root(): number | null;
}

/**
 * CPU of this process's children that have exited and been waited for (cutime + cstime of
 * /proc/self/stat): how k6 is measured, since it has exited by the time its window closes.
 */
export function reapedChildrenTicks(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(after[13]) + Number(after[14]);
  } catch {
    return 0;
  }
}

/** The counters at one moment (a window's start or end; CpuMeter.snapshot). */
export interface CpuSnapshot {
  at: number;
  busy: number;
  all: number;
  perPid: Map<string, number>;
}

function readMachine(): { busy: number; all: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const all = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: all - idle, all };
}

function pidTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields after ")": state(0) ppid(1) ... utime(11) stime(12)
    return Number(after[11]) + Number(after[12]);
  } catch {
    return null;
  }
}

/** CPU of the children `pid` has waited for (cutime + cstime), or null. */
function reapedTicksOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(after[13]) + Number(after[14]);
  } catch {
    return null;
  }
}

function childrenOf(parent: number): number[] {
  const children: number[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return children;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(join('/proc', entry, 'stat'), 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) children.push(Number(entry));
    } catch {
      // the process exited while we looked
    }
  }
  return children;
}

/** The pid recorded in a pid file (first line), if the file exists and the process lives. */
export function pidFromFile(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, 'utf8').split('\n')[0]?.trim());
    if (!Number.isInteger(pid) || pid <= 0) return null;
    readFileSync(`/proc/${pid}/stat`);
    return pid;
  } catch {
    return null;
  }
}

export class CpuMeter {
  private start: CpuSnapshot | null = null;

  constructor(private readonly groups: Record<string, PidSource | TickSource | TreeSource>) {}

  private sample(): CpuSnapshot {
    const perPid = new Map<string, number>();
    for (const [group, source] of Object.entries(this.groups)) {
      if ('root' in source) {
        const root = source.root();
        if (root === null) continue;
        for (const pid of [root, ...childrenOf(root)]) {
          const ticks = pidTicks(pid);
          if (ticks !== null) perPid.set(`${group}:${pid}`, ticks);
        }
        const reaped = reapedTicksOf(root);
        if (reaped !== null) perPid.set(`${group}:reaped-by-${root}`, reaped);
        continue;
      }
      if (typeof source !== 'function') {
        perPid.set(`${group}:ticks`, source.ticks());
        continue;
      }
      for (const pid of source()) {
        const ticks = pidTicks(pid);
        if (ticks !== null) perPid.set(`${group}:${pid}`, ticks);
      }
    }
    return { at: Date.now(), ...readMachine(), perPid };
  }

  begin(): void {
    this.start = this.sample();
  }

  /**
   * The counters now, for a window that may end here: a caller that learns only later where its
   * window ended (the first of the polls that confirm it) takes one at each candidate and
   * passes the right one to end().
   */
  snapshot(): CpuSnapshot {
    return this.sample();
  }

  /**
   * Cores used per group over the window (1.0 = one core busy for the whole window), from
   * begin() to now, or to `until` (a snapshot taken since begin()).
   */
  end(until?: CpuSnapshot): CpuReport | null {
    if (!this.start) return null;
    try {
      const end = until ?? this.sample();
      const seconds = (end.at - this.start.at) / 1000;
      if (seconds <= 0) return null;
      const ticksBy: Record<string, number> = {};
      const add = (key: string, delta: number) => {
        const group = key.slice(0, key.indexOf(':'));
        ticksBy[group] = (ticksBy[group] ?? 0) + delta;
      };
      for (const [key, ticks] of end.perPid) add(key, ticks - (this.start.perPid.get(key) ?? 0));
      // A tree's child that exited in the window: its whole life's CPU is in the root's reaped
      // counter now, so what it had used before the window comes off again.
      for (const [key, ticks] of this.start.perPid) {
        const group = key.slice(0, key.indexOf(':'));
        const source = this.groups[group];
        if (source && typeof source !== 'function' && 'root' in source && !end.perPid.has(key) && !key.includes(':reaped-by-')) add(key, -ticks);
      }
      const cores: Record<string, number> = {};
      const cpuMs: Record<string, number> = {};
      for (const [group, ticks] of Object.entries(ticksBy)) {
        cores[group] = ticks / CLOCK_TICKS_PER_S / seconds;
        cpuMs[group] = (ticks * 1000) / CLOCK_TICKS_PER_S;
      }
      const machineCores = ((end.busy - this.start.busy) / Math.max(1, end.all - this.start.all)) * coresCount();
      const known = Object.values(cores).reduce((a, b) => a + b, 0);
      const rounded: Record<string, number> = {};
      for (const [group, value] of Object.entries(cores)) rounded[group] = Math.round(value * 100) / 100;
      rounded.other = Math.round(Math.max(0, machineCores - known) * 100) / 100;
      cpuMs.other = Math.max(0, machineCores - known) * seconds * 1000;
      return {
        window_s: Math.round(seconds * 10) / 10,
        machine_busy_cores: Math.round(machineCores * 100) / 100,
        cores: coresCount(),
        by_group: rounded,
        cpu_ms_by_group: cpuMs,
      };
    } catch {
      return null;
    }
  }
}

export interface CpuReport {
  window_s: number;
  machine_busy_cores: number;
  cores: number;
  /** Cores used by each group; `other` = machine busy minus all groups (other tenants). */
  by_group: Record<string, number>;
  /**
   * CPU milliseconds each group used in the window, unrounded (`by_group` is rounded to 0.01
   * of a core, for reading): what per-transfer figures are computed from.
   */
  cpu_ms_by_group: Record<string, number>;
}

function coresCount(): number {
  const text = readFileSync('/proc/stat', 'utf8');
  return text.split('\n').filter((l) => /^cpu\d+ /.test(l)).length || 1;
}
