/**
 * /v1/accounts: open an account, list the caller's, read one, its balance and its entries.
 *
 * Opening an account is not a money movement: it inserts a row nobody else can be writing
 * (its id is derived from principal + Idempotency-Key), so the API writes it directly and
 * answers 201 OPEN; the partition worker becomes its single writer from the first movement.
 *
 * Credit is granted, not taken: an overdraft_limit above 0 needs ledger:admin (403
 * otherwise, nothing created). Each principal may open at most API_ACCOUNTS_PER_PRINCIPAL_MAX
 * accounts (409 ACCOUNT_QUOTA_EXCEEDED).
 */
import { z } from 'zod';
import { isAdmin } from '@ledgerline/auth';
import { type BalanceFigure, ENTRIES_PAGE_MAX, accountIdFor, balanceFigureOf } from '@ledgerline/domain';
import { balanceAt, findAccount, findAccountBalances, insertUserAccountWithinQuota, listEntries, listOwnerAccounts, settleEntriesIfPassed } from '@ledgerline/postgres';
import {
  accountListQuery,
  accountPatchBody,
  accountResource,
  accountsPage,
  balanceAtResource,
  balanceQuery,
  balanceResource,
  createAccountBody,
  entriesPage,
  entriesQuery,
  idPath,
  lastMicrosecondOf,
  utcInstantOf,
} from '@ledgerline/schemas';
import { type AccountFacts, visible, visibleAccount } from '../account-directory';
import { submitAccountChange } from '../account-changes';
import { cachedBalance } from '../cached-values';
import type { AppContext } from '../context';
import { ApiError, forbidden, idempotencyKeyReused, notFound, validationFailed } from '../errors';
import { authOf, requireRead, requireWrite } from '../request-principal';
import { requestHashOf } from '../request-hash';
import { defineRoute } from '../route-table';
import { decodeHistoryCursor, encodeHistoryCursor } from '../history-cursor';
import { accountWire, balanceAtWire, balanceWire, entryWire } from '../resources';

/**
 * How long a time read waits for the writes in flight before its instant (a batch write
 * takes milliseconds; it may wait up to its 5 s lock timeout, hence 10 s; past this the
 * answer is a 503 to retry), and how often it checks (2 ms, doubling up to 50 ms).
 */
const ENTRIES_SETTLE = { timeoutMs: 10_000, pollMs: 2, pollMaxMs: 50 } as const;

