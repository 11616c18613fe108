/**
 * The bucket move protocol (docs/design.md, "Routing and rebalancing"), driven from the operator's
 * side. Steps, each idempotent, so re-running after a crash at any point finishes the move
 * (or rolls it back if it had not been fenced):
 *
 *   1. hold    startMoves: HOLDING + routing_buckets.held, version bumped; ingest answers 503
 *              for these buckets only
 *   2. settle  wait until every live API reports the new version (routing_observers), so no
 *              API can still publish a command for the bucket to the old partition
 *   3. fence   publish a FENCE marker to each old partition
 *   4. fenced  wait until the old owner applied past it (state FENCED, set in its batch
 *              transaction: from then on the bucket is the new partition's)
 *   5. drain   wait until each old partition's relay has published the outbox rows it
 *              committed up to its fence (bounded: outboxWaitMs), so the new partition's
 *              first event of a hold or an account follows every earlier one
 *   6. switch  finishMoves: routing_buckets points at the new partition, hold lifted
 */
import type { Database } from '@ledgerline/postgres';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BatchingProducer } from '@ledgerline/kafka';
import { BrokerUnavailableError } from '@ledgerline/kafka';
import {
  type BucketMove,
  abortMoves,
  finishMoves,
  isOpenMoveRace,
  isRetryablePgError,
  listOpenMoves,
  loadMoves,
  loadRoutingVersion,
  newestUnpublishedOutbox,
  outboxLeftAtOrBelow,
  routersBehind,
  startMoves,
} from '@ledgerline/postgres';
import { encodeFence } from '@ledgerline/schemas';
import { type Interruption, watchInterruption } from './interruption';

export interface MoveDeps {
  pool: Database;
  producer: BatchingProducer;
  commandsTopic: string;
  log(line: string): void;
}

export interface MoveOptions {
  /** How long APIs get to pick up the hold, beyond the slowest one's refresh interval, before the move is rolled back. */
  routersWaitMs: number;
  /** An API that has not reported within its own refresh interval plus this is considered gone. */
  routerFreshMs: number;
  /** How long the old partition gets to apply the fence before the move is rolled back. */
  fenceWaitMs: number;
  pollMs: number;
  /** How long one attempt waits for Kafka to take the fence markers. */
  fencePublishTimeoutMs: number;
  /**
   * How long a fenced move waits for its old partition's relay to publish what that partition
   * committed up to the fence, before it switches anyway, saying so (0: no wait).
   */
  outboxWaitMs: number;
  /** Attempts of `moveBucketsRetrying` at most, `attemptDelayMs` apart times the attempt. */
  attemptsMax: number;
  attemptDelayMs: number;
}

/** The values of ledgerctl's CTL_MOVE_* settings when unset (config.ts), for callers without a config. */
export const MOVE_DEFAULTS: MoveOptions = {
  routersWaitMs: 15_000,
  routerFreshMs: 5_000,
  fenceWaitMs: 60_000,
  pollMs: 25,
  fencePublishTimeoutMs: 15_000,
  outboxWaitMs: 30_000,
  attemptsMax: 10,
  attemptDelayMs: 1_000,
};

export interface MoveResult {
  /** The moves that finished (DONE): their buckets are on the new partition. */
  moved: BucketMove[];
  /**
   * The moves that ended ABORTED instead: rolled back by another ledgerctl driving the same
   * moves (a `rebalance --apply` or `partitions add --finish` finishing moves left open, or a
   * re-run of the same `buckets move`) whose own wait ran out. Their buckets stayed where they
   * were, not held. A command that reported them moved would tell the operator a bucket is on
   * a partition it never reached (found by an outside review).
   */
  rolledBack: BucketMove[];
  /**
   * From hold to switch: how long the moved buckets' clients were refused, the longest of
   * their moves' created_at to finished_at (Postgres's clock on both ends), so that a move
   * resumed after a crash counts the time it stood held, not only its resumption's.
   */
  holdMs: number;
}

