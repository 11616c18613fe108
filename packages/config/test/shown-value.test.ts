// Proves that a refused configuration value is shown without the secrets it may hold: the
// message goes to stderr, which an orchestrator ships to its logs.
import { z } from 'zod';
import { parseConfig, shownValue } from '../src';

describe('a refused value, as the configuration error shows it', () => {
  test("a URL's user and password are masked, the rest kept", () => {
    expect(shownValue('REDIS_URL', 'valkey://default:S3cr3t@cache:6379')).toBe('"valkey://***@cache:6379"');
    expect(shownValue('JWT_JWKS_URL', 'https://u:p@keys.example/jwks')).toBe('"https://***@keys.example/jwks"');
    expect(shownValue('REDIS_URL', 'NaN')).toBe('"NaN"');
    // A password with an unencoded `/` or `@`, and a query that may carry one.
    expect(shownValue('REDIS_URL', 'valkey://u:pa/ss@w@rd@cache:6379')).toBe('"valkey://***@cache:6379"');
    expect(shownValue('SOME_URL', 'postgres://db/x?password=S3cr3t')).toBe('"postgres://db/x?***"');
    // With a `?` or `#` before the last `@`, that `@` may sit inside a query (a password
    // holding `?`, or `?password=p@ss`): nothing after the scheme is shown.
    expect(shownValue('REDIS_URL', 'valkey://u:pa/ss?w#o@rd@cache:6379')).toBe('"valkey://***"');
    expect(shownValue('SOME_URL', 'postgres://db/x?password=p@ss')).toBe('"postgres://***"');
    expect(shownValue('SOME_URL', 'postgres://u:pw@db/x?user=a@b&password=S3cr3t')).toBe('"postgres://***"');
  });

  test('a mistyped scheme, the likeliest reason a URL is refused, still hides the password (an outside review)', () => {
    expect(shownValue('REDIS_URL', 'rediss:/:Sup3rS3cret@cache.internal:6380')).toBe('"rediss:/***@cache.internal:6380"');
    expect(shownValue('REDIS_URL', 'rediss:Sup3rS3cret@cache.internal:6380')).toBe('"rediss:***@cache.internal:6380"');
    expect(shownValue('REDIS_URL', 'rediss:\\\\:Sup3rS3cret@cache.internal:6380')).toBe(JSON.stringify('rediss:\\\\***@cache.internal:6380'));
    expect(shownValue('REDIS_URL', ':Sup3rS3cret@cache.internal:6380')).toBe('"***@cache.internal:6380"');
    expect(shownValue('REDIS_URL', ' rediss://:Sup3rS3cret@cache.internal:6380')).toBe('"***@cache.internal:6380"');
  });

  test('a secret is shown only by its length', () => {
    expect(shownValue('JWT_SECRET', 'hunter2')).toBe('(7 characters, not shown)');
    expect(shownValue('LEDGERLINE_COMMAND_KEY', 'k'.repeat(40))).toBe('(40 characters, not shown)');
    expect(shownValue('KAFKA_SASL_PASSWORD', 'pw')).toBe('(2 characters, not shown)');
    expect(shownValue('LEDGERLINE_COMMAND_KEY_PREVIOUS', 'old,older')).toBe('(9 characters, not shown)');
    expect(shownValue('REDIS_KEY_PREFIX', 'll: ')).toBe('"ll: "');
  });

  test('parseConfig names the variable and masks what it refused', () => {
    const schema = z.object({ SOME_URL: z.string().startsWith('redis://') });
    expect(() => parseConfig(schema, { SOME_URL: 'valkey://user:S3cr3t@cache:6379' })).toThrow(/SOME_URL="valkey:\/\/\*\*\*@cache:6379"/);
    expect(() => parseConfig(schema, { SOME_URL: 'valkey://user:S3cr3t@cache:6379' })).not.toThrow(/S3cr3t/);
  });
});
