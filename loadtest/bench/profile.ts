/**
 * Summarises V8 CPU profiles (`node --cpu-prof`) into where the time went: self time per
 * function and per area (our packages, each node_modules package, Node internals, GC, idle).
 * Usable on its own: npx tsx loadtest/bench/profile.ts <file.cpuprofile>...
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  file: string;
  duration_s: number;
  busy_pct: number;
  top_functions: { name: string; where: string; self_pct: number }[];
  by_area: { area: string; self_pct: number }[];
  /** Our own code (apps/, packages/) by inclusive time: what each entry point costs in all. */
  top_inclusive_ours: { name: string; where: string; total_pct: number }[];
}

/** Inclusive time per function, each function counted once per stack (recursion-safe). */
function inclusiveOurs(profile: CpuProfile, selfUs: Map<number, number>, total: number, topN: number): ProfileSummary['top_inclusive_ours'] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const childIds = new Set(profile.nodes.flatMap((n) => n.children ?? []));
  const roots = profile.nodes.filter((n) => !childIds.has(n.id));
  const totals = new Map<string, { name: string; where: string; us: number }>();
  const keyOf = (n: ProfileNode) => `${n.callFrame.functionName}@${n.callFrame.url}:${n.callFrame.lineNumber}`;
  // Iterative DFS carrying the set of our functions already on the stack.
  const stack: { node: ProfileNode; onStack: Set<string> }[] = roots.map((node) => ({ node, onStack: new Set<string>() }));
  while (stack.length > 0) {
    const { node, onStack } = stack.pop()!;
    const ours = /\/(apps|packages)\//.test(node.callFrame.url) && !/node_modules/.test(node.callFrame.url);
    let below = onStack;
    if (ours) {
      const key = keyOf(node);
      if (!onStack.has(key)) {
        below = new Set(onStack);
        below.add(key);
      }
    }
    const us = selfUs.get(node.id) ?? 0;
    if (us > 0) {
      for (const key of below) {
        const entry = totals.get(key);
        if (entry) entry.us += us;
        else {
          const at = key.lastIndexOf('@');
          const name = key.slice(0, at) || '(anonymous)';
          const rest = key.slice(at + 1);
          const colon = rest.lastIndexOf(':');
          totals.set(key, { name, where: where(rest.slice(0, colon), Number(rest.slice(colon + 1))), us });
        }
      }
    }
    for (const child of node.children ?? []) {
      const c = byId.get(child);
      if (c) stack.push({ node: c, onStack: below });
    }
  }
  return [...totals.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, topN)
    .map((t) => ({ name: t.name, where: t.where, total_pct: Math.round((t.us / total) * 1000) / 10 }));
}

function area(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'V8/native (program)';
    return functionName || 'native';
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (nm) return nm[1]!;
  const repo = /\/(packages|apps|loadtest)\/([^/]+)\//.exec(url);
  if (repo) return `${repo[1]}/${repo[2]}`;
  if (url.startsWith('node:')) return 'node internals';
  return 'other';
}

function where(url: string, line: number): string {
  const short = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '~/').replace(/^.*\/(packages|apps|loadtest)\//, '$1/');
  return short ? `${short}:${line + 1}` : '';
}

export function summariseProfile(file: string, topN = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  if (profile.samples && profile.timeDeltas) {
    for (let i = 0; i < profile.samples.length; i++) {
      const id = profile.samples[i]!;
      selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, profile.timeDeltas[i] ?? 0));
    }
  } else {
    for (const n of profile.nodes) selfUs.set(n.id, n.hitCount ?? 0);
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0) || 1;
  const fn = new Map<string, { name: string; where: string; us: number }>();
  const areas = new Map<string, number>();
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const a = area(url, functionName);
    if (a === 'idle') idle += us;
    areas.set(a, (areas.get(a) ?? 0) + us);
    const key = `${functionName}@${url}:${lineNumber}`;
    const entry = fn.get(key) ?? { name: functionName || '(anonymous)', where: where(url, lineNumber), us: 0 };
    entry.us += us;
    fn.set(key, entry);
  }
  const pct = (us: number) => Math.round((us / total) * 1000) / 10;
  return {
    file,
    duration_s: Math.round((profile.endTime - profile.startTime) / 1e5) / 10,
    busy_pct: pct(total - idle),
    top_functions: [...fn.values()]
      .filter((f) => f.name !== '(idle)')
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((f) => ({ name: f.name, where: f.where, self_pct: pct(f.us) })),
    by_area: [...areas.entries()].sort((a, b) => b[1] - a[1]).slice(0, topN).map(([a, us]) => ({ area: a, self_pct: pct(us) })),
    top_inclusive_ours: inclusiveOurs(profile, selfUs, total, topN),
  };
}

if (require.main === module) {
  for (const file of process.argv.slice(2)) {
    const s = summariseProfile(file);
    process.stdout.write(`\n${s.file}: ${s.duration_s}s, busy ${s.busy_pct}%\n  by area:\n`);
    for (const a of s.by_area) process.stdout.write(`    ${String(a.self_pct).padStart(5)}%  ${a.area}\n`);
    process.stdout.write('  top functions (self):\n');
    for (const f of s.top_functions) process.stdout.write(`    ${String(f.self_pct).padStart(5)}%  ${f.name}  ${f.where}\n`);
    process.stdout.write('  our code, inclusive:\n');
    for (const f of s.top_inclusive_ours) process.stdout.write(`    ${String(f.total_pct).padStart(5)}%  ${f.name}  ${f.where}\n`);
  }
}
