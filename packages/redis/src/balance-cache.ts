/**
 * The balance cache: what `GET /balance` answers from when Redis is up. Written after each
 * worker commit and read-repaired by the API from Postgres; every write is versioned by the
 * account's `rev` (bumped by every change the writer makes: entries, holds, status; see
 * lua/refresh-balances.lua), so it never shows an older balance or `available` after a newer
 * one was written. What it reads back is checked (`lookup`): an entry none of our writers
 * could have written is a miss, and the script replaces it instead of comparing against it.
 */
import type Redis from 'ioredis';
import { Keys } from './keys';
import { type ScriptCommand, scriptCommand } from './scripts';
import { shown } from './stored';
import type { BalanceFigure } from '@ledgerline/domain';

export interface BalanceCacheOptions {
  /** Cached balances expire unless written again: idle accounts leave memory. */
  ttlS?: number;
  /**
   * Accounts per EVALSHA at most. A Lua script blocks Redis while it runs; ~1000 HGET+HSET
   * pairs take well under a millisecond, so larger batches are split rather than let one
   * call stall every other client.
   */
  accountsPerCallMax?: number;
}

export const BALANCE_TTL_S_DEFAULT = 24 * 3600;
const ACCOUNTS_PER_CALL_MAX_DEFAULT = 1000;

export class BalanceCache {
  private readonly keys: Keys;
  /** Seconds a cached balance lives unless written again. */
  readonly ttlS: number;
  /** Accounts per script call at most (a larger refresh is sent in chunks of this size). */
  readonly accountsPerCallMax: number;

  /** KEYS: the balance hashes; ARGV: ttl, then balance, seq, currency, as_of, held, rev per key (see the script's header). */
  private readonly refreshBalances: ScriptCommand;

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
    options: BalanceCacheOptions = {},
  ) {
    this.refreshBalances = scriptCommand(redis, 'refresh-balances.lua');
    this.keys = new Keys(keyPrefix);
    this.ttlS = options.ttlS ?? BALANCE_TTL_S_DEFAULT;
    this.accountsPerCallMax = options.accountsPerCallMax ?? ACCOUNTS_PER_CALL_MAX_DEFAULT;
  }

  /**
   * Writes each balance unless Redis already holds the same or a newer version (`rev`) of it.
   * Every script call is issued before this returns its promise (none waits for the one
   * before): the calls, and whatever the caller sends right after on this connection (the
   * worker's wake-up PUBLISH), reach Redis in that order, in as few writes as the connection's
   * pipelining allows. Each call is still a script of its own, so other clients get a turn
   * between chunks.
   */
  refresh(balances: readonly BalanceFigure[]): Promise<void> {
    const calls: Promise<unknown>[] = [];
    for (let start = 0; start < balances.length; start += this.accountsPerCallMax) {
      const chunk = balances.slice(start, start + this.accountsPerCallMax);
      const keys = chunk.map((b) => this.keys.balance(b.accountId));
      const args: string[] = [String(this.ttlS)];
      for (const b of chunk) {
        if (b.seq < 0n || b.rev < 0n || b.held < 0n) return Promise.reject(new RangeError(`seq, rev and held of ${b.accountId} must not be negative`));
        args.push(b.balance.toString(), b.seq.toString(), b.currency, b.asOf, b.held.toString(), b.rev.toString());
      }
      calls.push(this.refreshBalances(keys.length, ...keys, ...args));
    }
    return Promise.all(calls).then(() => undefined);
  }

  /**
   * The account's cached balance, or null: a miss, or an entry none of our writers wrote
   * (see `lookup`).
   */
  async read(accountId: string): Promise<BalanceFigure | null> {
    const found = await this.lookup(accountId);
    return found !== null && 'figure' in found ? found.figure : null;
  }

  /**
   * What the cache holds for the account: its figure, nothing (null), or an entry none of
   * our writers wrote, with why (`malformed`: the caller reads Postgres, as on a miss, and may
   * `drop` it). Redis is not trusted (docs/design.md, invariant 9): balance, seq, held and rev
   * must be canonical decimal integers within PostgreSQL's bigint (seq, held and rev not
   * negative), as_of an ISO 8601 instant, and the currency `currency` when given (the
   * account's own; else any currency code). The refresh script is not blocked by what this
   * refuses (lua/refresh-balances.lua): the next write replaces such an entry. Redis's errors
   * are thrown, a key of another type's WRONGTYPE too (`isWrongType`).
   */
  async lookup(accountId: string, currency?: string): Promise<BalanceLookup> {
    const fields = await this.redis.hmget(this.keys.balance(accountId), ...FIELDS);
    if (fields.every((field) => field === null)) return null;
    const stored = Object.fromEntries(FIELDS.map((name, i) => [name, fields[i] ?? null])) as StoredBalance;
    const problem = balanceProblem(stored, currency);
    if (problem !== null) return { malformed: problem };
    const { balance, seq, held, rev } = stored as Record<Field, string>;
    return { figure: { accountId, currency: stored.currency!, balance: BigInt(balance), seq: BigInt(seq), held: BigInt(held), rev: BigInt(rev), asOf: stored.as_of! } };
  }

  /**
   * Removes the account's entry, whatever it holds: for one `lookup` found malformed. As an
   * expiry would: the next read misses and fills it from Postgres.
   */
  async drop(accountId: string): Promise<void> {
    await this.redis.del(this.keys.balance(accountId));
  }
}

