import { lastMicrosecondOf, utcInstantOf } from '../src/http';

describe('lastMicrosecondOf', () => {
  it.each([
    ['2026-12-04T14:36:50.221Z', '2026-12-04T14:36:50.221999Z'],
    ['2026-12-04T14:36:50Z', '2026-12-04T14:36:50.999999Z'],
    ['2026-12-04T14:36:50.2-05:30', '2026-12-04T14:36:50.299999-05:30'],
    ['2026-12-04T14:36:50.221456+01:00', '2026-12-04T14:36:50.221456+01:00'],
  ])('%s names the instants through %s', (instant, last) => {
    expect(lastMicrosecondOf(instant)).toBe(last);
  });

  it('refuses what is not an instant', () => {
    expect(() => lastMicrosecondOf('yesterday')).toThrow(RangeError);
  });
});

describe('utcInstantOf', () => {
  it.each([
    ['2026-12-04T14:36:50.2-05:30', '2026-12-04T20:06:50.2Z'],
    ['2026-12-04T14:36:50Z', '2026-12-04T14:36:50Z'],
    ['2026-12-31T23:59:59.999999-01:00', '2027-01-01T00:59:59.999999Z'],
    ['2026-12-04T14:36:50.221456+01:00', '2026-12-04T13:36:50.221456Z'],
  ])('%s in UTC is %s, every digit kept', (instant, utc) => {
    expect(utcInstantOf(instant)).toBe(utc);
  });
});
