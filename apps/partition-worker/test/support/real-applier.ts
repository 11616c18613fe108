/**
 * A PartitionApplier writing to a real database, for the worker's integration tests that drive
 * one partition's batches by hand: its commands as the consumer would hand them over, and
 * ports whose post-commit side effects do nothing unless a test gives its own.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool, QueryConfig } from 'pg';
import { type ClientCommand, type RoutingTable, systemClock } from '@ledgerline/domain';
import type { ConsumedMessage } from '@ledgerline/kafka';
import { GroupCommitWriter } from '@ledgerline/postgres';
import { encodeCommand } from '@ledgerline/schemas';
import { type ApplierPorts, PartitionApplier } from '../../src/partition-applier';
import { testSeal } from '../../../../test/support/ledger';

/** `commands` as consumed messages, at offsets from `firstOffset` on. */
export function messagesOf(commands: readonly ClientCommand[], firstOffset = 0): ConsumedMessage[] {
  return commands.map((c, i) => ({ offset: String(firstOffset + i), key: null, value: Buffer.from(encodeCommand(c, testSeal)) }));
}

/**
 * The real pool, its batch writes (`ledger_apply_batch`) sent `delayMs` late: a batch prepared
 * beside such a write reads the database before that write commits.
 */
export function slowWriting(pool: Pool, delayMs = 300): Pool {
  return new Proxy(pool, {
    get(target, property) {
      if (property !== 'query') return Reflect.get(target, property, target);
      return async (query: string | QueryConfig, values?: unknown[]) => {
        const text = typeof query === 'string' ? query : query.text;
        if (text.includes('ledger_apply_batch')) await sleep(delayMs);
        return target.query(query, values);
      };
    },
  });
}

/** Post-commit ports that do nothing. */
export const QUIET_POST_COMMIT: ApplierPorts['postCommit'] = {
  refreshBalances: async () => undefined,
  markApplied: async () => undefined,
  publishTerminal: async () => undefined,
  relay: () => undefined,
  resumeRelay: async () => undefined,
};

export interface RealApplierOptions {
  topic: string;
  routing: RoutingTable;
  /** Partition 0 unless given. */
  partition?: number;
  /** Commands per batch at most; 1,000 unless given. */
  batchCommandsMax?: number;
  /** Ports replacing the defaults (the system clock, quiet post-commit ports, no cache mark). */
  ports?: Partial<ApplierPorts>;
}

export function realApplier(pool: Pool, options: RealApplierOptions): PartitionApplier {
  const { topic, routing, partition = 0, batchCommandsMax = 1000 } = options;
  const ports: ApplierPorts = {
    pool,
    writer: new GroupCommitWriter(pool, { groupMessagesMax: 0 }),
    routing: () => routing,
    refreshRouting: async () => routing,
    clock: systemClock,
    seal: testSeal,
    log: () => undefined,
    postCommit: QUIET_POST_COMMIT,
    ...options.ports,
  };
  return new PartitionApplier(topic, partition, `${topic}-test`, ports, 1000, batchCommandsMax);
}
