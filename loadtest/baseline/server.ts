/**
 * The row-lock BASELINE: the classic synchronous design, kept ONLY as a benchmark comparator.
 * It is never on the product's path (nothing outside loadtest/ imports it) and exists so the
 * bench can say how much the ordered design buys on the same machine, data and load.
 *
 * Per POST /v1/transfers, in one Postgres transaction through PgBouncer:
 *   BEGIN; row-lock both accounts with one SELECT (in id order, so two transfers between
 *   the same pair cannot deadlock); check owner, status, currency, funds; INSERT the transfer
 *   (ON CONFLICT: a replay of the Idempotency-Key); UPDATE both balances; INSERT two
 *   entries; COMMIT; answer 201 with the terminal status.
 *
 * It speaks the subset of docs/api.md the k6 scenarios use (accounts, deposits, transfers,
 * transfer/balance/entries reads), verifies the same HS256 tokens with the same verifier and
 * validates bodies with the same zod schemas as the ingest API, so the HTTP side costs about
 * the same and the difference is the data path. Tables: the project's own schema
 * (packages/postgres migrations) in a database of its own.
 *
 *   DATABASE_URL=postgres://...:16432/ledgerline_bench_base BASELINE_PORT=18090 \
 *     node --import tsx loadtest/baseline/server.ts
 */
import { createHash } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Pool, PoolClient } from 'pg';
import { type AuthContext, AuthError, TokenVerifier, canRead, canWrite, isAdmin } from '@ledgerline/auth';
import { accountIdFor, externalAccountId, transferIdFor } from '@ledgerline/domain';
import { createPool, inTransaction, isRetryablePgError } from '@ledgerline/postgres';
import { createAccountBody, idempotencyKeyHeader, movementBody, transferBody } from '@ledgerline/schemas';

const config = {
  port: boundedInt('BASELINE_PORT', 18090, 1, 65535),
  databaseUrl: process.env.DATABASE_URL ?? 'postgres://ledgerline:ledgerline@127.0.0.1:16432/ledgerline_bench_base',
  jwtSecret: process.env.JWT_SECRET ?? 'dev-secret-change-me',
  /** Client connections; PgBouncer's pool (default_pool_size 40) is the real cap. */
  pgConnectionsMax: boundedInt('BASELINE_PG_CONNECTIONS_MAX', 32, 1, 200),
  /** A transaction that fails with a retryable code (deadlock, serialization) is retried this often. */
  retryAttemptsMax: boundedInt('BASELINE_RETRY_ATTEMPTS_MAX', 3, 0, 10),
  entriesPageMax: 500,
};

function boundedInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name}=${raw}: must be an integer in ${min}..${max}`);
  return value;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

interface LockedAccount {
  id: string;
  owner: string;
  kind: string;
  currency: string;
  status: string;
  overdraftLimit: bigint | null;
  balance: bigint;
  seq: bigint;
}

interface Movement {
  id: string;
  kind: 'TRANSFER' | 'DEPOSIT';
  fromAccountId: string;
  toAccountId: string;
  amount: bigint;
  currency: string;
  principal: string;
  admin: boolean;
  requestHash: string;
  description: string | null;
}

type TransferResource = Record<string, string>;

// ---------------------------------------------------------------------------------------------
// SQL (plain, $n parameters, never `name:`: PgBouncer transaction mode)
// ---------------------------------------------------------------------------------------------

// Benchmark comparator only, never the product's path: this row lock is exactly what the
// ordered design (one writer per partition) avoids; the baseline needs it to stay correct.
const LOCK_ACCOUNTS_SQL = `SELECT id, owner, kind, currency, status, overdraft_limit, balance, seq FROM accounts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`;

const INSERT_TRANSFER_SQL = `INSERT INTO transfers (id, kind, status, reason, from_account_id, to_account_id, amount,
     currency, principal, request_hash, description, source_partition, created_at, completed_at)
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, now(), now())
   ON CONFLICT (id) DO NOTHING
   RETURNING ${transferColumns()}`;

const MOVE_BALANCES_SQL = `UPDATE accounts AS a SET balance = u.balance, seq = u.seq, updated_at = now()
   FROM unnest($1::uuid[], $2::int8[], $3::int8[]) AS u(id, balance, seq)
  WHERE a.id = u.id`;

const INSERT_ENTRIES_SQL = `INSERT INTO entries (account_id, seq, transfer_id, leg, amount, balance_after, currency, partition)
   SELECT account_id, seq, $3::uuid, leg, amount, balance_after, $4, 0
     FROM unnest($1::uuid[], $2::int8[], $5::text[], $6::int8[], $7::int8[]) AS t(account_id, seq, leg, amount, balance_after)`;

function transferColumns(): string {
  return `id, kind, status, reason, from_account_id, to_account_id, amount::text AS amount, currency, request_hash,
          description, created_at, completed_at`;
}

// ---------------------------------------------------------------------------------------------
// The synchronous money path
// ---------------------------------------------------------------------------------------------

async function applyMovement(pool: Pool, movement: Movement): Promise<{ created: boolean; resource: TransferResource }> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await inTransaction(pool, (client) => applyInTransaction(client, movement));
    } catch (error) {
      if (attempt >= config.retryAttemptsMax || !isRetryablePgError(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * (attempt + 1)));
    }
  }
}

async function applyInTransaction(client: PoolClient, m: Movement): Promise<{ created: boolean; resource: TransferResource }> {
  const locked = await client.query(LOCK_ACCOUNTS_SQL, [[m.fromAccountId, m.toAccountId]]);
  const byId = new Map<string, LockedAccount>(locked.rows.map((r) => [r.id as string, parseLocked(r)]));
  const from = byId.get(m.fromAccountId);
  const to = byId.get(m.toAccountId);
  const reason = refusal(m, from, to);
  const inserted = await client.query(INSERT_TRANSFER_SQL, [
    m.id,
    m.kind,
    reason ? 'REJECTED' : 'COMPLETED',
    reason,
    m.kind === 'TRANSFER' ? m.fromAccountId : null,
    m.toAccountId,
    m.amount.toString(),
    m.currency,
    m.principal,
    m.requestHash,
    m.description,
  ]);
  if (!inserted.rows[0]) {
    // A replay (or a concurrent copy that committed first, which the row lock made us wait for).
    const existing = await client.query(`SELECT ${transferColumns()} FROM transfers WHERE id = $1`, [m.id]);
    const row = existing.rows[0];
    if (!row) throw new Error(`transfer ${m.id} conflicted but cannot be read`);
    if (row.request_hash !== m.requestHash) {
      throw new HttpError(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different body');
    }
    return { created: false, resource: toResource(row) };
  }
  if (!reason && from && to) {
    const fromAfter = from.balance - m.amount;
    const toAfter = to.balance + m.amount;
    await client.query(MOVE_BALANCES_SQL, [
      [from.id, to.id],
      [fromAfter.toString(), toAfter.toString()],
      [(from.seq + 1n).toString(), (to.seq + 1n).toString()],
    ]);
    await client.query(INSERT_ENTRIES_SQL, [
      [from.id, to.id],
      [(from.seq + 1n).toString(), (to.seq + 1n).toString()],
      m.id,
      m.currency,
      ['DEBIT', 'CREDIT'],
      [(-m.amount).toString(), m.amount.toString()],
      [fromAfter.toString(), toAfter.toString()],
    ]);
  }
  return { created: true, resource: toResource(inserted.rows[0]) };
}

/** The same refusals, in the same order, as the domain's apply (packages/domain/src/apply.ts). */
function refusal(m: Movement, from: LockedAccount | undefined, to: LockedAccount | undefined): string | null {
  if (m.kind === 'DEPOSIT' && !from) throw new Error(`external account ${m.fromAccountId} is missing`);
  if (m.kind === 'TRANSFER') {
    if (!from || from.kind !== 'USER') return 'ACCOUNT_NOT_FOUND';
    if (!m.admin && from.owner !== m.principal) return 'FORBIDDEN';
    if (from.status !== 'OPEN') return 'ACCOUNT_CLOSED';
    if (from.currency !== m.currency) return 'CURRENCY_MISMATCH';
    if (from.overdraftLimit !== null && from.balance - m.amount < -from.overdraftLimit) return 'INSUFFICIENT_FUNDS';
  }
  if (!to || to.kind !== 'USER') return m.kind === 'DEPOSIT' ? 'ACCOUNT_NOT_FOUND' : 'DESTINATION_NOT_FOUND';
  if (to.status !== 'OPEN') return 'ACCOUNT_CLOSED';
  if (to.currency !== m.currency) return 'CURRENCY_MISMATCH';
  return null;
}

function parseLocked(r: Record<string, unknown>): LockedAccount {
  return {
    id: String(r.id),
    owner: String(r.owner),
    kind: String(r.kind),
    currency: String(r.currency),
    status: String(r.status),
    overdraftLimit: r.overdraft_limit === null ? null : BigInt(String(r.overdraft_limit)),
    balance: BigInt(String(r.balance)),
    seq: BigInt(String(r.seq)),
  };
}

function toResource(row: Record<string, unknown>): TransferResource {
  const resource: TransferResource = {
    id: String(row.id),
    kind: String(row.kind),
    status: String(row.status),
    amount: String(row.amount),
    currency: String(row.currency),
    created_at: (row.created_at as Date).toISOString(),
  };
  if (row.reason) resource.reason = String(row.reason);
  if (row.from_account_id) resource.from_account_id = String(row.from_account_id);
  if (row.to_account_id) resource.to_account_id = String(row.to_account_id);
  if (row.description) resource.description = String(row.description);
  if (row.completed_at) resource.completed_at = (row.completed_at as Date).toISOString();
  return resource;
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

type Handler = (req: Request, res: Response, auth: AuthContext) => Promise<void>;

function main(): void {
  const pool = createPool({
    connectionString: config.databaseUrl,
    connectionsMax: config.pgConnectionsMax,
    connectTimeoutMs: 5_000,
    applicationName: 'bench-baseline',
  });
  const verifier = new TokenVerifier({ hs256Secret: config.jwtSecret });
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16kb' }));

  const route =
    (need: (auth: AuthContext) => boolean, handler: Handler) =>
    (req: Request, res: Response, next: NextFunction): void => {
      verifier
        .verifyToken(req.header('authorization'))
        .then((auth) => {
          if (!need(auth)) throw new HttpError(403, 'FORBIDDEN', 'token lacks the scope for this operation');
          return handler(req, res, auth);
        })
        .catch(next);
    };

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', role: 'baseline' });
  });

  app.post(
    '/v1/accounts',
    route(canWrite, async (req, res, auth) => {
      const key = parseKey(req);
      const body = parse(createAccountBody, req.body);
      const id = accountIdFor(auth.principal, key);
      const result = await pool.query(
        `INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, metadata, request_hash)
         VALUES ($1, $2, 'USER', $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING created_at`,
        [id, auth.principal, body.currency, body.overdraft_limit, body.metadata, hashOf(req.body)],
      );
      const row = result.rows[0] ?? (await pool.query('SELECT created_at FROM accounts WHERE id = $1', [id])).rows[0];
      res.status(result.rows[0] ? 201 : 200).json({
        id,
        owner: auth.principal,
        currency: body.currency,
        overdraft_limit: body.overdraft_limit,
        status: 'OPEN',
        created_at: (row.created_at as Date).toISOString(),
      });
    }),
  );

  app.post(
    '/v1/deposits',
    route(isAdmin, async (req, res, auth) => {
      const key = parseKey(req);
      const body = parse(movementBody, req.body);
      const external = externalAccountId(0, body.currency);
      await pool.query(
        `INSERT INTO accounts (id, owner, kind, currency, overdraft_limit, status) VALUES ($1, 'system', 'EXTERNAL', $2, NULL, 'OPEN')
         ON CONFLICT (id) DO NOTHING`,
        [external, body.currency],
      );
      const { created, resource } = await applyMovement(pool, {
        id: transferIdFor(auth.principal, key),
        kind: 'DEPOSIT',
        fromAccountId: external,
        toAccountId: body.account_id,
        amount: BigInt(body.amount),
        currency: body.currency,
        principal: auth.principal,
        admin: true,
        requestHash: hashOf(req.body),
        description: null,
      });
      delete resource.from_account_id;
      res.status(created ? 201 : 200).location(`/v1/transfers/${resource.id}`).json(resource);
    }),
  );

  app.post(
    '/v1/transfers',
    route(canWrite, async (req, res, auth) => {
      const key = parseKey(req);
      const body = parse(transferBody, req.body);
      const { created, resource } = await applyMovement(pool, {
        id: transferIdFor(auth.principal, key),
        kind: 'TRANSFER',
        fromAccountId: body.from_account_id.toLowerCase(),
        toAccountId: body.to_account_id.toLowerCase(),
        amount: BigInt(body.amount),
        currency: body.currency,
        principal: auth.principal,
        admin: isAdmin(auth),
        requestHash: hashOf(req.body),
        description: body.description ?? null,
      });
      res.status(created ? 201 : 200).location(`/v1/transfers/${resource.id}`).json(resource);
    }),
  );

  // Synchronous: a transfer is terminal as soon as it exists, so wait_ms never has to wait.
  app.get(
    '/v1/transfers/:id',
    route(canRead, async (req, res) => {
      const id = uuidParam(req);
      const result = await pool.query(`SELECT ${transferColumns()} FROM transfers WHERE id = $1`, [id]);
      if (!result.rows[0]) throw new HttpError(404, 'NOT_FOUND', 'no such transfer');
      res.json(toResource(result.rows[0]));
    }),
  );

  app.get(
    '/v1/accounts/:id/balance',
    route(canRead, async (req, res, auth) => {
      const id = uuidParam(req);
      const result = await pool.query('SELECT id, owner, currency, balance::text AS balance, seq::text AS seq FROM accounts WHERE id = $1', [id]);
      const row = result.rows[0];
      if (!row || (!isAdmin(auth) && row.owner !== auth.principal)) throw new HttpError(404, 'NOT_FOUND', 'no such account');
      res.json({ account_id: row.id, currency: row.currency, balance: row.balance, available: row.balance, version: row.seq, as_of: new Date().toISOString() });
    }),
  );

  app.get(
    '/v1/accounts/:id/entries',
    route(canRead, async (req, res, auth) => {
      const id = uuidParam(req);
      const limit = Math.min(Math.max(Number(req.query.limit ?? 50) || 50, 1), config.entriesPageMax);
      const owner = await pool.query('SELECT owner FROM accounts WHERE id = $1', [id]);
      if (!owner.rows[0] || (!isAdmin(auth) && owner.rows[0].owner !== auth.principal)) throw new HttpError(404, 'NOT_FOUND', 'no such account');
      const result = await pool.query(
        `SELECT transfer_id, amount::text AS amount, balance_after::text AS balance_after, seq::text AS seq, created_at
           FROM entries WHERE account_id = $1 ORDER BY seq DESC LIMIT $2`,
        [id, limit],
      );
      res.json({
        entries: result.rows.map((r) => ({ ...r, created_at: (r.created_at as Date).toISOString() })),
        next_cursor: null,
      });
    }),
  );

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof HttpError) {
      res.status(error.status).json({ error: { code: error.code, message: error.message, details: error.details } });
    } else if (error instanceof AuthError) {
      res.status(401).json({ error: { code: error.code, message: error.message } });
    } else if (isRetryablePgError(error)) {
      res.status(503).set('Retry-After', '1').json({ error: { code: 'UNAVAILABLE', message: (error as Error).message } });
    } else if ((error as { type?: string }).type === 'entity.parse.failed') {
      res.status(400).json({ error: { code: 'VALIDATION_FAILED', message: 'body is not JSON' } });
    } else {
      process.stderr.write(`baseline: ${(error as Error).stack ?? String(error)}\n`);
      res.status(500).json({ error: { code: 'INTERNAL', message: 'internal error' } });
    }
  });

  const server = app.listen(config.port, '127.0.0.1', () => {
    process.stdout.write(`baseline (row locks, comparator only) listening on http://127.0.0.1:${config.port}\n`);
  });
  server.keepAliveTimeout = 65_000;
  const stop = () => {
    server.close();
    void pool.end().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } }, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new HttpError(
    400,
    'VALIDATION_FAILED',
    'request body is invalid',
    parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  );
}

function parseKey(req: Request): string {
  const parsed = idempotencyKeyHeader.safeParse(req.header('idempotency-key') ?? '');
  if (!parsed.success) throw new HttpError(400, 'VALIDATION_FAILED', parsed.error.issues[0]?.message ?? 'bad Idempotency-Key');
  return parsed.data;
}

function uuidParam(req: Request): string {
  const id = String(req.params.id ?? '').toLowerCase();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) throw new HttpError(404, 'NOT_FOUND', 'no such resource');
  return id;
}

function hashOf(body: unknown): string {
  return createHash('sha256').update(JSON.stringify(body ?? null)).digest('hex');
}

main();
