/**
 * The single writer of one partition: applies its commands in offset order, a chunk at a
 * time, each chunk in ONE Postgres transaction.
 *
 * States:  released --claim (epoch+1, read next_offset)--> owning
 *          owning --chunk committed--> owning (next_offset advanced, account cache updated)
 *          owning --fenced | rebalance--> released (cache dropped: someone else may write)
 *
 * Exactly-once (docs/design.md, invariant 3): messages below the stored next_offset were applied
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
  dedupeKeyOf,
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

/** What happens after a commit; best effort, never the truth (docs/design.md, invariant 9). */
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

/** What the consumer loop wants to hear while a fetched batch is applied. */
export interface ApplyProgress {
  /** False once the consumer stops or the batch went stale (rebalance): apply no more pieces. */
  isActive(): boolean;
  /** Before each commit (the outbox relay's backpressure). */
  beforeCommit(): Promise<void>;
  /** After each commit, with the partition's new next offset (resolve it in Kafka, heartbeat). */
  committed(nextOffset: bigint): Promise<void>;
}

const IDLE_PROGRESS: ApplyProgress = {
  isActive: () => true,
  beforeCommit: async () => undefined,
  committed: async () => undefined,
};

/** The piece being committed while the next one is prepared: what the database may not show yet. */
interface Ahead {
  /** Account states after it. */
  accounts: ReadonlyMap<string, AccountState>;
  /** Dedupe keys of the commands it applied (forwarded ones excluded: their owner dedupes them). */
  appliedKeys: readonly string[];
}

interface PreparedPiece {
  started: number;
  generation: number;
  now: string;
  /** Messages of the input this piece covers (up to and including a FENCE). */
  taken: number;
  fromOffset: bigint;
  toOffset: bigint;
  known: Map<string, AccountState>;
  effects: BatchEffects;
  outbox: OutboxRowInput[];
  fence: { moveIds: bigint[] } | null;
  appliedKeys: string[];
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
    /** Commands per Postgres transaction at most. */
    private readonly chunkCommandsMax: number,
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

  /**
   * Applies `messages` (one fetched Kafka batch of this partition) in chunks of at most
   * `chunkCommandsMax`, each chunk cut again after a FENCE marker, each piece one Postgres
   * transaction. Two pieces overlap: while piece N is being written, piece N+1 is decoded,
   * read and applied in memory against the state N leaves behind (see `Ahead`). Commits stay
   * strictly one after another, in offset order; a piece is only ever committed after the
   * one before it, and a failure of N discards N+1 unwritten.
   */
  async apply(messages: readonly RawMessage[], progress: ApplyProgress = IDLE_PROGRESS): Promise<ApplyResult> {
    const claim = this.claim ?? (await this.takeClaim());
    const fresh = messages.filter((m) => BigInt(m.offset) >= claim.nextOffset);
    if (fresh.length === 0) return { kind: 'applied', nextOffset: claim.nextOffset };
    const firstOffset = BigInt(fresh[0]!.offset);
    if (firstOffset > claim.nextOffset) return { kind: 'seek', offset: claim.nextOffset };
    let committing: Promise<void> | null = null;
    try {
      let ahead: Ahead | null = null;
      let fromOffset = claim.nextOffset;
      for (let rest = fresh; rest.length > 0 && progress.isActive(); ) {
        const piece = await this.prepare(rest.slice(0, this.chunkCommandsMax), fromOffset, ahead);
        if (committing) await committing;
        await progress.beforeCommit();
        committing = this.commit(claim, piece, progress);
        // Observed here so a failure while the next piece is prepared is not an unhandled
        // rejection; it is rethrown where `committing` is awaited.
        committing.catch(() => undefined);
        rest = rest.slice(piece.taken);
        fromOffset = piece.toOffset;
        if (piece.fence) {
          // The fence changes the routing the next piece must be applied with: no overlap.
          await committing;
          committing = null;
          ahead = null;
        } else {
          ahead = { accounts: new Map(piece.effects.accounts.map((a) => [a.id, a])), appliedKeys: piece.appliedKeys };
        }
      }
      if (committing) await committing;
      return { kind: 'applied', nextOffset: claim.nextOffset };
    } catch (error) {
      // Never leave a commit running unobserved: its outcome decides the claim's offset.
      const commitError = committing ? await committing.then(() => null, (e: unknown) => e) : null;
      const failure = commitError ?? error;
      if (failure instanceof FencedError) {
        this.ports.log(`partition ${this.partition}: ${failure.message}; releasing`);
        this.release();
        return { kind: 'fenced' };
      }
      throw failure;
    }
  }

