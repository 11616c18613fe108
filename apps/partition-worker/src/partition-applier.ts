/**
 * The single writer of one partition: applies its commands in offset order, a batch at a
 * time, each batch in ONE Postgres transaction. A *fetch* is what Kafka returns for the
 * partition; a *batch* is what one transaction writes (a fetch holds one or more).
 *
 * States:  released --claim (epoch+1, read next_offset)--> owning
 *          owning --batch committed--> owning (next_offset advanced, account cache updated)
 *          owning --fenced | rebalance--> released (cache dropped: someone else may write)
 *
 * Exactly-once (docs/design.md, invariant 3): messages below the stored next_offset were applied
 * by an earlier commit and are skipped; Kafka's own committed offset is only a hint for
 * where to fetch from. A fetch that does not start at next_offset asks the consumer to seek.
 *
 * No command can stop the partition (docs/design.md invariant 10). A write that fails
 * deterministically (write-errors.ts) is not retried as is: the batch is bisected until the
 * one command that fails alone is found; everything before and after it is written in
 * order, and that command is isolated: put on the dead-letter topic with its original bytes,
 * offset and SQLSTATE, and, if it is a client's transfer, deposit, withdrawal, capture,
 * reversal or hold, REJECTED with UNPROCESSABLE (its client's long poll ends). A saga leg, a
 * void, an expiry or an account change gets no status (isolateUnprocessable): it is only
 * dead-lettered, and a leg's transfer stays PROCESSING with its money in transit until an
 * operator mends the cause and sends it again (ledgerctl dead-letters [redrive]; reconcile's
 * in_flight figures). A failure that even
 * a write of no commands repeats is the database's, not a command's: it is thrown as an
 * operating error for the consumer loop to retry with backoff. That is checked before a batch
 * is bisected and again before a command is blamed, which must then fail alone once more.
 */
import type { Database } from '@ledgerline/postgres';
import {
  type Clock,
  InvariantViolation,
  UnprocessableCommand,
  type AccountState,
  type BalanceFigure,
  type BatchEffects,
  type Command,
  type RoutingTable,
  applyBatch,
  balanceFigureOf,
  dedupeKeyOf,
  holdEndedKey,
  isolateUnprocessable,
  legFactsMatch,
  legFactsOf,
  noEffects,
  subjectAccountOf,
} from '@ledgerline/domain';
import {
  type BatchWriter,
  type OutboxRow,
  type WrittenBatch,
  type OutboxRowInput,
  type PartitionClaim,
  ConcurrentWriteError,
  FencedError,
  SQLSTATE_LEG_MISMATCH,
  SQLSTATE_UNIQUE_VIOLATION,
  type WriteFailureKind,
  classifyWriteFailure,
  claimIsCurrent,
  claimPartition,
  findTransfer,
  sqlStateOf,
  loadAccountStates,
  loadAppliedKeys,
  writeBatch,
} from '@ledgerline/postgres';
import { type CommandSeal, deadLetterOf, decodeCommand } from '@ledgerline/schemas';
import type { ConsumedMessage } from '@ledgerline/kafka';
import type { TraceHeaders } from '@ledgerline/tracing';
import { accountsNamed, beginsItsOwnBatch, decodeBatch, dedupeCandidates } from './batch-input';
import type { BatchTracing } from './batch-tracing';
import { type HoldLedgerAhead, holdLedgerAheadOf, readHoldLedgerState } from './hold-state';
import { outboxRowsOf } from './outbox-messages';
import { type CacheMarkPorts, PartitionCacheMark } from './cache-mark';

/** What happens after a commit; best effort, never the truth (docs/design.md, invariant 9). */
export interface PostCommitPorts {
  /** Sends its writes before it returns (the promise only reports how they went). */
  refreshBalances(balances: BalanceFigure[]): Promise<void>;
  /**
   * Replaces the API's ACCEPTED records of the transfers and holds this commit wrote with the
   * short-lived applied mark (their rows answer from now on; the mark keeps out a record the
   * API writes late). Called right after refreshBalances, before publishTerminal.
   */
  markApplied(ids: string[]): Promise<void>;
  /** Called right after refreshBalances, without waiting for it: must reach the cache after it (one connection). */
  publishTerminal(transferIds: string[]): Promise<void>;
  /** `trace`: the committing batch's context (tracing on), carried on in the rows' headers. */
  relay(partition: number, rows: OutboxRow[], trace: TraceHeaders | null): void;
  /**
   * The partition was just claimed: queue what its previous owner left unpublished ahead of
   * this owner's first rows (resolves once queued; throws when they could not be read, and
   * the claim is then not used).
   */
  resumeRelay(partition: number): Promise<void>;
}

export interface ApplierPorts {
  pool: Database;
  /** Where committed batches go: group commit across this process's partitions (group-commit.ts). */
  writer: BatchWriter;
  routing(): RoutingTable;
  /** Reloads the routing table now if its version changed (after a fence, before a forward). */
  refreshRouting(): Promise<RoutingTable>;
  postCommit: PostCommitPorts;
  /** The ledger's time: when a batch applies, whether a hold is due. */
  clock: Clock;
  /** Verifies operator seals on commands (LEDGERLINE_COMMAND_KEY); see command-seal.ts. */
  seal: CommandSeal;
  /** Called right after each Postgres commit (metrics, fault injection). */
  afterCommit?(partition: number, committed: { commands: number; effects: BatchEffects; durationMs: number }): void;
  /**
   * A message went to the dead-letter topic: `malformed` (it did not decode), `forged` (it
   * claims an authority its kind and seal do not give), `unprocessable` (its write failed)
   * or `invariant` (its apply broke an invariant in memory: a bug, INVARIANT_BROKEN_REASON).
   */
  onDeadLetter?(partition: number, reason: DeadLetterReason): void;
  /** Called when a commit was refused because another owner claimed the partition (metrics). */
  onFenced?(partition: number): void;
  /** A span per batch when tracing is on (batch-tracing.ts); null or absent: none. */
  tracing?: BatchTracing | null;
  /** The partition's cache mark (cache-mark.ts); absent: no catch-up, the mark never moves. */
  cacheMark?: CacheMarkPorts;
  log(message: string): void;
}

