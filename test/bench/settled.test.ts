import { CpuMeter, type CpuSnapshot } from '../../loadtest/bench/cpu';
import { settledWindow } from '../../loadtest/bench/drain';
import { CaughtUpStreak } from '../../loadtest/bench/services';

/** Burns this process's CPU for `ms` of its own CPU time. */
function burn(ms: number): void {
  const start = process.cpuUsage();
  for (;;) {
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= ms) return;
  }
}

describe('when the workers settled (waitSettled, drain settled_per_s)', () => {
  it('is the first caught-up poll of the streak that ends the wait, not the poll that confirmed it, with that poll\'s mark', () => {
    const streak = new CaughtUpStreak<string>(2);
    expect(streak.observe(0, false)).toBeNull();
    expect(streak.observe(250, true, 'a')).toBeNull(); // looked done, but a credit leg was in flight through the outbox
    expect(streak.observe(500, false)).toBeNull();
    expect(streak.observe(750, true, 'b')).toBeNull();
    expect(streak.observe(1_000, true, 'c')).toEqual({ at: 750, mark: 'b' });
  });

  it('times the drain from the first commit to that poll, and ends its CPU window there too', () => {
    const meter = new CpuMeter({ self: () => [process.pid] });
    meter.begin();
    burn(100);
    const streak = new CaughtUpStreak<CpuSnapshot>(2);
    expect(streak.observe(26_000, true, meter.snapshot())).toBeNull();
    // The 250 ms sleep and the confirming poll: the CPU spent here is past the settled clock.
    burn(300);
    const first = streak.observe(26_300, true, meter.snapshot())!;
    const span = settledWindow(10_000, { ms: 16_000, at: first.at, mark: first.mark, reason: null }, meter);
    expect(span.seconds).toBe(16);
    const toConfirming = meter.end()!;
    // Both in whole clock ticks (10 ms): the window to the first poll holds the first burn, not the second.
    expect(span.cpu!.cpu_ms_by_group.self).toBeLessThan(toConfirming.cpu_ms_by_group.self! - 200);
    expect(span.cpu!.window_s).toBeLessThan(toConfirming.window_s);
  });

  it('reports neither when the backlog did not settle', () => {
    const meter = new CpuMeter({ self: () => [process.pid] });
    meter.begin();
    expect(settledWindow(10_000, { ms: null, at: null, mark: null, reason: 'stalled' }, meter)).toEqual({ seconds: null, cpu: null });
  });
});
