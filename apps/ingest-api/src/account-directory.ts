/**
 * Who owns an account and in which currency it is: the facts every authorisation needs.
 * Neither ever changes once the account exists, so they are cached in a bounded LRU and a
 * hot account costs no Postgres round trip. Misses are not cached: an id unknown now may
 * be opened a moment later.
 */
import type { Database } from '@ledgerline/postgres';
import { LRUCache } from 'lru-cache';
import { type AuthContext, isAdmin } from '@ledgerline/auth';
import type { AccountKind } from '@ledgerline/domain';
import { type AccountRow, findAccount, findAccounts } from '@ledgerline/postgres';
import { notFound } from './errors';

export interface AccountFacts {
  readonly id: string;
  readonly owner: string;
  readonly kind: AccountKind;
  readonly currency: string;
}

export class AccountDirectory {
  /** null when entriesMax is 0: every lookup reads Postgres. */
  private readonly cache: LRUCache<string, AccountFacts> | null;

  constructor(
    private readonly pool: Database,
    entriesMax: number,
  ) {
    this.cache = entriesMax > 0 ? new LRUCache({ max: entriesMax }) : null;
  }

  async lookup(accountId: string): Promise<AccountFacts | null> {
    return this.cache?.get(accountId) ?? (await this.read(accountId));
  }

  /** The facts held for `accountId`, without reading Postgres: undefined when not held. */
  held(accountId: string): AccountFacts | undefined {
    return this.cache?.get(accountId);
  }

  /** The facts as Postgres has them (one statement), remembered. */
  async read(accountId: string): Promise<AccountFacts | null> {
    const row = await findAccount(this.pool, accountId);
    return row ? this.remember(row) : null;
  }

  /** The facts of each of `accountIds` that exists, by id: one statement for those not held. */
  async lookupMany(accountIds: readonly string[]): Promise<Map<string, AccountFacts>> {
    const found = new Map<string, AccountFacts>();
    const missing: string[] = [];
    for (const id of new Set(accountIds)) {
      const cached = this.cache?.get(id);
      if (cached) found.set(id, cached);
      else missing.push(id);
    }
    for (const row of await findAccounts(this.pool, missing)) found.set(row.id, this.remember(row));
    return found;
  }

  remember(row: AccountRow): AccountFacts {
    const facts: AccountFacts = { id: row.id, owner: row.owner, kind: row.kind, currency: row.currency };
    this.cache?.set(row.id, facts);
    return facts;
  }
}

/** Owners see their accounts, admins see all; for anyone else the account does not exist. */
export function visible(auth: AuthContext, account: Pick<AccountRow, 'owner'>): boolean {
  return isAdmin(auth) || account.owner === auth.principal;
}

/**
 * The account's facts when `auth` may see it; 404 otherwise, as for an id that does not exist.
 *
 * Every 404 costs the same one Postgres read: another owner's account answered from the cache
 * would come back a round trip sooner than an id that does not exist, and the time alone
 * would tell a caller that the account exists (an outside authorization review measured
 * about a PgBouncer round trip of difference on /balance and /entries). Only the caller's own
 * account (or any, for an admin) is served from the cache without a read.
 */
export async function visibleAccount(directory: AccountDirectory, auth: AuthContext, id: string): Promise<AccountFacts> {
  const facts = await lookupAs(directory, auth, id);
  if (!facts || !visible(auth, facts)) throw notFound('account');
  return facts;
}

/**
 * The facts of `id` for deciding what `auth` may do with it, under visibleAccount's rule: from
 * the cache only when they are the caller's own (or any, for an admin), else read from
 * Postgres. The write paths refuse another owner's account with this (a 403 on a movement, a
 * 404 on a PATCH): served from the cache, that refusal came back a round trip sooner than an
 * unknown id's, and its time told which ids exist (an outside security review).
 */
export async function lookupAs(directory: AccountDirectory, auth: AuthContext, id: string): Promise<AccountFacts | null> {
  const held = directory.held(id);
  if (held && visible(auth, held)) return held;
  return directory.read(id);
}