export type DeadLetterReason = 'malformed' | 'forged' | 'unprocessable' | 'invariant';

/**
 * How a dead letter's reason begins when its command broke an invariant in memory (a bug in
 * the apply, isolated rather than written: failureKind): still UNPROCESSABLE, so redrive and
 * the listing treat it as any other, and told apart by the runs that look for bugs (the fuzzer).
 */
export const INVARIANT_BROKEN_REASON = 'UNPROCESSABLE: broke an invariant in memory: ';

/**
 * A write failed, and a write of no commands failed the same way: the database (a broken
 * deploy, a revoked privilege, a full disk), not a command, is at fault. Retried with
 * backoff by the consumer loop, never blamed on a command.
 */
export class DatabaseWriteError extends Error {
  override readonly name = 'DatabaseWriteError';
  constructor(
    message: string,
    override readonly cause: unknown,
  ) {
    super(message);
  }
}

/**
 * A saga leg refused for its transfer's state while the worker waits for legs' sources
 * (WORKER_LEG_WAIT_FOR_SOURCE_MS: a replay into a restored database). Not a failed write:
 * the consumer loop hands the fetch back and fetches the partition again from the leg after a
 * short pause (partition-worker.ts, `leg-waits`), and the partition shows as failing its writes
 * meanwhile (readiness names it and this message).
 */
export class LegAwaitsSourceError extends Error {
  override readonly name = 'LegAwaitsSourceError';
  constructor(
    partition: number,
    offset: string,
    waitMs: number,
    override readonly cause: unknown,
  ) {
    super(`partition ${partition}: the saga leg at offset ${offset} waits for its transfer's source partition (refused: ${(cause as Error)?.message ?? String(cause)}); retried until WORKER_LEG_WAIT_FOR_SOURCE_MS (${waitMs} ms) has passed for it, then dead-lettered`);
  }
}

/**
 * A batch committed, and what follows its commit failed: the consumer's heartbeat
 * (`progress.committed`: a Kafka connection's EPIPE, a rebalance), the routing's reload after
 * a fence, or a hook. The write is not at fault and must not be taken for a failed one (a
 * bisection would write the committed offsets again): an operating error, never a command's.
 * The consumer loop retries from the claim's next offset, past the batch; `cause` is the
 * original error (a rebalance is still told by isGroupRejoin, which follows causes).
 */
export class AfterCommitError extends Error {
  override readonly name = 'AfterCommitError';
  constructor(
    partition: number,
    fromOffset: bigint,
    toOffset: bigint,
    step: string,
    override readonly cause: unknown,
  ) {
    super(`partition ${partition}: offsets ${fromOffset}..${toOffset} committed, then ${step} failed: ${(cause as Error)?.message ?? String(cause)}`);
  }
}

/** What the consumer loop wants to hear while a fetch is applied. */
export interface ApplyProgress {
  /** False once the consumer stops or the fetch went stale (rebalance): apply no more batches. */
  isActive(): boolean;
  /** Before each commit (the outbox relay's backpressure). */
  beforeCommit(): Promise<void>;
  /** After each commit, with the partition's new next offset (resolve it in Kafka, heartbeat). */
  committed(nextOffset: bigint): Promise<void>;
  /**
   * The offset Kafka read this fetch from (PartitionFetch.fetchedFrom); unknown when left out.
   * Offsets from it up to the fetch's first message hold no record a consumer is given.
   */
  readonly fetchedFrom?: bigint;
  /** Where Kafka's log of the partition ended when it answered this fetch (its high watermark); unknown when left out. */
  readonly logEnd?: bigint | null;
}

const IDLE_PROGRESS: ApplyProgress = {
  isActive: () => true,
  beforeCommit: async () => undefined,
  committed: async () => undefined,
};

/** The batch being committed while the next one is prepared: what the database may not show yet. */
interface Ahead {
  /** Account states after it. */
  accounts: ReadonlyMap<string, AccountState>;
  /** Dedupe keys of the commands it applied (forwarded ones excluded: their owner dedupes them). */
  appliedKeys: readonly string[];
  /** Holds, reversal totals and in-flight debits after it. */
  holdLedger: HoldLedgerAhead;
}

interface PreparedBatch {
  started: number;
  generation: number;
  now: string;
  /** The input it was prepared from; it covers the first `taken` (up to and including a FENCE). */
  input: readonly ConsumedMessage[];
  taken: number;
  fromOffset: bigint;
  toOffset: bigint;
  known: Map<string, AccountState>;
  effects: BatchEffects;
  outbox: OutboxRowInput[];
  fence: { moveIds: bigint[] } | null;
  appliedKeys: string[];
  /** Messages it dead-letters (in `outbox`): counted and logged once the batch commits, not at each attempt. */
  deadLetters: readonly { offset: string; kind: 'malformed' | 'forged'; reason: string }[];
}

export type ApplyResult =
  | { kind: 'applied'; nextOffset: bigint }
  | { kind: 'seek'; offset: bigint }
  /** `byAnotherOwner`: the partition's epoch moved on (someone claimed it), not a retry of our own committed write. */
  | { kind: 'fenced'; byAnotherOwner: boolean }
  /**
   * Kafka's log of the partition ends below the offset already applied: the topic was
   * recreated or truncated, and its commands would be taken for applied ones. Nothing applied.
   */
  | { kind: 'log-behind'; logEnd: bigint; nextOffset: bigint };

