/**
 * Idempotency claims of the ingest API, group-committed: every POST that moves money claims
 * its transfer id, and the claims waiting at one moment go to Postgres as ONE multi-row
 * upsert whose answer says, per claim, new / replay / reused.
 *
 * Batching is natural, with no timer: a claim arriving while fewer than
 * `concurrentFlushesMax` statements are in flight goes out at the end of the current
 * event-loop turn (with whatever else arrived in that turn); otherwise it queues, and the
 * queue goes out as soon as a statement comes back. At idle a claim costs what it did alone;
 * under load one round trip, one PgBouncer hand-off and one executor start serve up to
 * `batchSizeMax` claims. The queue needs no bound of its own: each claim is one HTTP request
 * in progress, and those are capped (API_IN_FLIGHT_REQUESTS_MAX).
 *
 * Every claim of a batch shares the statement's fate: when it fails (Postgres or PgBouncer
 * down), every claim of the batch is rejected with that error and each caller answers 503 as
 * before; so are the claims queued behind it when Postgres did not answer at all. No single claim can fail it on its own: the transfer id is a derived UUID, the hash
 * is hex and the principal was checked by packages/auth.
 */
import type { Pool } from 'pg';
import { isNoAnswer } from './pool';
import { RowShapeError } from './rows';

/**
 * `new` carries the row version it inserted (the row's xmin), which is what a release gives
 * back (releaseIdempotencyKey): never a version a later replay of the key has written. It is
 * null when a replay of the key (the same body) shared the statement: that replay wrote no
 * version of its own and may publish, so the key must not be given back.
 * `new` and `replay` carry when the key was first claimed (the row's created_at, ISO 8601 to
 * the millisecond): the same for every claim of the key, so every submission of one command
 * can build it with the same accepted-at time, whichever request publishes it.
 */
export type KeyClaim = { kind: 'new'; version: string | null; claimedAt: string } | { kind: 'replay'; claimedAt: string } | { kind: 'reused' };

export interface ClaimRequest {
  /** transferIdFor(principal, Idempotency-Key): a lower-case UUID. */
  readonly transferId: string;
  readonly principal: string;
  readonly requestHash: string;
  /** A whole POST /v1/batch's claim (batchIdFor): no resource will ever carry its id (migration 0030). */
  readonly batch: boolean;
}

/** What the statement answered for one transfer id. */
export interface StoredClaim {
  /** The hash the row holds: the claim's own when it inserted the row, else the earlier claim's. */
  readonly requestHash: string;
  /** This statement inserted the row (nobody had claimed the id before). */
  readonly inserted: boolean;
  /** The row version this statement left (its xmin): a replay's no-op update writes a new one. */
  readonly version: string;
  /** When the row was inserted (created_at): never changed by a replay. */
  readonly claimedAt: string;
}

export interface IdempotencyClaimsOptions {
  /** Claims per statement at most. */
  batchSizeMax?: number;
  /** Statements in flight at once at most; claims arriving meanwhile wait for the next one. */
  concurrentFlushesMax?: number;
}

export const CLAIM_BATCH_SIZE_MAX_DEFAULT = 500;
export const CLAIM_CONCURRENT_FLUSHES_MAX_DEFAULT = 2;

/**
 * The no-op DO UPDATE makes RETURNING answer on a conflict too; xmax = 0 only for a row this
 * statement inserted. ORDER BY: two statements in flight that share ids take their row locks
 * in the same order, so they wait for each other instead of deadlocking. Postgres refuses to
 * touch one row twice in a statement ("cannot affect row a second time"), so each id appears
 * once (distinctClaims).
 */
const CLAIM_KEYS_SQL = `INSERT INTO idempotency_keys (transfer_id, principal, request_hash, batch)
SELECT c.transfer_id, c.principal, c.request_hash, c.batch
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::boolean[]) AS c(transfer_id, principal, request_hash, batch)
 ORDER BY c.transfer_id
ON CONFLICT (transfer_id) DO UPDATE SET transfer_id = EXCLUDED.transfer_id
RETURNING transfer_id, request_hash, (xmax = 0) AS inserted, xmin::text AS version, created_at`;

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const REUSED: KeyClaim = { kind: 'reused' };

/** The first claim of each transfer id, in arrival order: what goes to the database. */
export function distinctClaims<C extends ClaimRequest>(claims: readonly C[]): C[] {
  const seen = new Set<string>();
  const distinct: C[] = [];
  for (const claim of claims) {
    if (seen.has(claim.transferId)) continue;
    seen.add(claim.transferId);
    distinct.push(claim);
  }
  return distinct;
}

/**
 * Each claim's answer, exactly as if the claims had run one after another in arrival order:
 * the first claim of an id is 'new' when the statement inserted the row; every other claim
 * (an earlier batch's row, or an earlier claim in this very batch) compares its hash with
 * the one the row holds: same body 'replay', another body 'reused'. One difference: a replay
 * in a later statement writes a row version of its own, which a release of the first claim
 * then leaves in place; a replay in this statement writes none, so the first claim gets no
 * version to release (KeyClaim).
 */
