// Environment parsing for the k6 scenarios: every knob has a default, a unit in its name
// and bounds, and an out-of-range value stops the test before it starts, as the apps' config modules do.
// Plain JS: k6 runs it, not Node (ESLint ignores loadtest/k6/).

export function str(name, fallback) {
  const value = __ENV[name];
  return value === undefined || value === '' ? fallback : value;
}

export function num(name, fallback, min, max) {
  const raw = __ENV[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name}=${raw}: must be a number in ${min}..${max}`);
  }
  return value;
}

export function int(name, fallback, min, max) {
  const value = num(name, fallback, min, max);
  if (!Number.isInteger(value)) throw new Error(`${name}=${value}: must be an integer`);
  return value;
}

export function oneOf(name, fallback, allowed) {
  const value = str(name, fallback);
  if (allowed.indexOf(value) < 0) throw new Error(`${name}=${value}: must be one of ${allowed.join(', ')}`);
  return value;
}

/** A k6 duration string such as 30s, 2m, 1m30s. */
export function duration(name, fallback) {
  const value = str(name, fallback);
  if (!/^(\d+h)?(\d+m)?(\d+s)?$/.test(value) || value === '') throw new Error(`${name}=${value}: must look like 30s, 2m or 1m30s`);
  return value;
}

export function durationSeconds(text) {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!match) throw new Error(`not a duration: ${text}`);
  return Number(match[1] || 0) * 3600 + Number(match[2] || 0) * 60 + Number(match[3] || 0);
}

/** Settings every scenario shares. */
export const common = {
  baseUrl: str('BASE_URL', 'http://127.0.0.1:8080').replace(/\/+$/, ''),
  jwtSecret: str('JWT_SECRET', 'dev-secret-change-me'),
  currency: str('CURRENCY', 'USD'),
  /** JSON file written by the bench driver (accounts already created and funded). */
  fixturePath: str('FIXTURE', ''),
  /** Accounts and principals setup() creates when no FIXTURE is given. */
  accountsCount: int('ACCOUNTS', 200, 2, 100000),
  usersCount: int('USERS', 20, 1, 10000),
  /** Minor units deposited into each account by setup(); the merchant gets 1000x. */
  fundAmount: int('FUND_AMOUNT', 10000000, 1, 1000000000),
  /** Transfer amounts are drawn uniformly from 1..AMOUNT_MAX minor units. */
  amountMax: int('AMOUNT_MAX', 100, 1, 1000000),
  /** 'api' (202 then async) or 'baseline' (the synchronous row-lock comparator). */
  target: oneOf('TARGET', 'api', ['api', 'baseline']),
  /** Put on every transfer's description, so the driver can find this run's rows in Postgres. */
  runTag: str('RUN_TAG', ''),
  /** Long-poll bound of a verification GET /v1/transfers/{id}?wait_ms= (docs/api.md allows <= 30000). */
  waitMs: int('WAIT_MS', 10000, 0, 30000),
  /** One iteration in SAMPLE_EVERY verifies that the money really moved (and times e2e). */
  sampleEvery: int('SAMPLE_EVERY', 100, 1, 1000000),
  /** full: status, balance versions and journal; status: only the long poll to COMPLETED
   * (cheaper, for e2e timing at high rates). */
  verify: oneOf('VERIFY', 'full', ['full', 'status']),
  /** any: pairs as the mix draws them; cross: uniform pairs whose ends sit on different
   * partitions (needs the bench's FIXTURE, which records each account's partition). */
  pairs: oneOf('PAIRS', 'any', ['any', 'cross']),
  summaryJson: str('SUMMARY_JSON', ''),
};