export class PartitionApplier {
  private claim: PartitionClaim | null = null;
  /** A claim being taken (claimOnce): the fetch path and the sweeper never take two. */
  private claiming: Promise<PartitionClaim> | null = null;
  /** release() calls so far: a claim taken across one is not kept (takeClaim). */
  private releases = 0;
  /** Another owner fenced this worker's claim in the current group generation (claimQuiet leaves it to the fetch path). */
  private fencedByAnotherOwner = false;
  /**
   * The process's routing snapshot may predate a fence this partition's log holds: set by a
   * claim (the previous owner may have applied one since this process's last reload) and by a
   * fence's commit until its reload succeeds. The next prepare reloads before deciding.
   */
  private routingOwed = true;
  private readonly accounts = new Map<string, AccountState>();
  private generation = 0;
  /**
   * Batches starting below this offset read their dedupe keys from the database first; the
   * others are applied optimistically (see `apply`).
   */
  private readKeysBelow = 0n;
  /** apply() calls in progress (nested when a fetch is applied again), and who waits for none. */
  private applying = 0;
  private readonly betweenWritesWaiters: (() => void)[] = [];
  /**
   * The claim under which an apply() threw with a write's outcome unknown (its answer lost:
   * the connection ended, the write timeout fired while the statement ran on): it may have
   * committed without its refresh. Cleared by the next commit (a retry from the same offset
   * commits only if that write did not; if it did, the retry is fenced and refreshes its
   * accounts) or by a new claim (whose catch-up covers it).
   */
  private outcomeUnknownOf: PartitionClaim | null = null;
  /** The saga leg being retried for its transfer's state (legWaitsForSource): its offset, and since when. */
  private legAwaiting: { offset: bigint; since: number } | null = null;
  private readonly cacheMark: PartitionCacheMark | null;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly owner: string,
    private readonly ports: ApplierPorts,
    /** Accounts this partition may keep in memory between batches: a number, or its current share of the process's budget. */
    accountCacheMax: number | (() => number),
    /** Commands per Postgres transaction at most. */
    private readonly batchCommandsMax: number,
    /** How long a saga leg refused for its transfer's state is retried before it is isolated (0: at once; legWaitsForSource). */
    private readonly legWaitForSourceMs = 0,
  ) {
    this.accountCacheMax = typeof accountCacheMax === 'number' ? () => accountCacheMax : accountCacheMax;
    this.cacheMark = ports.cacheMark ? new PartitionCacheMark(partition, ports.cacheMark) : null;
  }

  private readonly accountCacheMax: () => number;

  /** Accounts kept in memory now. */
  get cachedAccounts(): number {
    return this.accounts.size;
  }

  /** Drops the least recently used accounts past the current bound (a share that shrank). */
  trimAccounts(): void {
    const bound = this.accountCacheMax();
    for (const id of this.accounts.keys()) {
      if (this.accounts.size <= bound) break;
      this.accounts.delete(id);
    }
  }

  get nextOffset(): bigint | null {
    return this.claim?.nextOffset ?? null;
  }

  get epoch(): bigint | null {
    return this.claim?.epoch ?? null;
  }

  /** Drop cached accounts (the routing changed: some may belong to another partition now). */
  forgetAccounts(): void {
    this.accounts.clear();
    this.generation++; // a batch in flight must not put back what it loaded before
  }

  /** Forget ownership: the next batch claims the partition afresh (and bumps its epoch). */
  release(): void {
    this.claim = null;
    this.accounts.clear();
    this.generation++;
    this.releases++;
  }

  /** A new group generation assigned partitions: every claim released, earlier fences forgotten. */
  reassigned(): void {
    this.release();
    this.fencedByAnotherOwner = false;
  }

  /**
   * Applies `messages` (one fetch of this partition) in batches of at most
   * `batchCommandsMax` commands, each batch one Postgres transaction; a batch ends early at
   * a FENCE marker. Two batches overlap: while batch N is being written, batch N+1 is decoded,
   * read and applied in memory against the state N leaves behind (see `Ahead`). Commits stay
   * strictly one after another, in offset order; a batch is only ever committed after the
   * one before it, and a failure of N discards N+1 unwritten.
   *
   * Dedupe is optimistic: a batch is applied as if none of its commands had been applied
   * before (only the batch ahead of it is consulted), without the read of applied keys. A
   * command applied before cannot be written twice: every deduped command writes a row keyed
   * by its dedupe key (a transfer, hold, account change or refused leg: primary keys), or
   * changes a row only from the state its first application left behind (LL002; an applied
   * leg's status, which a copy on either branch checks: migration 0018). So a copy fails the
   * batch's write, or its in-memory apply, and the batch is applied again from the same offset
   * with the read (`readKeysBelow`), where the copy is a DUPLICATE. Copies are rare (an API
   * retry after an unanswered publish, a leg republished after a crash); the read was one
   * round trip per batch for every batch.
   */
  async apply(messages: readonly ConsumedMessage[], progress: ApplyProgress = IDLE_PROGRESS): Promise<ApplyResult> {
    this.applying++;
    try {
      return await this.applyFetch(messages, progress);
    } catch (error) {
      // After a commit its refresh was handed over (AfterCommitError); any other throw may
      // follow a write that committed unseen.
      // A leg waiting for its source was refused by the database: nothing of its try committed.
      if (!(error instanceof AfterCommitError) && !(error instanceof LegAwaitsSourceError) && this.claim) this.outcomeUnknownOf = this.claim;
      throw error;
    } finally {
      if (--this.applying === 0) for (const wake of this.betweenWritesWaiters.splice(0)) wake();
    }
  }

  /**
   * Moves the partition's cache mark forward if it can (cache-mark.ts; the worker's timer).
   * Whether it moved.
   */
  advanceCacheMark(): Promise<boolean> {
    const claim = this.claim;
    return this.cacheMark?.advance(claim, () => this.betweenWrites(claim)) ?? Promise.resolve(false);
  }

  /** The catch-up of the current claim, if one is running (tests). */
  cacheCaughtUp(): Promise<void> {
    return this.cacheMark?.settled() ?? Promise.resolve();
  }

  /**
   * Resolves once no apply() is running: every write sent before has committed and handed
   * its refresh over, or failed. True unless one of them failed with its outcome unknown and
   * has not been settled since (it may have committed, unrefreshed), or `claim`, the claim
   * the mark's round is for, is no longer this applier's: a write may have ended it by
   * meeting its own fence, i.e. by finding that an earlier attempt whose answer was lost
   * (alone, or in a grouped statement written again batch by batch) did commit, without a
   * refresh. Only the next claim's catch-up, from the mark as it stands, covers that write.
   */
  private async betweenWrites(claim: PartitionClaim | null): Promise<boolean> {
    if (this.applying > 0) await new Promise<void>((resolve) => this.betweenWritesWaiters.push(resolve));
    // An outcome unknown under an older claim is covered by this claim's catch-up.
    return claim !== null && this.claim === claim && this.outcomeUnknownOf !== claim;
  }

  private async applyFetch(messages: readonly ConsumedMessage[], progress: ApplyProgress): Promise<ApplyResult> {
    const claim = this.claim ?? (await this.claimOnce());
    // A log that ends below what this partition applied is not the log it applied: every
    // command in it would be skipped below as applied before, without a word (an outside
    // fault review: commands acknowledged after the topic was recreated were never applied).
    const { logEnd } = progress;
    if (logEnd !== undefined && logEnd !== null && logEnd < claim.nextOffset) return { kind: 'log-behind', logEnd, nextOffset: claim.nextOffset };
    const fresh = messages.filter((m) => BigInt(m.offset) >= claim.nextOffset);
    if (fresh.length === 0) return { kind: 'applied', nextOffset: claim.nextOffset };
    const firstOffset = BigInt(fresh[0]!.offset);
    if (firstOffset > claim.nextOffset) {
      // A fetch from a later offset (the group's offset is only a hint): read from next_offset.
      if (progress.fetchedFrom === undefined || progress.fetchedFrom > claim.nextOffset) return { kind: 'seek', offset: claim.nextOffset };
      // Read from next_offset or before it, Kafka gave nothing between next_offset and
      // firstOffset (a fetch is every record from where it was read, in order): those offsets
      // hold no record a consumer is given (a commit or abort marker of another client's
      // transactional write to the topic, an aborted record). Seeking back to them would fetch
      // this same answer forever, and the partition would apply nothing more.
      this.ports.log(`partition ${this.partition}: offsets ${claim.nextOffset}..${firstOffset - 1n} hold no record a consumer is given (transaction markers or aborted records); applying from ${firstOffset}`);
    }
    let committing: Promise<void> | null = null;
    try {
      let ahead: Ahead | null = null;
      let fromOffset = claim.nextOffset;
      for (let rest = fresh; rest.length > 0 && progress.isActive(); ) {
        const batch = await this.prepare(rest.slice(0, this.batchLimitAt(fromOffset)), fromOffset, ahead, fromOffset < this.readKeysBelow);
        if (committing) await committing;
        await progress.beforeCommit();
        committing = this.commit(claim, batch, progress);
        // Observed here so a failure while the next batch is prepared is not an unhandled
        // rejection; it is rethrown where `committing` is awaited.
        committing.catch(() => undefined);
        rest = rest.slice(batch.taken);
        fromOffset = batch.toOffset;
        if (batch.fence || (rest.length > 0 && beginsItsOwnBatch(rest[0]!, this.ports.seal))) {
          // The fence changes the routing the next batch must be applied with, and a reversal or
          // a close reads as committed what this batch changes (readsCommittedState), however
          // this batch ended: no overlap.
          await committing;
          committing = null;
          ahead = null;
        } else {
          ahead = {
            accounts: new Map(batch.effects.accounts.map((a) => [a.id, a])),
            appliedKeys: batch.appliedKeys,
            holdLedger: holdLedgerAheadOf(batch.effects, null),
          };
        }
      }
      if (committing) await committing;
      return { kind: 'applied', nextOffset: claim.nextOffset };
    } catch (error) {
      // Never leave a commit running unobserved: its outcome decides the claim's offset.
      const commitError = committing ? await committing.then(() => null, (e: unknown) => e) : null;
      const failure = commitError ?? error;
      if (failure instanceof FencedError) return this.fencedBy(claim, failure);
      // The failed batch starts at the claim's next offset (everything before it committed).
      if (claim.nextOffset >= this.readKeysBelow && mayBeACopy(failure)) {
        this.readKeysBelow = BigInt(fresh[fresh.length - 1]!.offset) + 1n;
        // An invariant broken in memory is taken for a command's only against Postgres's
        // state: the cached accounts are read again, so a cache at odds with the ledger is
        // not blamed on a command (an outside review).
        if (failure instanceof InvariantViolation) this.forgetAccounts();
        // Routine after a takeover or a redelivery (a copy of an applied command), so an info
        // line, not a warning: the words avoid lineLog's alarm words on purpose.
        this.ports.log(
          `partition ${this.partition}: batch at offset ${claim.nextOffset} may hold a command applied before (${sqlStateOf(failure) ?? (failure as Error).name}: ${(failure as Error).message}), as after a takeover; applying it again after reading which commands were applied`,
        );
        return this.apply(messages, progress);
      }
      // A worker that lost the partition without hearing of it yet (paused past its session,
      // a broker restart) applies the next fetch to accounts another owner has since written:
      // the in-memory apply can break an invariant before the write would have been fenced.
      // Only the partition's current owner may take that for a command's doing (below).
      if (failure instanceof InvariantViolation && !(await claimIsCurrent(this.ports.pool, claim))) {
        return this.released(`epoch ${claim.epoch} was superseded while this worker applied from its cache (${failure.message})`, true);
      }
      if (failureKind(failure) !== 'deterministic') throw failure;
      // Bisected from Postgres's state: a cached account out of step with its row (changed
      // behind this worker, e.g. a repair in SQL) fails the write deterministically too (the
      // terms guard of migration 0035), and must not be blamed on each command that touches
      // it (an outside review). Only on this path; a bug's batch still fails from a fresh read.
      this.forgetAccounts();
      // Everything before the failed batch is committed; isolate the culprit in that batch,
      // then go on with the rest as usual.
      const failed = fresh.filter((m) => BigInt(m.offset) >= claim.nextOffset).slice(0, this.batchLimitAt(claim.nextOffset));
      this.ports.log(`partition ${this.partition}: write failed deterministically (${sqlStateOf(failure) ?? (failure as Error).name}: ${(failure as Error).message}); bisecting ${failed.length} messages`);
      const isolated = await this.isolatePoison(claim, failed, failure, progress);
      if (isolated.kind === 'fenced') return isolated;
      return this.apply(messages, progress);
    }
  }

  /**
   * Writes `messages` (which start at the claim's next offset) while isolating the commands
   * whose write fails on its own. First proves the failure is a command's: a write of no
   * commands must succeed, or the database is at fault (DatabaseWriteError).
   */
  private async isolatePoison(claim: PartitionClaim, messages: readonly ConsumedMessage[], failure: unknown, progress: ApplyProgress): Promise<ApplyResult> {
    try {
      await this.provenWritable(claim, failure);
      await this.bisect(claim, messages, progress);
    } catch (error) {
      if (error instanceof FencedError) return this.fencedBy(claim, error);
      throw error;
    }
    return { kind: 'applied', nextOffset: claim.nextOffset };
  }

  /**
   * A write of no commands, at the claim's next offset, succeeds right now: else `failure` is
   * the database's, not a command's (DatabaseWriteError, an operating error; FencedError when
   * the partition is no longer ours).
   */
  private async provenWritable(claim: PartitionClaim, failure: unknown): Promise<void> {
    try {
      await writeBatch(this.ports.pool, { claim, fromOffset: claim.nextOffset, toOffset: claim.nextOffset, effects: NO_EFFECTS, before: new Map(), outbox: [] });
    } catch (error) {
      if (error instanceof FencedError) throw error;
      throw new DatabaseWriteError(`partition ${this.partition}: even a write of no commands fails (${(error as Error).message}); after: ${(failure as Error).message}`, error);
    }
  }

  /**
   * Commits `messages` in order, halving any run whose write fails deterministically. A
   * message whose write fails alone is blamed only if, a write of no commands having
   * succeeded meanwhile, it fails alone again: an error that comes and goes (a server
   * connection to a node that refuses writes, beside good ones) is then the database's
   * (the empty write fails), or spares the second attempt; it rejects a valid command only
   * if it fails that command alone twice while sparing both empty writes.
   */
  private async bisect(claim: PartitionClaim, messages: readonly ConsumedMessage[], progress: ApplyProgress): Promise<void> {
    let rest = messages;
    /** The message that failed alone once, an empty write succeeding after it. */
    let suspect: ConsumedMessage | null = null;
    while (rest.length > 0 && progress.isActive()) {
      let taken = rest.length;
      try {
        const batch = await this.prepare(rest, claim.nextOffset, null, true);
        taken = batch.taken;
        await this.commit(claim, batch, progress);
        rest = rest.slice(batch.taken);
        continue;
      } catch (error) {
        if (failureKind(error) !== 'deterministic') throw error;
        if (taken === 1) {
          await this.provenWritable(claim, error);
          if (suspect !== rest[0]) {
            suspect = rest[0]!;
            continue; // alone once more
          }
          if (await this.legWaitsForSource(rest[0]!, error)) throw new LegAwaitsSourceError(this.partition, rest[0]!.offset, this.legWaitForSourceMs, error);
          await this.isolateOne(claim, rest[0]!, error, progress);
          rest = rest.slice(1);
          continue;
        }
        await this.bisect(claim, rest.slice(0, Math.ceil(taken / 2)), progress);
        rest = rest.slice(Math.ceil(taken / 2));
      }
    }
  }

  /**
   * Commands in the batch starting at `offset`: one when it is the saga leg waiting for its
   * source (legWaitsForSource), tried alone until it applies, so that each try does not
   * bisect a whole fetch down to it again.
   */
  private batchLimitAt(offset: bigint): number {
    return this.legAwaiting?.offset === offset ? 1 : this.batchCommandsMax;
  }

  /**
   * Whether `message`, refused alone with `error`, is a saga leg to retry rather than isolate:
   * refused for its transfer's state (LL003), while the wait the worker was started with
   * (WORKER_LEG_WAIT_FOR_SOURCE_MS, 0 by default) has not run out for it. Only a replay into
   * a restored database sets one (docs/operations.md): a leg Kafka still holds may reach this
   * partition before its source partition has applied its transfer again, and a leg
   * dead-lettered there lets the commands after it (a reversal of the transfer) see a state
   * the partition never saw the first time. Its source's new copy of the leg would still
   * complete the transfer, so the money would agree; the order would not. A leg whose
   * transfer has ended (the replay decided it otherwise: its payer's account lost with the
   * restore) can never apply: it is isolated at once, not waited for (an outside review: it
   * held its partition for the whole wait, and a genuine leg behind it ran out of its own).
   * Nor can a leg whose transfer was written again with other facts (legFactsMatch): a
   * replay after a bucket move applies the first run's transfers on the source partition the
   * restored routing names, and their first-run legs, naming the old one, each held their
   * partition for the whole wait (an outside operator review: 149 such legs, at ten minutes
   * each; the transfer's new leg, behind them, completes it).
   */
  private async legWaitsForSource(message: ConsumedMessage, error: unknown): Promise<boolean> {
    if (this.legWaitForSourceMs <= 0 || sqlStateOf(error) !== SQLSTATE_LEG_MISMATCH) return false;
    const decoded = decodeCommand(message.value, this.ports.seal);
    const leg = decoded.ok ? decoded.command : undefined;
    if (leg?.type !== 'CREDIT_LEG' && leg?.type !== 'REFUND_LEG') return false;
    // Its transfer ended, or written with other facts than the leg's: nothing will change that.
    const transfer = await findTransfer(this.ports.pool, leg.transferId);
    if (transfer !== null && (transfer.status !== 'PROCESSING' || !legFactsMatch(legFactsOf(leg), transfer))) return false;
    const offset = BigInt(message.offset);
    const now = Date.now();
    if (this.legAwaiting?.offset !== offset) this.legAwaiting = { offset, since: now };
    return now - this.legAwaiting.since < this.legWaitForSourceMs;
  }

  /**
   * The one message whose write fails alone: commit its bytes on the dead-letter topic with
   * whatever isolateUnprocessable gives it (REJECTED UNPROCESSABLE for a client's transfer or
   * hold; nothing for a leg, a void, an expiry or an account change); if even that cannot be
   * written while a write of no commands can, the dead letter alone. The partition's offset
   * moves past it either way.
   */
  private async isolateOne(claim: PartitionClaim, message: ConsumedMessage, error: unknown, progress: ApplyProgress): Promise<void> {
    const now = this.ports.clock.now().toISOString();
    const offset = BigInt(message.offset);
    // A command whose apply broke an invariant in memory is a bug's witness: told apart in its
    // letter, its log line and its count (failureKind).
    const reason: DeadLetterReason = error instanceof InvariantViolation ? 'invariant' : 'unprocessable';
    const letter = deadLetterOf(
      { topic: this.topic, partition: this.partition, offset: message.offset, key: message.key, value: message.value },
      `${reason === 'invariant' ? INVARIANT_BROKEN_REASON : 'UNPROCESSABLE: '}${(error as Error).message}`,
      now,
      sqlStateOf(error),
    );
    const decoded = decodeCommand(message.value, this.ports.seal);
    const effects = decoded.ok && decoded.command ? isolateUnprocessable({ partition: this.partition, now }, decoded.command) : NO_EFFECTS;
    const bug = reason === 'invariant' ? " (it broke an invariant in memory, so nothing of it was written: a bug in the worker's apply, please report it)" : '';
    this.ports.log(`partition ${this.partition}: offset ${offset} isolated as UNPROCESSABLE (${letter.sqlstate ?? 'no SQLSTATE'})${bug}: ${(error as Error).message}`);
    // From the claim's next offset, not the message's: offsets before it may hold no record a
    // consumer is given (transaction markers), and the write's fence expects next_offset.
    const write = { claim, fromOffset: claim.nextOffset, toOffset: offset + 1n, before: new Map<string, AccountState>() };
    try {
      const written = await writeBatch(this.ports.pool, { ...write, effects, outbox: outboxRowsOf(effects, [letter], this.ports.seal) });
      this.afterIsolation(claim, offset + 1n, effects, written, reason);
    } catch (rejectionError) {
      if (classifyWriteFailure(rejectionError) !== 'deterministic') throw rejectionError;
      // Its REJECTED row cannot be stored: believed only while a write of no commands succeeds.
      await this.provenWritable(claim, rejectionError);
      let written: WrittenBatch;
      try {
        written = await writeBatch(this.ports.pool, { ...write, effects: NO_EFFECTS, outbox: outboxRowsOf(NO_EFFECTS, [letter], this.ports.seal) });
      } catch (letterError) {
        // A dead letter is base64 bytes and storable text: if it cannot be written, the
        // database is at fault; never loop on it as if it were the command's.
        if (classifyWriteFailure(letterError) !== 'deterministic') throw letterError;
        throw new DatabaseWriteError(`partition ${this.partition}: cannot write the dead letter of offset ${offset}`, letterError);
      }
      this.afterIsolation(claim, offset + 1n, NO_EFFECTS, written, reason);
    }
    try {
      await progress.committed(claim.nextOffset);
    } catch (heartbeatError) {
      throw new AfterCommitError(this.partition, offset, offset + 1n, 'the consumer heartbeat', heartbeatError);
    }
  }

  private afterIsolation(claim: PartitionClaim, nextOffset: bigint, effects: BatchEffects, written: WrittenBatch, reason: DeadLetterReason): void {
    claim.nextOffset = nextOffset;
    this.ports.onDeadLetter?.(this.partition, reason);
    this.afterCommit(effects, written);
  }

  /**
   * A write refused by the fence (LL001): the epoch moved on (another owner claimed the
   * partition), or the offset did (a retry of our own write whose first attempt committed
   * after all). Which one is told by the epoch; a failed look counts as our own.
   */
  private async fencedBy(claim: PartitionClaim, error: FencedError): Promise<ApplyResult> {
    // A refusal of a retry whose first attempt committed after all (its answer lost) leaves
    // that commit unrefreshed: the next claim's catch-up covers it, since the cache mark never
    // moves past a write whose outcome is unknown (cache-mark.ts).
    return this.released(error.message, !(await claimIsCurrent(this.ports.pool, claim).catch(() => true)));
  }

  /** The partition is no longer ours to write: said, counted, and every local claim dropped. */
  private released(why: string, byAnotherOwner: boolean): ApplyResult {
    this.ports.log(`partition ${this.partition}: ${why}; releasing`);
    this.ports.onFenced?.(this.partition);
    this.release();
    if (byAnotherOwner) this.fencedByAnotherOwner = true;
    return { kind: 'fenced', byAnotherOwner };
  }

  /**
   * Claims a partition no fetch has claimed: one assigned here that has nothing to fetch, while
   * its previous owner left rows unpublished. The claim queues them (resumeRelay); without it
   * they would wait for the partition's next command, and a transfer for its credit leg.
   */
  async claimQuiet(): Promise<boolean> {
    // Fenced by another owner while Kafka still assigns it here: this member's view may be
    // stale, and only a fetch (with the fence-storm check behind it) may claim it back.
    if (this.fencedByAnotherOwner) return false;
    await this.claimOnce();
    return this.claim !== null;
  }

  /** The current claim, or one claim shared by every caller that asks while it is taken. */
  private claimOnce(): Promise<PartitionClaim> {
    if (this.claim) return Promise.resolve(this.claim);
    this.claiming ??= this.takeClaim().finally(() => {
      this.claiming = null;
    });
    return this.claiming;
  }

  private async takeClaim(): Promise<PartitionClaim> {
    const releases = this.releases;
    const claim = await claimPartition(this.ports.pool, this.topic, this.partition, this.owner);
    // Released meanwhile (a rebalance), before or while the leftovers were read: the partition
    // may be another member's now. The caller's fetch, if any, is no longer active and commits
    // nothing with it; nothing keeps it, and the previous owner's rows are left to whoever
    // owns it.
    const released = () => {
      if (this.releases === releases) return false;
      this.ports.log(`partition ${this.partition}: epoch ${claim.epoch} claimed while the partition was released; not kept`);
      return true;
    };
    if (released()) return claim;
    // The previous owner's unpublished rows go out before this owner's first ones, so the
    // claim is this applier's only once they are queued: every caller meanwhile waits on
    // `claiming`. Unread, the claim is not kept (an operating error, retried with a new
    // claim); kept, a commit could publish before them (two outside reviews).
    await this.ports.postCommit.resumeRelay(this.partition);
    if (released()) return claim;
    this.accounts.clear();
    this.claim = claim;
    this.routingOwed = true;
    this.ports.log(`partition ${this.partition}: claimed epoch ${claim.epoch}, resuming at offset ${claim.nextOffset}`);
    // Accounts its previous owner changed and may not have refreshed (it may have died between a commit and its refresh).
    this.cacheMark?.claimed(claim);
    return claim;
  }

  /**
   * Decodes messages up to and including the first FENCE marker, reads what they need and
   * applies them in memory: everything of a batch but the write. `ahead` is the batch being
   * committed right now, whose effects the database may not show yet.
   */
  private async prepare(all: readonly ConsumedMessage[], fromOffset: bigint, ahead: Ahead | null, readAppliedKeys: boolean): Promise<PreparedBatch> {
    const started = Date.now();
    const generation = this.generation;
    const now = this.ports.clock.now().toISOString();
    const { batch, taken } = decodeBatch(this.topic, this.partition, all, now, this.ports.seal);
    const { commands, deadLetters, fence } = batch;
    const routing = await this.currentRouting(commands);
    const partitionOf = (id: string) => routing.partitionOf(id);

    const holdLedger = await readHoldLedgerState(this.ports.pool, commands, ahead?.holdLedger ?? null);
    const named = accountsNamed(commands, this.partition, partitionOf, holdLedger.reversible);
    const known = await this.accountsFor(named, ahead?.accounts);
    const alreadyApplied = readAppliedKeys ? await this.appliedKeysOf(commands) : new Set<string>();
    if (ahead) for (const key of ahead.appliedKeys) alreadyApplied.add(key);
    // Pure: may throw UnprocessableCommand, for a command that can never apply, or
    // InvariantViolation, for a batch whose result the check refuses (a bug in the apply that
    // a command reaches); either stops the batch before any write, and bisection isolates the
    // command that causes it (failureKind).
    const effects = applyBatch({ partition: this.partition, now, accounts: known, partitionOf, alreadyApplied, ...holdLedger }, commands);
    const appliedKeys = commands
      .filter((_, i) => effects.outcomes[i]!.result !== 'FORWARDED')
      .map(dedupeKeyOf)
      .filter((key): key is string => key !== null);
    return {
      started,
      generation,
      now,
      input: all,
      taken,
      fromOffset,
      toOffset: BigInt(all[taken - 1]!.offset) + 1n,
      known,
      effects,
      outbox: outboxRowsOf(effects, deadLetters, this.ports.seal),
      fence,
      appliedKeys,
      deadLetters: deadLetters.map((letter) => ({ offset: String(letter.offset), kind: letter.reason.startsWith('forged:') ? 'forged' : 'malformed', reason: letter.reason })),
    };
  }

  /** Which of `commands` an earlier, committed batch applied (one round trip). */
  private appliedKeysOf(commands: readonly Command[]): Promise<Set<string>> {
    const candidates = dedupeCandidates(commands);
    return loadAppliedKeys(this.ports.pool, candidates.transferIds, candidates.legs);
  }

  /** Writes a prepared batch; only called once the batch before it has committed. */
  private async commit(claim: PartitionClaim, batch: PreparedBatch, progress: ApplyProgress): Promise<void> {
    const { fromOffset, toOffset, effects, known, outbox, fence } = batch;
    const span = this.ports.tracing?.start(this.topic, this.partition, batch.input, batch.taken, fromOffset, toOffset) ?? null;
    let written: WrittenBatch;
    try {
      // One statement, so one transaction: effects, offset, epoch check and outbox commit together.
      written = await this.ports.writer.write({ claim, fromOffset, toOffset, effects, before: known, outbox, fenceMoveIds: fence?.moveIds });
    } catch (error) {
      span?.fail(error);
      throw error;
    }
    span?.end();

    claim.nextOffset = toOffset;
    // Committed: from here on nothing that fails is the write's (AfterCommitError).
    let step = 'its bookkeeping';
    try {
      if (batch.generation === this.generation) this.remember(known, effects.accounts);
      // Counted here, once: a batch prepared again after a failed write (Postgres down) meets
      // the same letters again, and counting them at prepare counted one message per attempt.
      for (const letter of batch.deadLetters) {
        this.ports.onDeadLetter?.(this.partition, letter.kind);
        // As the UNPROCESSABLE isolation logs: an operator looks for the offset in the log first.
        this.ports.log(`partition ${this.partition}: offset ${letter.offset} dead-lettered as ${letter.kind}: ${letter.reason}`);
      }
      this.ports.afterCommit?.(this.partition, { commands: batch.taken, effects, durationMs: Date.now() - batch.started });
      this.afterCommit(effects, written, span?.headers ?? null);
      if (fence) {
        // The moved buckets are no longer ours: forget their accounts and route by the new table.
        this.accounts.clear();
        step = 'the routing reload';
        this.routingOwed = true; // until a reload succeeds: a retry must not apply with the table from before the fence
        await this.ports.refreshRouting();
        this.routingOwed = false;
        this.ports.log(`partition ${this.partition}: applied fence for moves ${fence.moveIds.join(', ')}`);
      }
      step = 'the consumer heartbeat';
      await progress.committed(toOffset);
    } catch (error) {
      throw new AfterCommitError(this.partition, fromOffset, toOffset, step, error);
    }
  }

  /**
   * The routing to apply with, read again from the database when the snapshot may be wrong:
   * - a command that looks like another partition's is about to be forwarded: first make sure
   *   the table is not merely stale (a move just fenced), or the command would bounce back and
   *   overtake later ones;
   * - a claim, or a fence whose reload failed, left the snapshot owed (routingOwed): it may
   *   predate a fence this partition's log holds, and would say "ours" for a bucket moved
   *   away (legs and expiries routed before the fence land after it here): applied here, its
   *   commands would meet a second writer, the bucket's new partition.
   * Between claims and fences this is no read at all.
   */
  private async currentRouting(commands: readonly Command[]): Promise<RoutingTable> {
    const routing = this.ports.routing();
    const doubtful = this.routingOwed || commands.some((c) => routing.partitionOf(subjectAccountOf(c)) !== this.partition);
    if (!doubtful) return routing;
    const current = await this.ports.refreshRouting();
    this.routingOwed = false;
    return current;
  }

  /**
   * States after the batch being committed (`pending`), else cached ones, plus one query for
   * the rest; absent ids do not exist (yet). The batch being committed is the only writer of
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
    if (this.accountCacheMax() === 0) return void this.accounts.clear();
    for (const [id, state] of loaded) this.accounts.set(id, state);
    for (const state of changed) {
      this.accounts.delete(state.id); // re-insert: Map order doubles as recency for eviction
      this.accounts.set(state.id, state);
    }
    this.trimAccounts();
  }

  private afterCommit(effects: BatchEffects, written: WrittenBatch, trace: TraceHeaders | null = null): void {
    // A write committed from the claim's offset: an earlier one whose answer was lost did not.
    this.outcomeUnknownOf = null;
    const { postCommit, log } = this.ports;
    postCommit.relay(this.partition, written.published, trace);
    // As of the write's own reading of Postgres's clock, the entries' clock: not the batch's
    // `now` (taken before the write, earlier than the entries' time), nor this worker's clock
    // after the commit (another host's: behind the entries, or ahead of the next batch's).
    const balances = effects.accounts.map((a) => balanceFigureOf(a, written.asOf));
    const terminal = [
      ...effects.newTransfers.filter((t) => t.status !== 'PROCESSING').map((t) => t.id),
      ...effects.transferStatuses.map((t) => t.id),
      // Long polls on holds wait for them to be applied, or on their ended key to end
      // (`until=ended`: a refusal ends one too); PATCHes for their outcome.
      ...effects.newHolds.map((h) => h.id),
      ...effects.newHolds.filter((h) => h.status !== 'HELD').map((h) => holdEndedKey(h.id)),
      ...effects.holdEnds.map((h) => holdEndedKey(h.id)),
      ...effects.accountChanges.map((c) => c.id),
    ];
    // Balances first, then the wake-up, issued back to back on one connection (Redis runs a
    // connection's commands in the order sent): a long-poller woken by the notification reads
    // a cache that already holds the balance its transfer produced, and both leave in one
    // write instead of two round trips one after the other.
    void postCommit
      .refreshBalances(balances)
      .catch((error) => log(`partition ${this.partition}: balance cache refresh failed: ${(error as Error).message}`));
    // Every transfer and hold row this commit wrote, a copy's never (a copy writes no row):
    // its ACCEPTED record has done its work, and one the API writes after this (it lost the
    // race with a fast worker) finds the mark and is not written.
    const rowsWritten = [...effects.newTransfers.map((t) => t.id), ...effects.newHolds.map((h) => h.id)];
    if (rowsWritten.length) {
      void postCommit
        .markApplied(rowsWritten)
        .catch((error) => log(`partition ${this.partition}: marking ACCEPTED records applied failed (they expire on their own): ${(error as Error).message}`));
    }
    if (terminal.length) {
      void postCommit
        .publishTerminal(terminal)
        .catch((error) => log(`partition ${this.partition}: status notification failed: ${(error as Error).message}`));
    }
  }
}

const NO_EFFECTS = noEffects();

/**
 * How a copy of an applied command fails an optimistic batch: a key already taken (23505),
 * a row no longer in the state its first application found (LL002, LL003), or, before any
 * write, an in-memory apply that breaks an invariant (a leg's transit money counted twice) or
 * finds a leg that cannot apply (a reversal's refund once its total was handed back).
 */