export const accountRoutes = [
  defineRoute({
    method: 'post',
    path: '/v1/accounts',
    summary: 'Open an account owned by the token subject',
    idempotent: true,
    body: createAccountBody,
    responses: {
      201: { description: 'Opened', schema: accountResource, location: true },
      200: { description: 'Replay of an earlier request with the same key and body', schema: accountResource, location: true },
    },
    errors: [403, 409],
    handle: async (ctx, { res, key, body }) => {
      const auth = authOf(res);
      requireWrite(auth);
      const overdraftLimit = BigInt(body.overdraft_limit);
      // Before anything is read or written: a refused request creates nothing, replay or not.
      if (overdraftLimit > 0n && !isAdmin(auth)) throw forbidden('an overdraft_limit above 0 needs the ledger:admin scope');
      const id = accountIdFor(auth.principal, key);
      const requestHash = requestHashOf('ACCOUNT', body);

      const existing = await findAccount(ctx.pool, id);
      if (existing) {
        if (existing.requestHash !== requestHash) throw idempotencyKeyReused();
        res.status(200).location(`/v1/accounts/${id}`).json(accountWire(existing));
        return;
      }
      const inserted = await insertUserAccountWithinQuota(
        ctx.pool,
        { id, owner: auth.principal, currency: body.currency, overdraftLimit, metadata: body.metadata, requestHash },
        ctx.config.accountsPerPrincipalMax,
      );
      if (inserted === 'QUOTA_EXCEEDED') {
        throw new ApiError(409, 'ACCOUNT_QUOTA_EXCEEDED', `this principal already has ${ctx.config.accountsPerPrincipalMax} accounts, the most it may open`, {
          accounts_max: ctx.config.accountsPerPrincipalMax,
        });
      }
      const row = inserted.account;
      // A concurrent request with the same key may have won the insert: with another body,
      // a 422; with this one, a replay (200), as if it had come a moment later.
      if (row.requestHash !== requestHash) throw idempotencyKeyReused();
      ctx.directory.remember(row);
      res.status(inserted.inserted ? 201 : 200).location(`/v1/accounts/${id}`).json(accountWire(row));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/v1/accounts',
    summary: "The caller's accounts, newest first; pass next_cursor as cursor for the next page",
    description:
      "The accounts the token's subject owns, ordered by (created_at, id), each as GET /v1/accounts/{id} shows it. " +
      "owner lists another principal's accounts and needs ledger:admin (403 otherwise); an owner with no accounts is an empty page.",
    query: accountListQuery,
    responses: { 200: { description: 'A page of accounts', schema: accountsPage } },
    errors: [403],
    handle: async (ctx, { res, query }) => {
      const auth = authOf(res);
      requireRead(auth);
      const owner = query.owner ?? auth.principal;
      if (owner !== auth.principal && !isAdmin(auth)) throw forbidden("listing another owner's accounts needs the ledger:admin scope");
      const page = await listOwnerAccounts(ctx.pool, {
        owner,
        after: query.cursor === undefined ? null : decodeHistoryCursor(query.cursor),
        limit: query.limit,
      });
      res.json({ accounts: page.accounts.map(accountWire), next_cursor: page.next ? encodeHistoryCursor(page.next) : null });
    },
  }),

  defineRoute({
    method: 'patch',
    path: '/v1/accounts/{id}',
    summary: "Change an account's status (OPEN | FROZEN | CLOSED) or overdraft limit, through its partition's writer",
    description:
      'Admin may change anything; the owner may only close. Waits up to 5 s for the outcome: 200 applied, 409 refused ' +
      '(ACCOUNT_NOT_EMPTY: closing needs balance 0, no active hold and nothing in flight; OVERDRAFT_IN_USE; ACCOUNT_CLOSED: ' +
      'a closed account stays closed), 202 + Location when not applied yet (replay the request to learn the outcome).',
    idempotent: true,
    params: idPath,
    body: accountPatchBody,
    responses: {
      200: { description: 'Applied: the account as it is now', schema: accountResource, location: true },
      202: { description: 'Durable in Kafka, not applied yet: the account as it is now', schema: accountResource, location: true },
    },
    errors: [403, 409],
    handle: async (ctx, { res, key, params, body }) => {
      const auth = authOf(res);
      requireWrite(auth); // a change is a write; its answer is the account it changed, as POST's is
      const answer = await submitAccountChange(ctx, auth, key, params.id, body);
      res.status(answer.status).location(`/v1/accounts/${params.id}`).json(answer.account);
    },
  }),

  defineRoute({
    method: 'get',
    path: '/v1/accounts/{id}',
    summary: 'An account',
    params: idPath,
    responses: { 200: { description: 'The account', schema: accountResource } },
    errors: [403],
    handle: async (ctx, { res, params }) => {
      const auth = authOf(res);
      requireRead(auth);
      const row = await findAccount(ctx.pool, params.id);
      if (!row || !visible(auth, row)) throw notFound('account');
      res.json(accountWire(row));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/v1/accounts/{id}/balance',
    summary: "An account's balance; version is the entry sequence number it reflects. With `at`, the balance as it stood then",
    description:
      'Without `at`: Balance, from the cache when it has the account. With `at`: BalanceAt, the balance after the last entry created at or before `at`, read from the ledger (never the cache); version 0 and balance 0 before the first entry; a future `at` is 400; `as_of` is the last instant `at` stands for, in UTC with microseconds.',
    params: idPath,
    query: balanceQuery,
    responses: { 200: { description: 'The balance (Balance), or with `at` the balance then (BalanceAt)', schema: z.union([balanceResource, balanceAtResource]) } },
    errors: [403],
    handle: async (ctx, { res, params, query }) => {
      const auth = authOf(res);
      requireRead(auth);
      const facts = await visibleAccount(ctx.directory, auth, params.id);
      if (query.at === undefined) {
        res.json(balanceWire(await balanceOf(ctx, facts)));
        return;
      }
      // `at` stands for the whole of its last digit. A figure for a moment that has not wholly
      // passed would change as money moves: refused. Passed on the ledger's clock, which
      // stamped the entries and every `as_of`, not this host's (an outside review: with this
      // host's clock behind, an `as_of` given straight back was refused as in the future).
      // Writes still in flight may stamp entries at or before `at`: wait for them, or the
      // same `at` would read more a moment later (migration 0019).
      const last = lastMicrosecondOf(query.at);
      if (!(await settleEntriesIfPassed(ctx.pool, last, ENTRIES_SETTLE))) {
        throw validationFailed([{ path: 'at', message: 'must not be in the future' }]);
      }
      // From the ledger, never the cache: the cache only knows the latest figure. `as_of` is
      // the last instant the figure covers, with microseconds: given back as `at`, it reads
      // the same figure.
      res.json(balanceAtWire(facts, await balanceAt(ctx.pool, facts.id, last), utcInstantOf(last)));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/v1/accounts/{id}/entries',
    summary: "An account's entries, newest first; pass next_cursor as cursor for the next page; from (inclusive) and to (exclusive) bound created_at",
    params: idPath,
    query: entriesQuery,
    responses: { 200: { description: 'A page of entries', schema: entriesPage } },
    errors: [403],
    handle: async (ctx, { res, params, query }) => {
      const auth = authOf(res);
      requireRead(auth);
      const facts = await visibleAccount(ctx.directory, auth, params.id);
      const limit = Math.min(query.limit, ENTRIES_PAGE_MAX);
      // A window that ends in the past reads the same entries forever, as a past `at` does.
      // The past on the ledger's clock: with this host's clock behind it, a `to` the ledger
      // had passed was read without waiting for the writes in flight before it, and read more
      // a moment later (an outside review).
      if (query.to !== undefined) await settleEntriesIfPassed(ctx.pool, query.to, ENTRIES_SETTLE);
      const entries = await listEntries(ctx.pool, facts.id, {
        beforeSeq: query.cursor === undefined ? null : BigInt(query.cursor),
        from: query.from ?? null,
        to: query.to ?? null,
        limit,
      });
      // An account's entries are numbered 1, 2, 3... without gaps, so the page ending at seq 1
      // (or a short page) is the last one: no extra row is fetched to find out. With a `from`
      // filter the page after a full one may be empty.
      const last = entries[entries.length - 1];
      const more = entries.length === limit && last !== undefined && last.seq > 1n;
      res.json({ entries: entries.map(entryWire), next_cursor: more ? last.seq.toString() : null });
    },
  }),
];

/**
 * Redis first (the worker refreshes it after every commit, and GET /v1/transfers/{id} and
 * /v1/holds/{id} read-repair it, so it is never older than a status read there:
 * balance-read-repair.ts); Postgres when Redis misses, is down, or holds an entry that is
 * not a figure this account can have (removed first: cached-values.ts), and then the cache
 * is filled from what Postgres said.
 */
async function balanceOf(ctx: AppContext, facts: AccountFacts): Promise<BalanceFigure> {
  try {
    const cached = await cachedBalance(ctx, facts);
    if (cached) return cached;
  } catch {
    ctx.metrics.cacheFallbacks.inc({ reason: 'redis_error' });
  }
  // As of an instant the ledger held this balance, which a point-in-time read of it finds
  // again (not the row's updated_at: findAccountBalances).
  const [row] = await findAccountBalances(ctx.pool, [facts.id]);
  if (!row) throw notFound('account');
  const figure = balanceFigureOf(row.account, row.asOf);
  void ctx.redis.balances.refresh([figure]).catch(() => undefined);
  return figure;
}
