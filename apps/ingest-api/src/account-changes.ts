/**
 * `PATCH /v1/accounts/{id}` (docs/api.md, Account lifecycle): status (OPEN | FROZEN | CLOSED) and overdraft limit.
 *
 * A change of an account is a command through the account's partition, applied by its single
 * writer (the one that caches the account): a row edited behind the writer's back would be
 * ignored by its cache. The API waits up to API_ACCOUNT_CHANGE_WAIT_MS for the outcome:
 *
 *   applied  -> 200 with the account as it is now
 *   refused  -> 409 {"error": {"code": reason}}  (ACCOUNT_NOT_EMPTY, OVERDRAFT_IN_USE,
 *               ACCOUNT_CLOSED, FORBIDDEN, ACCOUNT_NOT_FOUND)
 *   not yet  -> 202 + Location: /v1/accounts/{id} (replaying the request later tells)
 *
 * Who: an admin may change anything; the owner may only close (checked here and again by
 * the writer).
 */
import { registerLongPoll } from './status-read';
import { type AuthContext, canWrite, isAdmin } from '@ledgerline/auth';
import { type AccountStatus, type UpdateAccountCommand, accountChangeIdFor } from '@ledgerline/domain';
import { findAccount, findAccountChange } from '@ledgerline/postgres';
import type { accountPatchBody } from '@ledgerline/schemas';
import type { z } from 'zod';
import { submitCommand } from './command-submission';
import type { AppContext } from './context';
import { ApiError, forbidden, notFound } from './errors';
import { requestHashOf } from './request-hash';
import { type AccountWire, accountWire } from './resources';
import { lookupAs } from './account-directory';

export type AccountChangeAnswer = { status: 200 | 202; account: AccountWire };

export async function submitAccountChange(
  ctx: AppContext,
  auth: AuthContext,
  idempotencyKey: string,
  accountId: string,
  body: z.output<typeof accountPatchBody>,
): Promise<AccountChangeAnswer> {
  const facts = await lookupAs(ctx.directory, auth, accountId);
  if (!facts || facts.kind !== 'USER' || (!isAdmin(auth) && facts.owner !== auth.principal)) throw notFound('account');
  if (!isAdmin(auth)) {
    if (!canWrite(auth)) throw forbidden('this token lacks the ledger:write scope');
    if (body.overdraft_limit !== undefined || body.status !== 'CLOSED') throw forbidden('an owner may only close the account; other changes need ledger:admin');
  }
  const changeId = accountChangeIdFor(auth.principal, idempotencyKey);
  const requestHash = requestHashOf('ACCOUNT_CHANGE', { account_id: accountId, ...body });
  // Registered before publishing, so the writer's notification cannot slip between.
  const handle = ctx.config.accountChangeWaitMs > 0 ? registerLongPoll(ctx, auth, changeId) : null;
  try {
    const answer = await submitCommand<{ id: string }>(ctx, auth, {
      id: changeId,
      subject: accountId,
      requestHash,
      recordAccepted: false,
      build: (acceptedAt) => {
        const command: UpdateAccountCommand = {
          type: 'UPDATE_ACCOUNT',
          changeId,
          accountId,
          status: (body.status ?? null) as AccountStatus | null,
          overdraftLimit: body.overdraft_limit === undefined ? null : BigInt(body.overdraft_limit),
          principal: auth.principal,
          admin: isAdmin(auth),
          requestHash,
          acceptedAt,
        };
        return { command, resource: { id: changeId } };
      },
      earlier: async () => ((await findAccountChange(ctx.pool, changeId)) ? { id: changeId } : null),
    });
    if (answer.published && handle) await handle.until(ctx.config.accountChangeWaitMs);
    const outcome = await findAccountChange(ctx.pool, changeId);
    const account = await findAccount(ctx.pool, accountId);
    if (!account) throw notFound('account');
    if (!outcome) return { status: 202, account: accountWire(account) };
    if (outcome.outcome === 'REJECTED') {
      // The writer checks again what the API checked above; its word is final.
      if (outcome.reason === 'FORBIDDEN') throw forbidden('the account change was refused: FORBIDDEN');
      if (outcome.reason === 'ACCOUNT_NOT_FOUND') throw notFound('account');
      const code = outcome.reason === 'OVERDRAFT_IN_USE' || outcome.reason === 'ACCOUNT_CLOSED' ? outcome.reason : 'ACCOUNT_NOT_EMPTY';
      throw new ApiError(409, code, `the account change was refused: ${outcome.reason}`);
    }
    return { status: 200, account: accountWire(account) };
  } finally {
    handle?.cancel();
  }
}
