/**
 * The accounts every phase uses: ACCOUNTS user accounts owned by USERS principals, plus one
 * merchant (the hot account). Ids are deterministic (accountIdFor(owner, Idempotency-Key), as
 * the API derives them), so the API and the baseline get the very same ids from the same
 * requests, and the driver can check that they did.
 *
 * Created through the public API (POST /v1/accounts with the owner's token, POST
 * /v1/deposits with an admin token, then long polls until every deposit is COMPLETED). When
 * the ingest API is not available, `createDirect` inserts the same rows the API would and
 * funds them with DEPOSIT commands through Kafka, applied by the real workers.
 */
import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { signDevToken } from '@ledgerline/auth';
import { ledgerlineClient } from '@ledgerline/client';
import { type Command, type RoutingTable, accountIdFor, transferIdFor } from '@ledgerline/domain';
import { LOCAL_DEFAULTS } from '@ledgerline/config';
import { BulkProducer, type KafkaClient, type OutgoingMessage } from '@ledgerline/kafka';
import { CommandSeal, encodeCommand } from '@ledgerline/schemas';
import { log, mapLimit, sleep } from './util';

export const CURRENCY = 'USD';
const HTTP_CONCURRENCY = 32;
const FUND_WAIT_ROUNDS_MAX = 6;
const FUND_WAIT_MS = 10_000;
const RETRIES_MAX = 5;
const RETRY_PAUSE_MS = 500;
export const USER_SCOPE = 'ledger:read ledger:write';
export const ADMIN_SCOPE = 'ledger:read ledger:write ledger:admin';

export interface FixtureAccount {
  id: string;
  owner: string;
  /** The Idempotency-Key that created it. */
  key: string;
}

export interface Fixture {
  currency: string;
  accounts: FixtureAccount[];
  merchant: FixtureAccount;
  admin: string;
  fundAmount: string;
  merchantFundAmount: string;
}

export function fixtureSpec(prefix: string, accountsCount: number, usersCount: number, fundAmount: bigint): Fixture {
  const accounts: FixtureAccount[] = [];
  for (let i = 0; i < accountsCount; i++) {
    const owner = `${prefix}-u${i % usersCount}`;
    const key = `acct-${i}`;
    accounts.push({ id: accountIdFor(owner, key), owner, key });
  }
  const merchantOwner = `${prefix}-merchant`;
  return {
    currency: CURRENCY,
    accounts,
    merchant: { id: accountIdFor(merchantOwner, 'acct-merchant'), owner: merchantOwner, key: 'acct-merchant' },
    admin: `${prefix}-admin`,
    fundAmount: fundAmount.toString(),
    merchantFundAmount: (fundAmount * 1000n).toString(),
  };
}

/**
 * What k6 reads (FIXTURE=...): no keys, they are the driver's business. Each account's
 * partition lets a scenario draw cross-partition pairs only (PAIRS=cross).
 */
export function k6Fixture(f: Fixture, partitionOf: (accountId: string) => number): object {
  return {
    currency: f.currency,
    accounts: f.accounts.map((a) => ({ id: a.id, owner: a.owner, partition: partitionOf(a.id) })),
    merchant: { id: f.merchant.id, owner: f.merchant.owner },
    admin: f.admin,
  };
}

export class TokenCache {
  private readonly tokens = new Map<string, Promise<string>>();
  constructor(private readonly secret: string) {}

  get(sub: string, scope: string): Promise<string> {
    const key = `${sub}\n${scope}`;
    let token = this.tokens.get(key);
    if (!token) {
      token = signDevToken({ sub, scope, secret: this.secret, ttlS: 24 * 3600 });
      this.tokens.set(key, token);
    }
    return token;
  }
}

/**
 * The typed client of @ledgerline/client (generated from /openapi.json) for `token`: the
 * fixture speaks the contract as declared, and a change of it fails to compile here. k6
 * scenarios cannot import npm packages (they run in goja), so the setup that creates and
 * funds accounts runs here, in node, and hands k6 the FIXTURE file.
 */
function apiFor(baseUrl: string, token: string) {
  return ledgerlineClient({ baseUrl, token, fetch: (request: Request) => fetch(request, { signal: AbortSignal.timeout(FUND_WAIT_MS + 15_000) }) });
}

/**
 * One request, retried as the contract tells a client to: a 503 or 429 (a dependency slow to
 * answer on a loaded machine, e.g. a Postgres connection not made within the API's connect
 * timeout) is retried with the same Idempotency-Key after a short pause, a few times.
 */
async function retried<T extends { response: Response }>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const answer = await send();
    if ((answer.response.status !== 503 && answer.response.status !== 429) || attempt >= RETRIES_MAX) return answer;
    await sleep(RETRY_PAUSE_MS * attempt);
  }
}