/** The longest any of `moves` held its bucket, measured by Postgres alone (0 for none). */
function heldFor(moves: readonly BucketMove[]): number {
  return moves.reduce((longest, m) => Math.max(longest, m.heldMs), 0);
}

export class MoveAbortedError extends Error {
  override readonly name = 'MoveAbortedError';
}

/** Steps 1-5 for `buckets`, resuming any open move of theirs first. */
export async function moveBuckets(deps: MoveDeps, buckets: readonly number[], toPartition: number, options = MOVE_DEFAULTS): Promise<MoveResult> {
  const wanted = new Set(buckets);
  const resumed = (await listOpenMoves(deps.pool)).filter((m) => wanted.has(m.bucket));
  // An open move is finished where it was going: a different target now would be ignored, so
  // it is refused, naming how to finish the open move first.
  const elsewhere = resumed.filter((m) => m.toPartition !== toPartition);
  if (elsewhere.length > 0) {
    const which = elsewhere.map((m) => `bucket ${m.bucket} -> partition ${m.toPartition} (${m.state})`).join(', ');
    throw new Error(`already moving elsewhere: ${which}; finish that first (run the same move again), then move the bucket on`);
  }
  const fresh = buckets.filter((b) => !resumed.some((m) => m.bucket === b));
  const { moves: created, version } = await startMoves(deps.pool, fresh, toPartition);
  const moves = [...resumed, ...created];
  if (moves.length === 0) return { moved: [], rolledBack: [], holdMs: 0 };
  if (resumed.length) deps.log(`resuming ${resumed.length === 1 ? '1 open move' : `${resumed.length} open moves`} (${resumed.map((m) => `${m.bucket}:${m.state}`).join(', ')})`);
  return outcomeOf(await completeMoves(deps, moves, version, options));
}

/**
 * What the moves a command drove came to: a move ends DONE or ABORTED (completeMoves waits
 * until none is HOLDING and finishes every FENCED one), and only DONE ones moved anything.
 */
function outcomeOf(ended: readonly BucketMove[]): MoveResult {
  const moved = ended.filter((m) => m.state === 'DONE');
  return { moved, rolledBack: ended.filter((m) => m.state === 'ABORTED'), holdMs: heldFor(moved) };
}

/**
 * `moveBuckets`, re-run when Postgres or Kafka fails under it (restarting, failing over):
 * each step is idempotent, so running it again resumes where the failure left the move.
 * A rolled-back move (MoveAbortedError) or any other error is not retried.
 */
export async function moveBucketsRetrying(deps: MoveDeps, buckets: readonly number[], toPartition: number, options = MOVE_DEFAULTS): Promise<MoveResult> {
  return retryingMoves(deps, options, () => moveBuckets(deps, buckets, toPartition, options));
}

/**
 * Finishes exactly the moves open now, each at its recorded target: a command's that crashed,
 * or one still running in another process (each step is idempotent, so driving it from here
 * too is safe). Never starts a move: one rolled back meanwhile stays rolled back. Retried as
 * moveBucketsRetrying is.
 */
export async function finishOpenMoves(deps: MoveDeps, open: readonly BucketMove[], options = MOVE_DEFAULTS): Promise<MoveResult> {
  if (open.length === 0) return { moved: [], rolledBack: [], holdMs: 0 };
  return retryingMoves(deps, options, async () => {
    // The routers must route with a table at least this new: it has every listed hold.
    const version = (await loadRoutingVersion(deps.pool)) ?? 0;
    return outcomeOf(await completeMoves(deps, await loadMoves(deps.pool, open.map((m) => m.id)), version, options));
  });
}

async function retryingMoves(deps: MoveDeps, options: MoveOptions, attempt: () => Promise<MoveResult>): Promise<MoveResult> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      // Another ledgerctl opening a move of one of the buckets first is a race, not a failure:
      // listed again, its move is resumed or refused by name (an outside review: it exited 2
      // with Postgres's duplicate-key message, and the other buckets did not move).
      const raced = isOpenMoveRace(error);
      const transient = raced || isRetryablePgError(error) || error instanceof BrokerUnavailableError;
      if (!transient || n >= options.attemptsMax) throw error;
      deps.log(
        raced
          ? `another process opened a move of one of these buckets first; reading the open moves again, attempt ${n + 1}`
          : `move interrupted (${(error as Error).message}); resuming, attempt ${n + 1}`,
      );
      await sleep(options.attemptDelayMs * n);
    }
  }
}