  private async takeClaim(): Promise<PartitionClaim> {
    const claim = await claimPartition(this.ports.pool, this.topic, this.partition, this.owner);
    this.accounts.clear();
    this.claim = claim;
    this.ports.log(`partition ${this.partition}: claimed epoch ${claim.epoch}, resuming at offset ${claim.nextOffset}`);
    return claim;
  }

  /**
   * Decodes messages up to and including the first FENCE marker, reads what they need and
   * applies them in memory: everything of a piece but the write. `ahead` is the piece being
   * committed right now, whose effects the database may not show yet.
   */
  private async prepare(all: readonly RawMessage[], fromOffset: bigint, ahead: Ahead | null): Promise<PreparedPiece> {
    const started = Date.now();
    const generation = this.generation;
    const now = this.ports.now().toISOString();
    const { batch, taken } = decodeSegment(this.topic, this.partition, all, now);
    const { commands, deadLetters, fence } = batch;
    const routing = await this.currentRouting(commands);
    const partitionOf = (id: string) => routing.partitionOf(id);

    const known = await this.accountsFor(accountsNamed(commands, this.partition, partitionOf), ahead?.accounts);
    const candidates = dedupeCandidates(commands);
    const alreadyApplied = await loadAppliedKeys(this.ports.pool, candidates.transferIds, candidates.legs);
    if (ahead) for (const key of ahead.appliedKeys) alreadyApplied.add(key);
    // Pure: may throw InvariantViolation, which must stop the worker before any write.
    const effects = applyBatch({ partition: this.partition, now, accounts: known, partitionOf, alreadyApplied }, commands);
    const appliedKeys = commands.filter((_, i) => effects.outcomes[i]!.result !== 'FORWARDED').map(dedupeKeyOf);
    return {
      started,
      generation,
      now,
      taken,
      fromOffset,
      toOffset: BigInt(all[taken - 1]!.offset) + 1n,
      known,
      effects,
      outbox: outboxRows(effects, deadLetters),
      fence,
      appliedKeys,
    };
  }

  /** Writes a prepared piece; only called once the piece before it has committed. */
  private async commit(claim: PartitionClaim, piece: PreparedPiece, progress: ApplyProgress): Promise<void> {
    const { fromOffset, toOffset, effects, known, outbox, fence } = piece;
    // One statement, so one transaction: effects, offset, epoch check and outbox commit together.
    const published = await writeBatch(this.ports.pool, { claim, fromOffset, toOffset, effects, before: known, outbox, fenceMoveIds: fence?.moveIds });

    claim.nextOffset = toOffset;
    if (piece.generation === this.generation) this.remember(known, effects.accounts);
    this.ports.afterCommit?.(this.partition, { commands: piece.taken, effects, durationMs: Date.now() - piece.started });
    this.afterCommit(effects, published, piece.now);
    if (fence) {
      // The moved buckets are no longer ours: forget their accounts and route by the new table.
      this.accounts.clear();
      await this.ports.refreshRouting();
      this.ports.log(`partition ${this.partition}: applied fence for moves ${fence.moveIds.join(', ')}`);
    }
    await progress.committed(toOffset);
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

  /**
   * States after the piece being committed (`pending`), else cached ones, plus one query for
   * the rest; absent ids do not exist (yet). The piece being committed is the only writer of
   * these accounts, so whatever it did not touch is as the database has it.
   */
  private async accountsFor(ids: readonly string[], pending?: ReadonlyMap<string, AccountState>): Promise<Map<string, AccountState>> {
    const known = new Map<string, AccountState>();
    const missing: string[] = [];
    for (const id of ids) {
      const cached = pending?.get(id) ?? this.accounts.get(id);
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