/** Opens and funds every fixture account through `baseUrl` (the ingest API or the baseline). */
export async function createViaHttp(baseUrl: string, tokens: TokenCache, fixture: Fixture, label: string): Promise<void> {
  const all = [...fixture.accounts, fixture.merchant];
  log(`${label}: opening ${all.length} accounts through POST /v1/accounts`);
  await mapLimit(all, HTTP_CONCURRENCY, async (account) => {
    const api = apiFor(baseUrl, await tokens.get(account.owner, USER_SCOPE));
    const { data, error, response } = await retried(() =>
      api.POST('/v1/accounts', { params: { header: { 'Idempotency-Key': account.key } }, body: { currency: fixture.currency } }),
    );
    if (data?.id !== account.id) {
      throw new Error(`${label}: POST /v1/accounts for ${account.owner}/${account.key} answered ${response.status} ${JSON.stringify(error ?? data)} (expected id ${account.id})`);
    }
  });
  log(`${label}: funding them through POST /v1/deposits`);
  const admin = apiFor(baseUrl, await tokens.get(fixture.admin, ADMIN_SCOPE));
  const depositIds = await mapLimit(all, HTTP_CONCURRENCY, async (account) => {
    const amount = account === fixture.merchant ? fixture.merchantFundAmount : fixture.fundAmount;
    const { data, error, response } = await retried(() =>
      admin.POST('/v1/deposits', {
        params: { header: { 'Idempotency-Key': `fund-${account.id}` } },
        body: { account_id: account.id, amount, currency: fixture.currency },
      }),
    );
    if (!data) throw new Error(`${label}: deposit into ${account.id} answered ${response.status} ${JSON.stringify(error)}`);
    return data.id;
  });
  let pending = depositIds;
  for (let round = 0; round < FUND_WAIT_ROUNDS_MAX && pending.length > 0; round++) {
    const states = await mapLimit(pending, HTTP_CONCURRENCY, async (id) => {
      const { data } = await retried(() => admin.GET('/v1/transfers/{id}', { params: { path: { id }, query: { wait_ms: FUND_WAIT_MS } } }));
      if (data?.status === 'REJECTED') throw new Error(`${label}: deposit ${id} was REJECTED (${String(data.reason)})`);
      return data?.status === 'COMPLETED';
    });
    pending = pending.filter((_, i) => !states[i]);
  }
  if (pending.length > 0) throw new Error(`${label}: ${pending.length} deposits still not COMPLETED`);
  log(`${label}: ${all.length} accounts open and funded`);
}

export function requestHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Without the ingest API: the rows POST /v1/accounts would insert (insertUserAccount's
 * columns), then one DEPOSIT command per account on the commands topic, exactly as the API
 * would publish it; the caller runs the workers until they are applied.
 */
export async function createDirect(pool: Pool, kafka: KafkaClient, topic: string, routing: RoutingTable, fixture: Fixture): Promise<number> {
  const all = [...fixture.accounts, fixture.merchant];
  await pool.query(
    `INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, metadata, request_hash)
     SELECT id, owner, 'USER', $3, 0, '{}'::jsonb, hash FROM unnest($1::uuid[], $2::text[], $4::text[]) AS t(id, owner, hash)
     ON CONFLICT (id) DO NOTHING`,
    [all.map((a) => a.id), all.map((a) => a.owner), fixture.currency, all.map((a) => requestHash(`${a.owner}/${a.key}`))],
  );
  const acceptedAt = new Date().toISOString();
  // The bench's workers run with the development key (no LEDGERLINE_COMMAND_KEY in their env).
  const seal = new CommandSeal(LOCAL_DEFAULTS.commandKey);
  const messages = all.map((account): OutgoingMessage => {
    const amount = BigInt(account === fixture.merchant ? fixture.merchantFundAmount : fixture.fundAmount);
    const command: Command = {
      type: 'DEPOSIT',
      transferId: transferIdFor(fixture.admin, `fund-${account.id}`),
      accountId: account.id,
      description: null,
      amount,
      currency: fixture.currency,
      principal: fixture.admin,
      admin: true,
      requestHash: requestHash(`fund-${account.id}`),
      acceptedAt,
    };
    return { topic, partition: routing.partitionOf(account.id), key: account.id, value: encodeCommand(command, seal) };
  });
  const producer = new BulkProducer({ kafka, idempotent: true, requestsInFlightMax: 1 });
  try {
    for (let i = 0; i < messages.length; i += 2_000) await producer.send(messages.slice(i, i + 2_000));
  } finally {
    await producer.close();
  }
  return messages.length;
}
