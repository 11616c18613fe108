import { spawn } from 'node:child_process';
import { CpuMeter } from '../../loadtest/bench/cpu';

/**
 * A child that burns `totalMs` of CPU, says "half" on stdout once it has burnt half, and exits:
 * the window opens at "half", so the child's second half is inside it and its first is not.
 */
function burner(totalMs: number): { half: Promise<void>; exited: Promise<void> } {
  const script = `
    let said = false;
    const used = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
    while (used() < ${totalMs}) { if (!said && used() >= ${totalMs / 2}) { said = true; process.stdout.write('half\\n'); } }
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const half = new Promise<void>((resolve) => child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('half') && resolve()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { half, exited };
}

describe('CPU per process group (bench)', () => {
  it('counts a forked child that exits inside the window, and only its share inside the window', async () => {
    const { half, exited } = burner(600);
    await half;
    const meter = new CpuMeter({ tree: { root: () => process.pid } });
    meter.begin();
    const selfBefore = process.cpuUsage();
    await exited;
    // Let the exit be reaped (Node waits for its children on SIGCHLD).
    await new Promise((resolve) => setTimeout(resolve, 200));
    const self = process.cpuUsage(selfBefore);
    const report = meter.end();
    expect(report).not.toBeNull();
    const treeMs = report!.cpu_ms_by_group.tree ?? 0;
    const selfMs = (self.user + self.system) / 1000;
    // The child's second half (~300 ms) plus this process's own CPU meanwhile; counted by pid
    // alone the exited child would be 0, and counted from its reaped total alone ~600 ms and more.
    expect(treeMs - selfMs).toBeGreaterThan(200);
    expect(treeMs - selfMs).toBeLessThan(470);
  });

  it('reports CPU milliseconds unrounded next to the cores rounded for reading', async () => {
    const meter = new CpuMeter({ self: () => [process.pid] });
    meter.begin();
    const until = Date.now() + 120;
    while (Date.now() < until) {
      // burn
    }
    const report = meter.end()!;
    expect(report.cpu_ms_by_group.self).toBeGreaterThanOrEqual(0);
    expect(report.cpu_ms_by_group.self! % 10).toBe(0); // whole clock ticks of 10 ms
    expect(Object.keys(report.cpu_ms_by_group)).toEqual(expect.arrayContaining(['self', 'other']));
  });
});