export function answerClaims(claims: readonly ClaimRequest[], stored: ReadonlyMap<string, StoredClaim>): KeyClaim[] {
  // Ids that a later claim of this statement replays (the same body as the row holds): one pass.
  const seen = new Set<string>();
  const replayedHere = new Set<string>();
  for (const claim of claims) {
    if (seen.has(claim.transferId) && stored.get(claim.transferId)?.requestHash === claim.requestHash) replayedHere.add(claim.transferId);
    seen.add(claim.transferId);
  }
  const answered = new Set<string>();
  return claims.map((claim) => {
    const row = stored.get(claim.transferId);
    if (row === undefined) throw new Error(`idempotency claim of ${claim.transferId} got no row back`);
    const first = !answered.has(claim.transferId);
    answered.add(claim.transferId);
    if (first && row.inserted) return { kind: 'new', version: replayedHere.has(claim.transferId) ? null : row.version, claimedAt: row.claimedAt };
    return row.requestHash === claim.requestHash ? { kind: 'replay', claimedAt: row.claimedAt } : REUSED;
  });
}

interface PendingClaim extends ClaimRequest {
  resolve(claim: KeyClaim): void;
  reject(error: unknown): void;
}

export class IdempotencyClaims {
  /** Called after each statement: claims it carried (duplicates included), how long it took, whether it worked. */
  onFlush: ((claims: number, durationMs: number, ok: boolean) => void) | null = null;

  private readonly batchSizeMax: number;
  private readonly concurrentFlushesMax: number;
  private queue: PendingClaim[] = [];
  private flushesInFlight = 0;
  private flushScheduled = false;

  constructor(
    private readonly pool: Pool,
    options: IdempotencyClaimsOptions = {},
  ) {
    this.batchSizeMax = positiveInteger('batchSizeMax', options.batchSizeMax ?? CLAIM_BATCH_SIZE_MAX_DEFAULT);
    this.concurrentFlushesMax = positiveInteger('concurrentFlushesMax', options.concurrentFlushesMax ?? CLAIM_CONCURRENT_FLUSHES_MAX_DEFAULT);
  }

  /**
   * Claims `transferId` for a request whose body hashes to `requestHash`; `of` says whether
   * the id is a command's (a transfer, hold, account or account change: its row will carry
   * the id once applied) or a whole batch's (no row ever will).
   */
  claim(transferId: string, principal: string, requestHash: string, of: 'command' | 'batch' = 'command'): Promise<KeyClaim> {
    // The answer is matched by the id Postgres returns, which is always canonical lower case.
    if (!CANONICAL_UUID.test(transferId)) return Promise.reject(new TypeError(`transfer id ${transferId} is not a lower-case UUID`));
    return new Promise((resolve, reject) => {
      this.queue.push({ transferId, principal, requestHash, batch: of === 'batch', resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Claims waiting for a statement (not yet sent). */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * One event-loop turn of delay (setImmediate) lets requests parsed in the same turn share
   * the statement; while every flush slot is busy, the returning flush takes the queue.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled || this.flushesInFlight >= this.concurrentFlushesMax) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushQueued();
    });
  }

  private flushQueued(): void {
    while (this.flushesInFlight < this.concurrentFlushesMax && this.queue.length > 0) {
      const batch = this.queue.length <= this.batchSizeMax ? this.queue : this.queue.slice(0, this.batchSizeMax);
      this.queue = batch === this.queue ? [] : this.queue.slice(this.batchSizeMax);
      this.flushesInFlight++;
      void this.flush(batch).finally(() => {
        this.flushesInFlight--;
        this.flushQueued();
      });
    }
  }

  private async flush(batch: PendingClaim[]): Promise<void> {
    const startedAt = performance.now();
    let answers: KeyClaim[];
    try {
      answers = answerClaims(batch, await this.store(distinctClaims(batch)));
    } catch (error) {
      this.onFlush?.(batch.length, performance.now() - startedAt, false);
      for (const claim of batch) claim.reject(error);
      // Postgres did not answer (down, hung, past the statement's deadline): the claims that
      // queued behind this statement would each wait out a deadline of their own after it,
      // twice the documented wait (an outside fault review saw 503s after ~10 s against a
      // 5 s deadline), for the same answer. They get it now, unsent.
      if (isNoAnswer(error)) {
        const waiting = this.queue;
        this.queue = [];
        for (const claim of waiting) claim.reject(error);
      }
      return;
    }
    this.onFlush?.(batch.length, performance.now() - startedAt, true);
    batch.forEach((claim, i) => claim.resolve(answers[i]!));
  }

  private async store(claims: readonly ClaimRequest[]): Promise<Map<string, StoredClaim>> {
    const result = await this.pool.query(CLAIM_KEYS_SQL, [
      claims.map((c) => c.transferId),
      claims.map((c) => c.principal),
      claims.map((c) => c.requestHash),
      claims.map((c) => c.batch),
    ]);
    const stored = new Map<string, StoredClaim>();
    for (const row of result.rows as Record<string, unknown>[]) {
      const { transfer_id: transferId, request_hash: requestHash, inserted, version, created_at: createdAt } = row;
      if (
        typeof transferId !== 'string' ||
        typeof requestHash !== 'string' ||
        typeof inserted !== 'boolean' ||
        typeof version !== 'string' ||
        !(createdAt instanceof Date)
      ) {
        throw new RowShapeError('idempotency claim: expected (transfer_id text, request_hash text, inserted boolean, version text, created_at timestamptz)');
      }
      stored.set(transferId, { requestHash, inserted, version, claimedAt: createdAt.toISOString() });
    }
    return stored;
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
  return value;
}

