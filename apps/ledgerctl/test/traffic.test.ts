// Proves `routing show` and `rebalance` print rates over the time the counted transfers cover,
// and say so when the read was capped (an outside review found 200,000 rows divided by the
// whole 5-minute window: every rate silently capped at 40,000 commands/min).
import { trafficView } from '../src/rebalance/traffic';

const base = { perBucket: new Map<number, number>(), rowsMax: 200_000 };

describe('trafficView', () => {
  test('within the cap: per minute over the whole window, no note', () => {
    const view = trafficView({ ...base, transfers: 3_000, overMs: 300_000, capped: false }, 300_000);
    expect([view.perMinute(3_000), view.span, view.note]).toEqual([600, 'last 5 min', '']);
  });

  test('capped: per minute over the seconds the newest transfers span, and a note saying so', () => {
    // 200,000 transfers applied in the last 100 s: 120,000 a minute, not 40,000.
    const view = trafficView({ ...base, transfers: 200_000, overMs: 100_000, capped: true }, 300_000);
    expect(view.perMinute(200_000)).toBe(120_000);
    expect(view.span).toBe('newest 200000 transfers, last 100.0 s');
    expect(view.note).toBe(
      'note: the last 5 min held more than the 200000 transfers ledgerctl reads; the rates are over the newest 200000, applied in the last 100.0 s (older traffic in the window is not counted)\n',
    );
  });
});
