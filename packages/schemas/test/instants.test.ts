import { randomUUID } from 'node:crypto';
import type { Command } from '@ledgerline/domain';
import { CommandSeal, INSTANT_MAX, INSTANT_MIN, decodeCommand, encodeCommand, isoTimestamp } from '../src';
import { instantParam, lastMicrosecondOf, utcInstantOf } from '../src/http';

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

// RFC 3339's grammar is ABNF, case-insensitive: `t` and `z` are the same instant as `T` and `Z`.
// The API's `at`, `from` and `to` take them and read them in upper case.
describe('instantParam: an instant a client sends', () => {
  it.each([
    ['2026-12-04t14:36:50.221z', '2026-12-04T14:36:50.221Z'],
    ['2026-12-04t14:36:50Z', '2026-12-04T14:36:50Z'],
    ['2026-12-04T14:36:50.2z', '2026-12-04T14:36:50.2Z'],
    ['2026-12-04t14:36:50-05:30', '2026-12-04T14:36:50-05:30'],
    ['2026-12-04T14:36:50Z', '2026-12-04T14:36:50Z'],
  ])('%s reads as %s', (sent, read) => {
    expect(instantParam.safeParse(sent)).toEqual({ success: true, data: read });
    expect(lastMicrosecondOf(instantParam.parse(sent))).toBe(lastMicrosecondOf(read));
  });

  it.each(['2026-12-04 14:36:50Z', '2026-12-04x14:36:50Z', '2026-12-04T14:36:50', '2026-12-04T14:36:50UTC', '2026-02-30t00:00:00z'])('refuses %s', (sent) => {
    expect(instantParam.safeParse(sent).success).toBe(false);
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

// The instants a message on Kafka carries are those Postgres's timestamptz stores as sent:
// year 0000 (22008) or an offset past ±15:59 (22009) once passed the schema, failed the
// write every time and left the transfer with no row (404 forever).
describe('isoTimestamp: the instants a command or an event may carry', () => {
  it.each([
    ['the first instant', INSTANT_MIN],
    ['the first instant, with an offset', '1970-01-01T01:00:00+01:00'],
    ['the last microsecond', INSTANT_MAX],
    ['the last microsecond, with an offset', '9999-12-31T22:59:59.999999-01:00'],
    ['the widest offsets Postgres takes', '2026-12-04T14:36:50+15:59'],
    ['the widest offsets Postgres takes, west', '2026-12-04T14:36:50-15:59'],
    ['what the API writes now', new Date().toISOString()],
    ['a hold expiring in 30 days, the longest the API gives', new Date(Date.now() + 2_592_000_000).toISOString()],
    ['microseconds', '2026-12-04T14:36:50.221456Z'],
    ['29 February of a leap year', '2028-02-29T00:00:00Z'],
  ])('accepts %s', (_name, instant) => {
    expect(isoTimestamp.safeParse(instant)).toEqual({ success: true, data: instant });
  });

  it.each([
    ['year 0000', '0000-01-01T00:00:00Z', /must be an instant from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59\.999999Z/],
    ['the last millisecond before the epoch', '1969-12-31T23:59:59.999Z', /must be an instant from/],
    ['the epoch, moved before it by its offset', '1970-01-01T00:00:00+00:01', /must be an instant from/],
    ['the last day of 9999, moved into 10000 by its offset', '9999-12-31T23:59:59-00:01', /must be an instant from/],
    ['an offset past +15:59', '2026-12-04T14:36:50+16:00', /offset within ±15:59/],
    ['an offset past -15:59', '2026-12-04T14:36:50-23:59', /offset within ±15:59/],
    ['7 fractional digits (rounded by Postgres)', '9999-12-31T23:59:59.9999999Z', /at most 6 fractional digits/],
    ['30 February', '2026-02-30T00:00:00Z', /./],
    ['no offset', '2026-12-04T14:36:50', /./],
  ])('refuses %s (%s)', (_name, instant, why) => {
    const parsed = isoTimestamp.safeParse(instant);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues).toHaveLength(1);
    expect(parsed.error?.issues[0]?.message).toMatch(why);
  });

  const seal = new CommandSeal('k'.repeat(32));
  const hash = 'a'.repeat(64);
  const hold = (expiresAt: string, acceptedAt = new Date().toISOString()): Command => ({
    type: 'HOLD',
    holdId: randomUUID(),
    accountId: randomUUID(),
    amount: 5n,
    currency: 'USD',
    principal: 'alice',
    admin: false,
    requestHash: hash,
    expiresAt,
    acceptedAt,
    description: null,
  });
  const decoded = (command: Command) => decodeCommand(Buffer.from(encodeCommand(command, seal)), seal);

  it('a command on Kafka stamped in year 0000, or expiring past 9999, is malformed (dead-lettered), never written', () => {
    expect(decoded(hold(new Date(Date.now() + 60_000).toISOString(), '0000-01-01T00:00:00Z'))).toEqual({ ok: false, reason: expect.stringMatching(/^schema: accepted_at: must be an instant from/) });
    expect(decoded(hold('9999-12-31T23:59:59-15:59'))).toEqual({ ok: false, reason: expect.stringMatching(/^schema: expires_at: must be an instant from/) });
  });

  it('a hold expiring in a minute, or in 30 days, decodes as sent', () => {
    for (const expiresAt of [new Date(Date.now() + 60_000).toISOString(), new Date(Date.now() + 2_592_000_000).toISOString()]) {
      const command = hold(expiresAt);
      expect(decoded(command)).toEqual({ ok: true, command });
    }
  });
});
