/**
 * The single writer of one partition: applies its commands in offset order, a chunk at a
 * time, each chunk in ONE Postgres transaction.
 *
 * States:  released --claim (epoch+1, read next_offset)--> owning
 *          owning --chunk committed--> owning (next_offset advanced, account cache updated)
 *          owning --fenced | rebalance--> released (cache dropped: someone else may write)
 *
 * Exactly-once (DESIGN.md invariant 3): messages below the stored next_offset were applied
 * by an earlier commit and are skipped; Kafka's own committed offset is only a hint for
 * where to fetch from. A chunk that does not start at next_offset asks the consumer to seek.
 */
import type { Pool } from 'pg';
import {
  type AccountState,
  type BatchEffects,
  type Command,
  type RoutingTable,
  applyBatch,
  subjectAccountOf,
} from '@ledgerline/domain';
import {
  type OutboxRow,
  type OutboxRowInput,
  type PartitionClaim,
  FencedError,
  claimPartition,
  loadAccountStates,
  loadAppliedKeys,
  writeBatch,
} from '@ledgerline/postgres';
import { encodeCommand, toEventMessage } from '@ledgerline/schemas';
import { type RawMessage, accountsNamed, decodeSegment, dedupeCandidates } from './batch-input';

export interface CachedBalance {
  accountId: string;
  currency: string;
  balance: bigint;
  seq: bigint;
  asOf: string;
}

/** What happens after a commit; best effort, never the truth (DESIGN.md invariant 9). */
export interface PostCommitPorts {
  refreshBalances(balances: CachedBalance[]): Promise<void>;
  publishTerminal(transferIds: string[]): Promise<void>;
  relay(partition: number, rows: OutboxRow[]): void;
}

export interface ApplierPorts {
  pool: Pool;
  routing(): RoutingTable;
  /** Reloads the routing table now if its version changed (after a fence, before a forward). */
  refreshRouting(): Promise<RoutingTable>;
  postCommit: PostCommitPorts;
  now(): Date;
  /** Called right after each Postgres commit (metrics, fault injection). */
  afterCommit?(partition: number, committed: { commands: number; effects: BatchEffects; durationMs: number }): void;
  log(message: string): void;
}

export type ApplyResult =
  | { kind: 'applied'; nextOffset: bigint }
  | { kind: 'seek'; offset: bigint }
  | { kind: 'fenced' };

