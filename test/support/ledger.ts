/** Test-side helpers that talk to the real services: build commands, publish them, read outcomes. */
import { createHash, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { type ClientCommand, type Command, RoutingTable, type UpdateAccountCommand, subjectAccountOf, uuidV5 } from '@ledgerline/domain';
import { BatchingProducer } from '@ledgerline/kafka';
import { insertUserAccount, loadRouting } from '@ledgerline/postgres';
import { LOCAL_DEFAULTS } from '@ledgerline/config';
import { CommandSeal, encodeCommand } from '@ledgerline/schemas';
import type { TestTopics } from './kafka';

export async function openAccount(pool: Pool, owner: string, options: { currency?: string; overdraftLimit?: bigint } = {}): Promise<string> {
  const id = randomUUID();
  await insertUserAccount(pool, {
    id,
    owner,
    currency: options.currency ?? 'USD',
    overdraftLimit: options.overdraftLimit ?? 0n,
    metadata: {},
    requestHash: 'test',
  });
  return id;
}

/** An account id that routes to `partition`. */
export function accountOnPartition(routing: RoutingTable, partition: number, salt: string = randomUUID()): string {
  for (let i = 0; ; i++) {
    const id = uuidV5(`${salt}:${i}`);
    if (routing.partitionOf(id) === partition) return id;
  }
}

export async function openAccountOn(pool: Pool, routing: RoutingTable, partition: number, owner: string): Promise<string> {
  const id = accountOnPartition(routing, partition);
  await insertUserAccount(pool, { id, owner, currency: 'USD', overdraftLimit: 0n, metadata: {}, requestHash: 'test' });
  return id;
}

const hash = (text: string) => createHash('sha256').update(text).digest('hex');

export function deposit(accountId: string, amount: bigint, transferId = randomUUID()): ClientCommand {
  return { type: 'DEPOSIT', transferId, accountId, description: null, amount, currency: 'USD', principal: 'admin', admin: true, requestHash: hash(transferId), acceptedAt: new Date().toISOString() };
}

export function withdrawal(accountId: string, owner: string, amount: bigint, transferId = randomUUID()): ClientCommand {
  return { type: 'WITHDRAWAL', transferId, accountId, description: null, amount, currency: 'USD', principal: owner, admin: false, requestHash: hash(transferId), acceptedAt: new Date().toISOString() };
}

export function transfer(from: string, to: string, owner: string, amount: bigint, transferId = randomUUID()): ClientCommand {
  return {
    type: 'TRANSFER',
    transferId,
    fromAccountId: from,
    toAccountId: to,
    amount,
    currency: 'USD',
    principal: owner,
    admin: false,
    requestHash: hash(transferId),
    description: null,
    acceptedAt: new Date().toISOString(),
  };
}

/** A reversal of `of`, paid back by `from` (the original's destination), whose owner sends it. */
export function reversal(of: string, from: string, owner: string, amount: bigint, transferId = randomUUID()): ClientCommand {
  return { type: 'REVERSAL', transferId, reverses: of, fromAccountId: from, amount, currency: 'USD', principal: owner, admin: false, requestHash: hash(transferId), description: null, acceptedAt: new Date().toISOString() };
}

/** An owner closing its account (the one account change an owner may make unsealed). */
export function ownerClose(accountId: string, owner: string, changeId = randomUUID()): UpdateAccountCommand {
  return { type: 'UPDATE_ACCOUNT', changeId, accountId, status: 'CLOSED', overdraftLimit: null, principal: owner, admin: false, requestHash: hash(changeId), acceptedAt: new Date().toISOString() };
}

/** The key a worker started with no LEDGERLINE_COMMAND_KEY verifies operator seals with. */
export const testSeal = new CommandSeal(LOCAL_DEFAULTS.commandKey);

/** Publishes like the ingest API does: key = subject account, partition = routing. */
export class TestPublisher {
  private readonly producer: BatchingProducer;
  constructor(
    private readonly topics: TestTopics,
    private readonly routing: RoutingTable,
  ) {
    this.producer = new BatchingProducer({ kafka: topics.kafka, lingerMs: 1, batchSizeMax: 500, bufferMessagesMax: 100_000, ackTimeoutMs: 15_000 });
  }

  static async create(topics: TestTopics, pool: Pool): Promise<TestPublisher> {
    const publisher = new TestPublisher(topics, await loadRouting(pool));
    await publisher.producer.start();
    return publisher;
  }

  publish(command: Command): Promise<void> {
    const key = subjectAccountOf(command);
    return this.producer.publish({ topic: this.topics.names.commands, partition: this.routing.partitionOf(key), key, value: encodeCommand(command, testSeal) });
  }

  publishRaw(partition: number, value: string | Buffer): Promise<void> {
    return this.producer.publish({ topic: this.topics.names.commands, partition, key: 'poison', value });
  }

  stop(): Promise<void> {
    return this.producer.stop();
  }
}

export async function transferStatuses(pool: Pool, ids: readonly string[]): Promise<Map<string, { status: string; reason: string | null }>> {
  const result = await pool.query('SELECT id, status, reason FROM transfers WHERE id = ANY($1::uuid[])', [ids]);
  return new Map(result.rows.map((r) => [r.id, { status: r.status, reason: r.reason }]));
}

export async function allTerminal(pool: Pool, ids: readonly string[]): Promise<boolean> {
  const statuses = await transferStatuses(pool, ids);
  return ids.every((id) => {
    const s = statuses.get(id)?.status;
    return s === 'COMPLETED' || s === 'REJECTED';
  });
}

export async function balanceOf(pool: Pool, accountId: string): Promise<bigint> {
  const result = await pool.query('SELECT balance FROM accounts WHERE id = $1', [accountId]);
  return BigInt(result.rows[0].balance);
}
