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
import type { Kafka } from 'kafkajs';
import { signDevToken } from '@ledgerline/auth';
import { type Command, type RoutingTable, accountIdFor, transferIdFor } from '@ledgerline/domain';
import { encodeCommand } from '@ledgerline/schemas';
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
 * One request, retried as the contract tells a client to: a 503 or 429 (a dependency slow to
 * answer on a loaded machine, e.g. a Postgres connection not made within the API's connect
 * timeout) is retried with the same Idempotency-Key after a short pause, a few times.
 */
async function call(baseUrl: string, method: string, path: string, token: string, body?: object, key?: string): Promise<{ status: number; json: Record<string, unknown> | null }> {
  for (let attempt = 1; ; attempt++) {
    const res = await callOnce(baseUrl, method, path, token, body, key);
    if ((res.status !== 503 && res.status !== 429) || attempt >= RETRIES_MAX) return res;
    await sleep(RETRY_PAUSE_MS * attempt);
  }
}

async function callOnce(baseUrl: string, method: string, path: string, token: string, body?: object, key?: string): Promise<{ status: number; json: Record<string, unknown> | null }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body) headers['content-type'] = 'application/json';
  if (key) headers['idempotency-key'] = key;
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(FUND_WAIT_MS + 15_000) });
  const text = await res.text();
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = null;
  }
  return { status: res.status, json };
}

/** Opens and funds every fixture account through `baseUrl` (the ingest API or the baseline). */
export async function createViaHttp(baseUrl: string, tokens: TokenCache, fixture: Fixture, label: string): Promise<void> {
  const all = [...fixture.accounts, fixture.merchant];
  log(`${label}: opening ${all.length} accounts through POST /v1/accounts`);
  await mapLimit(all, HTTP_CONCURRENCY, async (account) => {
    const res = await call(baseUrl, 'POST', '/v1/accounts', await tokens.get(account.owner, USER_SCOPE), { currency: fixture.currency }, account.key);
    if (res.status < 200 || res.status > 299 || res.json?.id !== account.id) {
      throw new Error(`${label}: POST /v1/accounts for ${account.owner}/${account.key} answered ${res.status} ${JSON.stringify(res.json)} (expected id ${account.id})`);
    }
  });
  log(`${label}: funding them through POST /v1/deposits`);
  const adminToken = await tokens.get(fixture.admin, ADMIN_SCOPE);
  const depositIds = await mapLimit(all, HTTP_CONCURRENCY, async (account) => {
    const amount = account === fixture.merchant ? fixture.merchantFundAmount : fixture.fundAmount;
    const res = await call(baseUrl, 'POST', '/v1/deposits', adminToken, { account_id: account.id, amount, currency: fixture.currency }, `fund-${account.id}`);
    if (res.status < 200 || res.status > 299 || typeof res.json?.id !== 'string') {
      throw new Error(`${label}: deposit into ${account.id} answered ${res.status} ${JSON.stringify(res.json)}`);
    }
    return res.json.id as string;
  });
  let pending = depositIds;
  for (let round = 0; round < FUND_WAIT_ROUNDS_MAX && pending.length > 0; round++) {
    const states = await mapLimit(pending, HTTP_CONCURRENCY, async (id) => {
      const res = await call(baseUrl, 'GET', `/v1/transfers/${id}?wait_ms=${FUND_WAIT_MS}`, adminToken);
      if (res.json?.status === 'REJECTED') throw new Error(`${label}: deposit ${id} was REJECTED (${String(res.json.reason)})`);
      return res.json?.status === 'COMPLETED';
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
export async function createDirect(pool: Pool, kafka: Kafka, topic: string, routing: RoutingTable, fixture: Fixture): Promise<number> {
  const all = [...fixture.accounts, fixture.merchant];
  await pool.query(
    `INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, metadata, request_hash)
     SELECT id, owner, 'USER', $3, 0, '{}'::jsonb, hash FROM unnest($1::uuid[], $2::text[], $4::text[]) AS t(id, owner, hash)
     ON CONFLICT (id) DO NOTHING`,
    [all.map((a) => a.id), all.map((a) => a.owner), fixture.currency, all.map((a) => requestHash(`${a.owner}/${a.key}`))],
  );
  const acceptedAt = new Date().toISOString();
  const messages = all.map((account) => {
    const amount = BigInt(account === fixture.merchant ? fixture.merchantFundAmount : fixture.fundAmount);
    const command: Command = {
      type: 'DEPOSIT',
      transferId: transferIdFor(fixture.admin, `fund-${account.id}`),
      accountId: account.id,
      amount,
      currency: fixture.currency,
      principal: fixture.admin,
      admin: true,
      requestHash: requestHash(`fund-${account.id}`),
      acceptedAt,
    };
    return { partition: routing.partitionOf(account.id), key: account.id, value: encodeCommand(command) };
  });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 2_000) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 2_000) });
    }
  } finally {
    await producer.disconnect();
  }
  return messages.length;
}