export class PartitionApplier {
  private claim: PartitionClaim | null = null;
  private readonly accounts = new Map<string, AccountState>();
  private generation = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly owner: string,
    private readonly ports: ApplierPorts,
    private readonly accountCacheMax: number,
  ) {}

  get nextOffset(): bigint | null {
    return this.claim?.nextOffset ?? null;
  }

  get epoch(): bigint | null {
    return this.claim?.epoch ?? null;
  }

  /** Drop cached accounts (the routing changed: some may belong to another partition now). */
  forgetAccounts(): void {
    this.accounts.clear();
    this.generation++; // a segment in flight must not put back what it loaded before
  }

  /** Forget ownership: the next chunk claims the partition afresh (and bumps its epoch). */
  release(): void {
    this.claim = null;
    this.accounts.clear();
    this.generation++;
  }

  async apply(messages: readonly RawMessage[]): Promise<ApplyResult> {
    const claim = this.claim ?? (await this.takeClaim());
    const fresh = messages.filter((m) => BigInt(m.offset) >= claim.nextOffset);
    if (fresh.length === 0) return { kind: 'applied', nextOffset: claim.nextOffset };
    const firstOffset = BigInt(fresh[0]!.offset);
    if (firstOffset > claim.nextOffset) return { kind: 'seek', offset: claim.nextOffset };
    try {
      for (let rest = fresh; rest.length > 0; ) {
        const taken = await this.applySegment(claim, rest);
        rest = rest.slice(taken);
      }
      return { kind: 'applied', nextOffset: claim.nextOffset };
    } catch (error) {
      if (error instanceof FencedError) {
        this.ports.log(`partition ${this.partition}: ${error.message}; releasing`);
        this.release();
        return { kind: 'fenced' };
      }
      throw error;
    }
  }

  private async takeClaim(): Promise<PartitionClaim> {
    const claim = await claimPartition(this.ports.pool, this.topic, this.partition, this.owner);
    this.accounts.clear();
    this.claim = claim;
    this.ports.log(`partition ${this.partition}: claimed epoch ${claim.epoch}, resuming at offset ${claim.nextOffset}`);
    return claim;
  }

  /** Applies messages up to and including the first FENCE marker; returns how many. */
  private async applySegment(claim: PartitionClaim, all: readonly RawMessage[]): Promise<number> {
    const started = Date.now();
    const generation = this.generation;
    const now = this.ports.now().toISOString();
    const { batch, taken } = decodeSegment(this.topic, this.partition, all, now);
    const messages = all.slice(0, taken);
    const { commands, deadLetters, fence } = batch;
    const routing = await this.currentRouting(commands);
    const partitionOf = (id: string) => routing.partitionOf(id);

    const known = await this.accountsFor(accountsNamed(commands, this.partition, partitionOf));
    const candidates = dedupeCandidates(commands);
    const alreadyApplied = await loadAppliedKeys(this.ports.pool, candidates.transferIds, candidates.legs);
    // Pure: may throw InvariantViolation, which must stop the worker before any write.
    const effects = applyBatch({ partition: this.partition, now, accounts: known, partitionOf, alreadyApplied }, commands);

    const outbox = outboxRows(effects, deadLetters);
    const fromOffset = claim.nextOffset;
    const toOffset = BigInt(messages[messages.length - 1]!.offset) + 1n;
    // One statement, so one transaction: effects, offset, epoch check and outbox commit together.
    const published = await writeBatch(this.ports.pool, { claim, fromOffset, toOffset, effects, before: known, outbox, fenceMoveIds: fence?.moveIds });

    claim.nextOffset = toOffset;
    if (generation === this.generation) this.remember(known, effects.accounts);
    this.ports.afterCommit?.(this.partition, { commands: messages.length, effects, durationMs: Date.now() - started });
    this.afterCommit(effects, published, now);
    if (fence) {
      // The moved buckets are no longer ours: forget their accounts and route by the new table.
      this.accounts.clear();
      await this.ports.refreshRouting();
      this.ports.log(`partition ${this.partition}: applied fence for moves ${fence.moveIds.join(', ')}`);
    }
    return taken;
  }

  /**
   * The routing to apply with. A command that looks like another partition's is about to be
   * forwarded; first make sure the table is not merely stale (a move just fenced), or the
   * command would bounce back and overtake later ones.
   */
  private async currentRouting(commands: readonly Command[]): Promise<RoutingTable> {
    const routing = this.ports.routing();
    const foreign = commands.some((c) => routing.partitionOf(subjectAccountOf(c)) !== this.partition);
    return foreign ? this.ports.refreshRouting() : routing;
  }

  /** Cached states plus one query for the rest; absent ids do not exist (yet). */
  private async accountsFor(ids: readonly string[]): Promise<Map<string, AccountState>> {
    const known = new Map<string, AccountState>();
    const missing: string[] = [];
    for (const id of ids) {
      const cached = this.accounts.get(id);
      if (cached) known.set(id, cached);
      else missing.push(id);
    }
    for (const [id, state] of await loadAccountStates(this.ports.pool, missing)) known.set(id, state);
    return known;
  }

  private remember(loaded: ReadonlyMap<string, AccountState>, changed: readonly AccountState[]): void {
    if (this.accountCacheMax === 0) return;
    for (const [id, state] of loaded) this.accounts.set(id, state);
    for (const state of changed) {
      this.accounts.delete(state.id); // re-insert: Map order doubles as recency for eviction
      this.accounts.set(state.id, state);
    }
    for (const id of this.accounts.keys()) {
      if (this.accounts.size <= this.accountCacheMax) break;
      this.accounts.delete(id);
    }
  }

  private afterCommit(effects: BatchEffects, published: OutboxRow[], now: string): void {
    const { postCommit, log } = this.ports;
    postCommit.relay(this.partition, published);
    const balances = effects.accounts.map((a) => ({ accountId: a.id, currency: a.currency, balance: a.balance, seq: a.seq, asOf: now }));
    const terminal = [
      ...effects.newTransfers.filter((t) => t.status !== 'PROCESSING').map((t) => t.id),
      ...effects.transferStatuses.map((t) => t.id),
    ];
    // Balances first, then the wake-up: a long-poller woken by the notification reads a
    // cache that already holds the balance its transfer produced.
    void postCommit
      .refreshBalances(balances)
      .catch((error) => log(`partition ${this.partition}: balance cache refresh failed: ${(error as Error).message}`))
      .then(() => (terminal.length ? postCommit.publishTerminal(terminal) : undefined))
      .catch((error) => log(`partition ${this.partition}: status notification failed: ${(error as Error).message}`));
  }
}

function outboxRows(effects: BatchEffects, deadLetters: readonly object[]): OutboxRowInput[] {
  const rows: OutboxRowInput[] = [];
  for (const item of effects.outbox) {
    if (item.kind === 'COMMAND') {
      rows.push({ topic: 'commands', targetPartition: item.partition, key: item.key, payload: encodeCommand(item.command) });
    } else {
      rows.push({ topic: 'events', targetPartition: null, key: item.key, payload: JSON.stringify(toEventMessage(item.event)) });
    }
  }
  for (const letter of deadLetters) rows.push({ topic: 'dead-letter', targetPartition: 0, key: null, payload: JSON.stringify(letter) });
  return rows;
}