/** What `lookup` reads back: the account's figure, a miss (null), or why the entry is none of ours. */
export type BalanceLookup = { figure: BalanceFigure } | { malformed: string } | null;

/** The hash's fields, in the order `lookup` reads them. */
const FIELDS = ['balance', 'seq', 'currency', 'as_of', 'held', 'rev'] as const;

/** PostgreSQL's bigint, the type of every balance, seq, held and rev column. */
const INT64_MAX = 9_223_372_036_854_775_807n;
const INT64_MIN = -9_223_372_036_854_775_808n;
/** An ISO 4217 code, as every account's currency is (CURRENCY_PATTERN in packages/domain). */
const CURRENCY = /^[A-Z]{3}$/;
/** Canonical decimal integers of at most 19 digits: no sign on a counter, no leading zero, no "-0". */
const COUNTER = /^(0|[1-9][0-9]{0,18})$/;
const SIGNED = /^(0|-?[1-9][0-9]{0,18})$/;
/**
 * The shape of an ISO 8601 instant with an offset and at most 6 fractional digits; the same
 * as the refresh script checks (the API checks the calendar too: instantParam).
 */
const INSTANT = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$/;

type Field = (typeof FIELDS)[number];
type StoredBalance = Record<Field, string | null>;

/** Why `stored` is no balance one of our writers wrote (for an account in `currency` when given), or null. */
function balanceProblem(stored: StoredBalance, currency: string | undefined): string | null {
  const missing = Object.entries(stored).filter(([, value]) => value === null).map(([name]) => name);
  if (missing.length > 0) return `fields missing: ${missing.join(', ')}`;
  for (const name of ['seq', 'held', 'rev'] as const) {
    const value = stored[name]!;
    if (!COUNTER.test(value) || BigInt(value) > INT64_MAX) return `${name} ${shown(value)} is not a decimal integer in 0..${INT64_MAX}`;
  }
  const balance = stored.balance!;
  if (!SIGNED.test(balance) || BigInt(balance) > INT64_MAX || BigInt(balance) < INT64_MIN) return `balance ${shown(balance)} is not a decimal integer in ${INT64_MIN}..${INT64_MAX}`;
  if (!INSTANT.test(stored.as_of!)) return `as_of ${shown(stored.as_of!)} is not an ISO 8601 instant`;
  if (currency !== undefined ? stored.currency !== currency : !CURRENCY.test(stored.currency!)) return `currency ${shown(stored.currency!)} is not ${currency === undefined ? 'a currency code' : `the account's (${currency})`}`;
  return null;
}