/** Finishes open moves from whatever step they reached (the crash-recovery entry point). */
export async function completeMoves(deps: MoveDeps, moves: readonly BucketMove[], version: number, options = MOVE_DEFAULTS): Promise<BucketMove[]> {
  const ids = moves.map((m) => m.id);
  const holding = moves.filter((m) => m.state === 'HOLDING');
  if (holding.length > 0) {
    const interruption = watchInterruption("rolling back the move's holds");
    try {
      await waitForRouters(deps, version, ids, options, interruption);
      await publishFences(deps, holding, options);
      await waitForFences(deps, ids, options, interruption);
    } finally {
      interruption.stop();
    }
  }
  await waitForOldOutboxes(deps, ids, options);
  await finishMoves(deps.pool, ids);
  const ended = await loadMoves(deps.pool, ids);
  const rolledBack = ended.filter((m) => m.state === 'ABORTED');
  deps.log(`bucket moves done: ${ended.filter((m) => m.state === 'DONE').length} of ${ended.length}${rolledBack.length ? `; rolled back meanwhile (by another ledgerctl driving them): ${rolledBack.map((m) => `bucket ${m.bucket}`).join(', ')}` : ''}`);
  return ended;
}

/** Waits until every live API routes with `version`; past the wait, gives up on `ids`, every open move listed (rolledBack). */
async function waitForRouters(deps: MoveDeps, version: number, ids: readonly bigint[], options: MoveOptions, interruption: Interruption): Promise<void> {
  const started = Date.now();
  for (;;) {
    const behind = await routersBehind(deps.pool, version, options.routerFreshMs);
    if (behind.length === 0) return;
    if (interruption.signal !== null) throw await rolledBack(deps, ids, `interrupted (${interruption.signal}) while waiting for the APIs`, options, true);
    // An API picks the hold up at its next refresh: one refreshing every 30 s (its
    // API_ROUTING_REFRESH_MS, recorded with its report) gets that on top of the wait.
    const slowestRefreshMs = Math.max(0, ...behind.map((r) => r.refreshMs ?? 0));
    if (Date.now() > started + options.routersWaitMs + slowestRefreshMs) {
      // All ids: a move listed FENCED (a resumed one) is finished too, not left held.
      throw await rolledBack(deps, ids, `APIs ${behind.map((r) => r.instance).join(', ')} did not pick up routing version ${version}`, options);
    }
    await sleep(options.pollMs);
  }
}

/**
 * Step 5. A hold's or an account's events are written by the partition that owns the account,
 * and each partition's relay publishes its own outbox, possibly behind its commits (a busy
 * drain, a Kafka hiccup, an owner that died before publishing, whose rows wait for the next
 * owner). Switched at once, the new partition could publish a hold's void before the old one
 * published its placement, or an unfreeze before the freeze: one key's events out of order on
 * the events topic (found by an outside review). So before the fenced moves among `ids`
 * switch, this waits until every row their old partitions held unpublished when the fence was
 * seen applied is published (the relay publishes a partition's rows in id order, and a new
 * owner's claim queues the old owner's first). Bounded by `outboxWaitMs`, and cut short by
 * Ctrl-C or when the caller is already giving up (`cutShort`, a rolled-back attempt's reason),
 * since the buckets stay held meanwhile: then the moves switch anyway, and the log names the
 * partitions behind and the oldest row each holds.
 */
