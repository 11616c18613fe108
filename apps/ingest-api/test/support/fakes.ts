/**
 * In-memory stand-ins for the app's ports, for unit tests of the HTTP layer only. They
 * imitate the contracts (Postgres rows as pg returns them, SET NX claims, a publisher that
 * acks or fails); the real adapters are exercised by the integration tests.
 */
import type { Pool } from 'pg';
import { RoutingTable } from '@ledgerline/domain';
import type { AcceptedTransfer, CachedBalance, ClaimResult, WaitHandle } from '@ledgerline/redis';
import { buildApp } from '../../src/app';
import { type ApiConfig, loadApiConfig } from '../../src/config';
import type { CommandPublisher, OutgoingCommand, RedisPorts } from '../../src/ports';

export const SECRET = 'unit-test-secret';

type Row = Record<string, unknown>;

export class FakePool {
  readonly accounts = new Map<string, Row>();
  readonly transfers = new Map<string, Row>();
  failing: Error | null = null;

  addAccount(id: string, owner: string, options: { currency?: string; balance?: bigint; seq?: bigint } = {}): void {
    this.accounts.set(id, {
      id,
      owner,
      kind: 'USER',
      currency: options.currency ?? 'USD',
      overdraft_limit: '0',
      status: 'OPEN',
      metadata: {},
      request_hash: 'x',
      balance: String(options.balance ?? 0n),
      seq: String(options.seq ?? 0n),
      created_at: new Date('2024-01-01T00:00:00Z'),
      updated_at: new Date('2024-01-02T00:00:00Z'),
    });
  }

  async query(sql: string, params: unknown[] = []): Promise<{ rows: Row[]; rowCount: number }> {
    if (this.failing) throw this.failing;
    const rows = this.answer(sql.replace(/\s+/g, ' '), params);
    return { rows, rowCount: rows.length };
  }

  private answer(sql: string, params: unknown[]): Row[] {
    if (sql === 'SELECT 1') return [{ '?column?': 1 }];
    if (sql.includes('FROM transfers WHERE id = $1')) return this.pick(this.transfers, [params[0]]);
    if (sql.includes('FROM transfers WHERE id = ANY')) return this.pick(this.transfers, params[0] as string[]).filter((r) => r.status !== 'PROCESSING');
    if (sql.includes('FROM accounts WHERE id = $1')) return this.pick(this.accounts, [params[0]]);
    if (sql.includes('FROM accounts WHERE id = ANY')) return this.pick(this.accounts, params[0] as string[]);
    if (sql.startsWith('INSERT INTO accounts')) {
      const [id, owner, currency, overdraftLimit, metadata, requestHash] = params as [string, string, string, string, Row, string];
      if (this.accounts.has(id)) return [];
      this.addAccount(id, owner, { currency });
      Object.assign(this.accounts.get(id)!, { overdraft_limit: overdraftLimit, metadata, request_hash: requestHash });
      return [this.accounts.get(id)!];
    }
    if (sql.includes('FROM entries')) return [];
    throw new Error(`FakePool: unexpected SQL ${sql}`);
  }

  private pick(map: Map<string, Row>, ids: unknown[]): Row[] {
    return ids.map((id) => map.get(String(id))).filter((r): r is Row => r !== undefined);
  }
}

export class FakeRedis implements RedisPorts {
  readonly claims = new Map<string, { requestHash: string; transferId: string }>();
  readonly acceptedRecords = new Map<string, AcceptedTransfer>();
  readonly cached = new Map<string, CachedBalance>();
  down = false;

  private check(): void {
    if (this.down) throw new Error('Stream isn\'t writeable and enableOfflineQueue options is false');
  }

  balances = {
    refresh: async (list: CachedBalance[]) => {
      this.check();
      for (const b of list) {
        const stored = this.cached.get(b.accountId);
        if (!stored || stored.seq < b.seq) this.cached.set(b.accountId, b);
      }
    },
    read: async (id: string) => {
      this.check();
      return this.cached.get(id) ?? null;
    },
  };

  idempotency = {
    claim: async (principal: string, key: string, requestHash: string, transferId: string): Promise<ClaimResult> => {
      this.check();
      const existing = this.claims.get(`${principal}|${key}`);
      if (existing) return { claimed: false, ...existing };
      this.claims.set(`${principal}|${key}`, { requestHash, transferId });
      return { claimed: true };
    },
    release: async (principal: string, key: string) => {
      this.check();
      this.claims.delete(`${principal}|${key}`);
    },
  };

  accepted = {
    putAccepted: async (record: AcceptedTransfer) => {
      this.check();
      this.acceptedRecords.set(record.id, record);
    },
    getAccepted: async (id: string) => {
      this.check();
      return this.acceptedRecords.get(id) ?? null;
    },
  };

  waiter = {
    waiting: 0,
    register: (_id: string): WaitHandle | null => ({ until: async () => 'timeout', cancel: () => undefined }),
  };

  ping = async () => this.check();
}

export class FakePublisher implements CommandPublisher {
  readonly sent: OutgoingCommand[] = [];
  failWith: Error | null = null;

  async publish(message: OutgoingCommand): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.sent.push(message);
  }
}

export function buildTestApp(env: Record<string, string> = {}) {
  const config: ApiConfig = loadApiConfig({ JWT_SECRET: SECRET, KAFKA_TOPIC_PREFIX: 'unit', ...env });
  const pool = new FakePool();
  const redis = new FakeRedis();
  const publisher = new FakePublisher();
  const routing = RoutingTable.initial(8);
  const logs: string[] = [];
  const app = buildApp({
    config,
    pool: pool as unknown as Pool,
    redis,
    publisher,
    routing: { current: () => routing },
    clock: () => new Date('2025-01-01T00:00:00.000Z'),
    log: (line) => logs.push(line),
  });
  return { app, config, pool, redis, publisher, routing, logs };
}
