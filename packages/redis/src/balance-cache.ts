/**
 * The balance cache: what `GET /balance` answers from when Redis is up. Written after each
 * worker commit and read-repaired by the API from Postgres; every write is versioned by the
 * account's `rev` (bumped by every change the writer makes: entries, holds, status; see
 * lua/refresh-balances.lua), so it never shows an older balance or `available` after a newer
 * one was written.
 */
import type Redis from 'ioredis';
import { Keys } from './keys';
import { type ScriptCommand, scriptCommand } from './scripts';

export interface CachedBalance {
  accountId: string;
  currency: string;
  balance: bigint;
  /** The account's entry sequence number this balance reflects. */
  seq: bigint;
  /** Sum of the account's active holds: available = balance - held. */
  held: bigint;
  /** The account's change counter: the cache's version (a hold moves `held`, not `seq`). */
  rev: bigint;
  /** ISO 8601: when the balance was committed (or read from Postgres). */
  asOf: string;
}

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
  private readonly ttlS: number;
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
  refresh(balances: readonly CachedBalance[]): Promise<void> {
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

  async read(accountId: string): Promise<CachedBalance | null> {
    const [balance, seq, currency, asOf, held, rev] = await this.redis.hmget(
      this.keys.balance(accountId),
      'balance',
      'seq',
      'currency',
      'as_of',
      'held',
      'rev',
    );
    if (!balance || !seq || !currency || !asOf || !held || !rev) return null; // held/rev absent: written before holds, a miss
    if (!/^-?[0-9]+$/.test(balance) || !/^[0-9]+$/.test(seq) || !/^[0-9]+$/.test(held) || !/^[0-9]+$/.test(rev)) return null; // not ours: a miss
    return { accountId, currency, balance: BigInt(balance), seq: BigInt(seq), held: BigInt(held), rev: BigInt(rev), asOf };
  }
}
