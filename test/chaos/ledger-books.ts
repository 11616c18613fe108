/**
 * The client side's books: every request the load sent, with its Idempotency-Key, its body
 * and every answer it got. The proof holds Postgres to these books.
 *
 * Outcome of a money movement (POST /v1/transfers, /deposits, /withdrawals):
 *
 *   in-flight --2xx--> acknowledged        (the API said the command is durable)
 *   in-flight --4xx (not 429)--> refused   (a definite no: nothing was accepted)
 *   in-flight --timeout | reset | 429 | 5xx--> retried with the SAME key and body
 *   in-flight --the run ends--> unknown    (kept in the books; the proof accounts for it)
 *
 * Nothing is ever dropped from the books: a request that failed in transit stays here with
 * every attempt, whatever happened to it.
 */
import { writeFileSync } from 'node:fs';
import { transferIdFor } from '@ledgerline/domain';

export type MovementKind = 'TRANSFER' | 'DEPOSIT' | 'WITHDRAWAL';

export interface Attempt {
  /** When it was sent, ms since the run started. */
  atMs: number;
  ms: number;
  /** HTTP status, or null when no answer came (timeout, refused, reset). */
  status: number | null;
  error?: string;
  /** `error.code` of an error body. */
  code?: string;
  /** `id` and `status` of the transfer resource in a 2xx body. */
  id?: string;
  resourceStatus?: string;
  /** The Retry-After header, when the answer had one (every 429 and 503 must: docs/api.md). */
  retryAfter?: string;
}

export type Outcome = 'in-flight' | 'acknowledged' | 'refused' | 'unknown';

export interface MovementRecord {
  /** Position in the books (send order over the whole run). */
  n: number;
  client: string;
  /** Position in a sequential client's stream, null for the concurrent load. */
  sequence: number | null;
  principal: string;
  key: string;
  /** transferIdFor(principal, key): what the API and the worker must call it. */
  transferId: string;
  kind: MovementKind;
  path: string;
  body: Record<string, string>;
  attempts: Attempt[];
  outcome: Outcome;
  ackedAtMs: number | null;
  refusal: { status: number; code?: string } | null;
  /** Deliberate duplicate sends (same key, same body) after the acknowledgement. */
  replays: Attempt[];
}

export interface BadRecord {
  n: number;
  client: string;
  category: string;
  /**
   * Static: refused before any dependency is asked (validation, auth, content type), so any
   * 5xx is a server error on bad input. Stateful: needs Postgres or Redis to be refused
   * (403 for someone else's account, 422 for a reused key), so a 503 + Retry-After while a
   * dependency is down is the documented answer; other 5xx still count.
   */
  stateful: boolean;
  expected: number[];
  principal: string | null;
  key: string | null;
  /** The transfer id this request names (key reuse), to check it changed nothing. */
  transferId: string | null;
  attempts: Attempt[];
  outcome: Outcome;
  finalStatus: number | null;
}

export interface StatusObservation {
  transferId: string;
  atMs: number;
  status: number | null;
  resourceStatus?: string;
  reason?: string;
}

export class LedgerBooks {
  readonly movements: MovementRecord[] = [];
  readonly bad: BadRecord[] = [];
  readonly observations: StatusObservation[] = [];
  private readonly byTransferId = new Map<string, MovementRecord>();
  private n = 0;

  movement(init: {
    client: string;
    sequence?: number | null;
    principal: string;
    key: string;
    kind: MovementKind;
    body: Record<string, string>;
  }): MovementRecord {
    const transferId = transferIdFor(init.principal, init.key);
    if (this.byTransferId.has(transferId)) throw new Error(`books: key ${init.key} of ${init.principal} used twice by the load itself`);
    const record: MovementRecord = {
      n: this.n++,
      client: init.client,
      sequence: init.sequence ?? null,
      principal: init.principal,
      key: init.key,
      transferId,
      kind: init.kind,
      path: init.kind === 'TRANSFER' ? '/v1/transfers' : init.kind === 'DEPOSIT' ? '/v1/deposits' : '/v1/withdrawals',
      body: init.body,
      attempts: [],
      outcome: 'in-flight',
      ackedAtMs: null,
      refusal: null,
      replays: [],
    };
    this.movements.push(record);
    this.byTransferId.set(transferId, record);
    return record;
  }

  recordAttempt(record: MovementRecord, attempt: Attempt): void {
    record.attempts.push(attempt);
    if (record.outcome !== 'in-flight') return;
    if (isSuccess(attempt.status)) {
      record.outcome = 'acknowledged';
      record.ackedAtMs = attempt.atMs + attempt.ms;
    } else if (isDefiniteRefusal(attempt.status)) {
      record.outcome = 'refused';
      record.refusal = { status: attempt.status!, code: attempt.code };
    }
  }

  /** The run ended while this request was still being retried. */
  giveUp(record: MovementRecord): void {
    if (record.outcome === 'in-flight') record.outcome = 'unknown';
  }

  badRequest(init: Omit<BadRecord, 'n' | 'attempts' | 'outcome' | 'finalStatus'>): BadRecord {
    const record: BadRecord = { ...init, n: this.n++, attempts: [], outcome: 'in-flight', finalStatus: null };
    this.bad.push(record);
    return record;
  }

  recordBadAttempt(record: BadRecord, attempt: Attempt): void {
    record.attempts.push(attempt);
    if (record.outcome !== 'in-flight') return;
    if (isSuccess(attempt.status)) record.outcome = 'acknowledged';
    else if (isDefiniteRefusal(attempt.status)) record.outcome = 'refused';
    if (record.outcome !== 'in-flight') record.finalStatus = attempt.status;
  }

  giveUpBad(record: BadRecord): void {
    if (record.outcome === 'in-flight') record.outcome = 'unknown';
  }

  observe(observation: StatusObservation): void {
    this.observations.push(observation);
  }

  find(transferId: string): MovementRecord | undefined {
    return this.byTransferId.get(transferId);
  }

  acknowledged(): MovementRecord[] {
    return this.movements.filter((m) => m.outcome === 'acknowledged');
  }

  /** Recently acknowledged movements (for replays, status reads, key reuse). */
  recentAcknowledged(limit: number): MovementRecord[] {
    const found: MovementRecord[] = [];
    for (let i = this.movements.length - 1; i >= 0 && found.length < limit; i--) {
      const record = this.movements[i]!;
      if (record.outcome === 'acknowledged') found.push(record);
    }
    return found;
  }

  counts(): Record<Outcome, number> {
    const counts: Record<Outcome, number> = { 'in-flight': 0, acknowledged: 0, refused: 0, unknown: 0 };
    for (const m of this.movements) counts[m.outcome]++;
    return counts;
  }

  /** Every request and answer, for the post-mortem of a failed run. */
  save(path: string): void {
    writeFileSync(path, JSON.stringify({ movements: this.movements, bad: this.bad, observations: this.observations }, null, 1));
  }
}

export function isSuccess(status: number | null): boolean {
  return status !== null && status >= 200 && status < 300;
}

/** A 4xx other than 429 is a definite answer: the request was refused, retrying changes nothing. */
export function isDefiniteRefusal(status: number | null): boolean {
  return status !== null && status >= 400 && status < 500 && status !== 429;
}

/** No answer, backpressure or a server error: the outcome is unknown, retry with the same key. */
export function isRetryable(status: number | null): boolean {
  return status === null || status === 429 || status >= 500;
}