function mayBeACopy(failure: unknown): boolean {
  const code = sqlStateOf(failure);
  return (
    failure instanceof InvariantViolation ||
    failure instanceof UnprocessableCommand ||
    failure instanceof ConcurrentWriteError ||
    code === SQLSTATE_UNIQUE_VIOLATION ||
    code === SQLSTATE_LEG_MISMATCH
  );
}

/**
 * classifyWriteFailure, plus the domain's word that a command can never apply (a leg naming
 * an account or an original that does not exist): that is the command's fault, isolated like
 * a write Postgres refuses. What fails after a commit is never a command's.
 */
function failureKind(failure: unknown): WriteFailureKind {
  if (failure instanceof AfterCommitError) return 'operating'; // the write committed: no command failed
  // An invariant the in-memory apply breaks, read and applied again first (mayBeACopy) by the
  // partition's current owner (claimIsCurrent): deterministic, as the apply is pure. It is a
  // bug the check kept out of the ledger; the command that reaches it is isolated, loudly
  // (isolateOne), rather than stopping the partition for every owner in turn, which is
  // what it did until an outside review found a forged refund that reached one (invariant 10).
  if (failure instanceof InvariantViolation) return 'deterministic';
  return failure instanceof UnprocessableCommand ? 'deterministic' : classifyWriteFailure(failure);
}
