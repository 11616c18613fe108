/**
 * Group commit of one worker process's partitions: small batches of different partitions
 * that are ready at the same time are written in ONE statement (writeBatches), so one round
 * trip through PgBouncer, one transaction and one WAL flush instead of one each.
 *
 * Why: between idle and saturated, a partition's batch holds one or a few commands, and
 * most of what it costs is fixed: the round trip, the commit and its WAL flush, and ~0.5 ms
 * of execution for a one-command call of ledger_apply_batch (loadtest/README.md, "Group
 * commit across partitions"). At 200 transfers/s, 60% of a worker's writes started while
 * another of its writes was in flight.
 *
 * How (the classic group commit): small batches go through one lane. When the lane is free a
 * batch is sent at once, alone: an idle system waits for nothing. While a statement is in
 * flight, the batches that arrive wait, and go together as the next statement. A batch of
 * more than `groupMessagesMax` messages (a backlog being drained) is written alone, at once,
 * beside the lane: large batches keep each partition's own connection and parallelism, and
 * the hot partition's chain never waits for another partition's write.
 *
 * Each partition still has at most one batch in flight (PartitionApplier commits the next
 * only after the previous one), so a statement holds at most one batch per partition, and
 * the batches of one statement touch distinct accounts (one writer per account).
 *
 * Failures stay each batch's own. The statement is all or nothing, so when it fails:
 *   - an operating error (connection lost, server shutting down; write-errors.ts): every
 *     batch of the statement gets it, exactly as each would have got it from its own
 *     statement. Whether the statement committed may be unknown: each partition retries its
 *     write, and a write that did commit is refused by its fence (LL001), as today;
 *   - anything else (a fenced or stale partition, a copy of an applied command, a value
 *     Postgres refuses): the statement changed nothing; each batch is written again alone,
 *     so the failing one fails with its own error and the others commit.
 */
import type { BatchWrite, OutboxRow, Queryable } from './batch-writer';
import { writeBatch, writeBatches } from './batch-writer';
import { classifyWriteFailure } from './write-errors';

/** What the applier writes its batches through. */
export interface BatchWriter {
  write(write: BatchWrite): Promise<OutboxRow[]>;
}

export interface GroupCommitOptions {
  /** Batches of more messages than this are written alone, at once. 0: every batch alone (no grouping). */
  groupMessagesMax: number;
  /** Called once per statement with the number of batches it wrote (metrics). */
  onStatement?(batches: number): void;
}

interface Waiting {
  write: BatchWrite;
  resolve(rows: OutboxRow[]): void;
  reject(error: unknown): void;
}

export class GroupCommitWriter implements BatchWriter {
  private readonly waiting: Waiting[] = [];
  private laneBusy = false;

  constructor(
    private readonly db: Queryable,
    private readonly options: GroupCommitOptions,
  ) {}

  write(write: BatchWrite): Promise<OutboxRow[]> {
    if (write.toOffset - write.fromOffset > BigInt(this.options.groupMessagesMax)) {
      this.options.onStatement?.(1);
      return writeBatch(this.db, write);
    }
    return new Promise<OutboxRow[]>((resolve, reject) => {
      this.waiting.push({ write, resolve, reject });
      if (!this.laneBusy) void this.runLane();
    });
  }

  /** Sends what waits, one statement at a time, until nothing does. */
  private async runLane(): Promise<void> {
    this.laneBusy = true;
    try {
      while (this.waiting.length > 0) await this.send(this.waiting.splice(0, this.waiting.length));
    } finally {
      this.laneBusy = false;
    }
  }

  private async send(group: Waiting[]): Promise<void> {
    this.options.onStatement?.(group.length);
    try {
      const rows = await writeBatches(this.db, group.map((w) => w.write));
      group.forEach((w, i) => w.resolve(rows[i]!));
      return;
    } catch (error) {
      if (group.length === 1 || classifyWriteFailure(error) === 'operating') {
        for (const w of group) w.reject(error);
        return;
      }
    }
    // One batch's failure rolled the statement back for all: each alone gets its own outcome.
    await Promise.all(
      group.map((w) => {
        this.options.onStatement?.(1);
        return writeBatch(this.db, w.write).then(w.resolve, w.reject);
      }),
    );
  }
}
