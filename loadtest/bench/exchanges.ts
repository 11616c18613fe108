/**
 * Messages per transfer on each hop between the processes (`exchanges_per_transfer`): how many
 * times a transfer makes one process write to another's socket, counted by the kernel.
 *
 * Why: at low rates the CPU per transfer is mostly the fixed cost of each exchange (a write,
 * a wake-up, a read, the framework around them), not the work of the rows (loadtest/JOURNAL.md,
 * tenth round). This figure counts them without touching the processes, so a change that
 * saves a round trip shows up here whatever else the shared box is doing.
 *
 * How: `ss -tinpH state established` before and after a window in the middle of the load,
 * on the loopback connections of the stack. For each socket, `data_segs_out` (TCP segments
 * that carried data) is attributed to the hop from the process that owns the socket to the
 * process at the other end (both ends of a loopback connection are listed, so a hop counts
 * requests and answers). A segment is one write as the kernel sent it: several messages
 * written at once (a pipeline, a corked batch) count once, and a message larger than the
 * segment size (64 KiB on loopback) more than once. Connections opened or closed inside
 * the window are left out (the pools keep theirs).
 */
import { execFileSync } from 'node:child_process';
import { round } from './util';

/** One established TCP socket as `ss` lists it. */
export interface SocketSample {
  local: string;
  peer: string;
  pid: number | null;
  process: string | null;
  dataSegsOut: number;
}

export interface ExchangesReport {
  window_s: number;
  transfers: number;
  /** Data segments per transfer, all hops. */
  total: number;
  /** Per hop `from->to` (process groups), per transfer, largest first. */
  by_hop: Record<string, number>;
}

/**
 * Parses `ss -tinpH state established` (a socket line, then an indented line of TCP info).
 * Lines it does not understand are skipped.
 */
export function parseSs(output: string): SocketSample[] {
  const samples: SocketSample[] = [];
  let current: SocketSample | null = null;
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    if (/^\s/.test(line)) {
      const segs = /(?:^|\s)data_segs_out:(\d+)/.exec(line);
      if (current && segs) current.dataSegsOut = Number(segs[1]);
      continue;
    }
    const fields = line.trim().split(/\s+/);
    // Recv-Q Send-Q Local Peer [users:(...)]
    if (fields.length < 4) {
      current = null;
      continue;
    }
    const users = /users:\(\("([^"]+)",pid=(\d+)/.exec(line);
    current = { local: plainAddress(fields[2]!), peer: plainAddress(fields[3]!), pid: users ? Number(users[2]) : null, process: users ? users[1]! : null, dataSegsOut: 0 };
    samples.push(current);
  }
  return samples;
}

/**
 * An IPv4 address seen through an IPv6 socket (`[::ffff:127.0.0.1]:19092`, a JVM listening on
 * both stacks) written as IPv4 (`127.0.0.1:19092`), so both ends of one connection match.
 */
function plainAddress(address: string): string {
  const mapped = /^\[::ffff:(\d+\.\d+\.\d+\.\d+)\]:(\d+)$/.exec(address);
  return mapped ? `${mapped[1]}:${mapped[2]}` : address;
}

/** The port of `addr:port` or `[v6]:port`. */
export function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

export interface HopNaming {
  /** Listening ports of the services, by group name (api, pgbouncer, postgres, kafka, redis). */
  servicePorts: Record<string, number>;
  /** Known pids by group name (api, workers); other processes are named by their executable. */
  pids: Record<string, readonly number[]>;
}

/** The group a process belongs to: a known pid's group, else its executable's service name. */
function groupOf(sample: SocketSample, naming: HopNaming): string {
  if (sample.pid !== null) {
    for (const [group, pids] of Object.entries(naming.pids)) if (pids.includes(sample.pid)) return group;
  }
  switch (sample.process) {
    case 'java':
      return 'kafka';
    case 'postgres':
      return 'postgres';
    case 'pgbouncer':
      return 'pgbouncer';
    case 'redis-server':
      return 'redis';
    case 'k6':
      return 'k6';
    default:
      return sample.process ?? 'unknown';
  }
}

/**
 * Data segments sent per hop between two samples, counting only the connections that exist in
 * both and that touch a service port (so the stack's own connections, not the machine's).
 */
export function hopsBetween(before: readonly SocketSample[], after: readonly SocketSample[], naming: HopNaming): Map<string, number> {
  const ports = new Set(Object.values(naming.servicePorts));
  const start = new Map(before.map((s) => [`${s.local} ${s.peer}`, s]));
  const byTuple = new Map(after.map((s) => [`${s.local} ${s.peer}`, s]));
  const hops = new Map<string, number>();
  for (const end of after) {
    const first = start.get(`${end.local} ${end.peer}`);
    if (!first) continue;
    if (!ports.has(portOf(end.local)) && !ports.has(portOf(end.peer))) continue;
    const sent = end.dataSegsOut - first.dataSegsOut;
    if (sent <= 0) continue;
    // The other end of a loopback connection is listed too, as peer -> local.
    const other = byTuple.get(`${end.peer} ${end.local}`);
    const from = groupOf(end, naming);
    const to = other ? groupOf(other, naming) : serviceAt(portOf(end.peer), naming) ?? 'elsewhere';
    const hop = `${from}->${to}`;
    hops.set(hop, (hops.get(hop) ?? 0) + sent);
  }
  return hops;
}

function serviceAt(port: number, naming: HopNaming): string | null {
  for (const [group, p] of Object.entries(naming.servicePorts)) if (p === port) return group;
  return null;
}

/** Lists the sockets now; null when `ss` (iproute2) is not there or fails. */
export function sampleSockets(): SocketSample[] | null {
  try {
    return parseSs(execFileSync('ss', ['-tinpH', 'state', 'established'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }));
  } catch {
    return null;
  }
}

/** Opens a window with `begin`, closes it with `end(transfers)`: the figure per transfer. */
export class ExchangeMeter {
  private before: SocketSample[] | null = null;
  private startedAt = 0;

  constructor(private readonly naming: () => HopNaming) {}

  begin(): void {
    this.before = sampleSockets();
    this.startedAt = Date.now();
  }

  /** `transfersPerS`: the offered rate (the window sits inside a constant-arrival-rate load). */
  end(transfersPerS: number): ExchangesReport | null {
    const after = sampleSockets();
    if (!this.before || !after) return null;
    const windowS = (Date.now() - this.startedAt) / 1000;
    const transfers = transfersPerS * windowS;
    if (transfers <= 0) return null;
    const hops = [...hopsBetween(this.before, after, this.naming())].sort((a, b) => b[1] - a[1]);
    const byHop: Record<string, number> = {};
    for (const [hop, segs] of hops) byHop[hop] = round(segs / transfers, 2) ?? 0;
    const total = hops.reduce((sum, [, segs]) => sum + segs, 0);
    return { window_s: round(windowS, 1) ?? windowS, transfers: Math.round(transfers), total: round(total / transfers, 2) ?? 0, by_hop: byHop };
  }
}
