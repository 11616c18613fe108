import { settledSeconds } from '../../loadtest/bench/drain';
import { CaughtUpStreak } from '../../loadtest/bench/services';

describe('when the workers settled (waitSettled, drain settled_per_s)', () => {
  it('is the first caught-up poll of the streak that ends the wait, not the poll that confirmed it', () => {
    const streak = new CaughtUpStreak(2);
    expect(streak.observe(0, false)).toBeNull();
    expect(streak.observe(250, true)).toBeNull(); // looked done, but a credit leg was in flight through the outbox
    expect(streak.observe(500, false)).toBeNull();
    expect(streak.observe(750, true)).toBeNull();
    expect(streak.observe(1_000, true)).toBe(750);
  });

  it('times the drain from the first commit to that poll', () => {
    // A quick run's uniform drain: first commit at 10 s, everything terminal at the poll of 26 s, confirmed at 26.3 s.
    expect(settledSeconds(10_000, { ms: 16_000, at: 26_000, reason: null })).toBe(16);
    expect(settledSeconds(10_000, { ms: null, at: null, reason: 'stalled' })).toBeNull();
  });
});
