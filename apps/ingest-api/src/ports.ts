/**
 * What the HTTP app needs from the outside world, as interfaces. app.ts depends on these
 * only; runtime.ts passes the real adapters (the Kafka port's producer, ioredis classes, pg pool),
 * and tests may pass their own.
 */
import type { BalanceFigure, RoutingTable } from '@ledgerline/domain';
import type { AcceptedLookup, AcceptedTransfer, BalanceLookup, WaitHandle } from '@ledgerline/redis';

export interface OutgoingCommand {
  topic: string;
  partition: number;
  /** The subject account id: the partition's order is per key. */
  key: string;
  value: string;
  /** Record headers: W3C trace context when tracing is on (tracing.ts); none otherwise. */
  headers?: Readonly<Record<string, string>>;
}

/** Resolves once Kafka acknowledged (acks=all); rejects with BackpressureError or BrokerUnavailableError. */
export interface CommandPublisher {
  /**
   * All of `messages` in one produce request, in order (one record batch per partition: all
   * or none of a partition's messages are appended). Resolves when all are acknowledged.
   */
  publishTogether(messages: readonly OutgoingCommand[]): Promise<void>;
}

export interface RoutingProvider {
  current(): RoutingTable;
  /**
   * The current table, held until `release`: while any request holds a table, this process
   * reports that table's version as the one it routes with, so a bucket move does not fence
   * a bucket while a request that saw it unheld may still publish to its old partition.
   */
  lease(): { table: RoutingTable; release(): void };
}

export interface BalanceCachePort {
  refresh(balances: BalanceFigure[]): Promise<void>;
  /** The account's cached figure, a miss (null), or why the entry is none of ours (BalanceCache.lookup). */
  lookup(accountId: string, currency: string): Promise<BalanceLookup>;
  /** Removes the account's entry (one lookup found malformed). */
  drop(accountId: string): Promise<void>;
}

export interface AcceptedTransfersPort {
  putAccepted(record: AcceptedTransfer): Promise<void>;
  /** Many records in one round trip (a batch's items); the same records as putAccepted each. */
  putAcceptedMany(records: readonly AcceptedTransfer[]): Promise<void>;
  /** The id's record, none (null), or why what is kept is none of ours (checked further by cached-values.ts). */
  lookupAccepted(transferId: string): Promise<AcceptedLookup>;
  /** The same for many ids in one round trip, in their order (a replayed batch's items). */
  lookupAcceptedMany(transferIds: readonly string[]): Promise<AcceptedLookup[]>;
}

export interface StatusWaiterPort {
  register(transferId: string): WaitHandle | null;
  readonly waiting: number;
}

export interface RedisPorts {
  balances: BalanceCachePort;
  accepted: AcceptedTransfersPort;
  waiter: StatusWaiterPort;
  ping(): Promise<void>;
}

/** Throws when Kafka is not ready (readiness probe). */
export type KafkaCheck = () => Promise<void>;