async function waitForOldOutboxes(deps: MoveDeps, ids: readonly bigint[], options: MoveOptions, cutShort: string | null = null): Promise<void> {
  if (options.outboxWaitMs === 0) return;
  const fenced = (await loadMoves(deps.pool, ids)).filter((m) => m.state === 'FENCED');
  const marks = await newestUnpublishedOutbox(deps.pool, [...new Set(fenced.map((m) => m.fromPartition))]);
  if (marks.size === 0) return;
  const interruption = cutShort === null ? watchInterruption("switching now, without waiting for the old partitions' outbox") : null;
  try {
    const deadline = Date.now() + options.outboxWaitMs;
    for (;;) {
      const behind = await outboxLeftAtOrBelow(deps.pool, marks);
      if (behind.size === 0) return;
      const signal = interruption?.signal ?? null;
      const cut = cutShort ?? (signal !== null ? `interrupted (${signal})` : Date.now() > deadline ? `after ${options.outboxWaitMs} ms` : null);
      if (cut !== null) {
        const which = [...behind].map(([partition, oldest]) => `${partition} (oldest row ${oldest})`).join(', ');
        deps.log(
          `switching with partitions ${which} not published up to the fence (${cut}): an event of a moved hold or account published by the new partition may reach consumers before an earlier one still in the old partition's outbox; a relay or Kafka behind catches up by itself, a row that stays oldest is one the relay cannot send (ledgerctl reconcile's outbox-published check names it)`,
        );
        return;
      }
      await sleep(options.pollMs);
    }
  } finally {
    interruption?.stop();
  }
}

async function publishFences(deps: MoveDeps, holding: readonly BucketMove[], options: MoveOptions): Promise<void> {
  const byPartition = new Map<number, bigint[]>();
  for (const move of holding) byPartition.set(move.fromPartition, [...(byPartition.get(move.fromPartition) ?? []), move.id]);
  await deps.producer.publishAll(
    [...byPartition].map(([fromPartition, moveIds]) => ({
      topic: deps.commandsTopic,
      partition: fromPartition,
      key: `fence-${fromPartition}`,
      value: encodeFence({ moveIds, fromPartition }),
    })),
    // Bounded: a fence is safe to send again (the retrying caller resumes the move), so a
    // broker that does not answer fails this attempt instead of hanging the command.
    options.fencePublishTimeoutMs,
  );
}

async function waitForFences(deps: MoveDeps, ids: readonly bigint[], options: MoveOptions, interruption: Interruption): Promise<void> {
  const deadline = Date.now() + options.fenceWaitMs;
  for (;;) {
    const moves = await loadMoves(deps.pool, ids);
    if (moves.every((m) => m.state !== 'HOLDING')) return;
    if (interruption.signal !== null) throw await rolledBack(deps, ids, `interrupted (${interruption.signal}) while waiting for the fence`, options, true);
    if (Date.now() > deadline) throw await rolledBack(deps, ids, 'the old partition did not apply the fence in time (is a worker running?)', options);
    await sleep(options.pollMs);
  }
}

/**
 * Gives up on `ids` and says truthfully what that left. Only moves still HOLDING roll back
 * (abortMoves touches no other); a fence that lands later finds them ABORTED and changes
 * nothing. Moves already FENCED, though listed HOLDING (a resumed move whose earlier run's
 * fence lands now), belong to their new partition: they cannot be undone, so they are
 * finished (switched, hold lifted) rather than left held. All ids are finished, since a fence
 * may land between any read and the rollback.
 */
async function rolledBack(deps: MoveDeps, ids: readonly bigint[], why: string, options: MoveOptions, interrupted = false): Promise<MoveAbortedError> {
  const aborted = await abortMoves(deps.pool, ids);
  // The fenced ones switch as a finished move does, after their old partitions' outbox
  // (step 5), unless an operator's signal is why the command is giving up (an outside review:
  // a fence wait that ran out on one partition switched another's fenced bucket without it).
  await waitForOldOutboxes(deps, ids, options, interrupted ? why : null);
  const finished = await finishMoves(deps.pool, ids);
  const after = await loadMoves(deps.pool, ids);
  const states = after.map((m) => `bucket ${m.bucket}: ${m.state}`).join(', ');
  return new MoveAbortedError(`${why}: ${aborted} moves rolled back, ${finished} already fenced and finished; ${states}`);
}

