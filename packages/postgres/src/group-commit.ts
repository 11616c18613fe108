/**
 * Group commit of one worker process's partitions: small batches of different partitions
 * that are ready at the same time are written in ONE statement (writeBatches), so one round
 * trip through PgBouncer, one transaction and one WAL flush instead of one each.
 *
 * Why: between idle and saturated, a partition's batch holds one or a few commands, and
 * most of what it costs is fixed: the round trip, the commit and its WAL flush, and ~0.5 ms
 * of execution for a one-command call of ledger_apply_batch (loadtest/JOURNAL.md, "Group
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
 * Failures stay each batch's own. The statement is all or nothing, so when it fails, for
 * whatever reason, each of its batches is written again alone and gets its own outcome: a
 * fenced or stale partition, a copy of an applied command or a value Postgres refuses fails
 * only its own write, and so does an error the server raises as operating but one batch's
 * data causes (a corrupted index page, an I/O error on its relation). When Postgres itself
 * is down, each alone-write fails the same way, as it would have without grouping. If the
 * statement did commit and only its answer was lost, each alone-write is refused by its fence
 * (LL001) and the partition resumes from the stored offset, exactly as after a single write
 * whose answer was lost.
 *
 * A statement that does not answer (a lock held elsewhere, a connection that died without a
 * reset) holds the lane, so every small write of the process waits behind it. `timeoutMs`
 * bounds that wait for every write made here, grouped or alone: past it the write fails as
 * an operating error (retried by the applier with backoff) and its connection is closed. If
 * the statement committed all the same, the retry is refused by its fence, as after any lost
 * answer.
 */
import type { BatchWrite, Queryable, WrittenBatch } from './batch-writer';
import { writeBatch, writeBatches } from './batch-writer';

/** What the applier writes its batches through. */
export interface BatchWriter {
  write(write: BatchWrite): Promise<WrittenBatch>;
}

export interface GroupCommitOptions {
  /** Batches of more messages than this are written alone, at once. 0: every batch alone (no grouping). */
  groupMessagesMax: number;
  /** A write not answered within this many ms fails (an operating error); 0: no bound. */
  timeoutMs?: number;
  /** Called once per statement with the number of batches it wrote (metrics). */
  onStatement?(batches: number): void;
}

interface Waiting {
  write: BatchWrite;
  resolve(written: WrittenBatch): void;
  reject(error: unknown): void;
}

export class GroupCommitWriter implements BatchWriter {
  private readonly waiting: Waiting[] = [];
  private laneBusy = false;

  constructor(
    private readonly db: Queryable,
    private readonly options: GroupCommitOptions,
  ) {}

  write(write: BatchWrite): Promise<WrittenBatch> {
    if (write.toOffset - write.fromOffset > BigInt(this.options.groupMessagesMax)) {
      this.observe(1);
      return writeBatch(this.db, write, this.options.timeoutMs);
    }
    return new Promise<WrittenBatch>((resolve, reject) => {
      this.waiting.push({ write, resolve, reject });
      if (!this.laneBusy) void this.runLane();
    });
  }

  /** Sends what waits, one statement at a time, until nothing does. `send` never rejects. */
  private async runLane(): Promise<void> {
    this.laneBusy = true;
    try {
      while (this.waiting.length > 0) await this.send(this.waiting.splice(0, this.waiting.length));
    } finally {
      this.laneBusy = false;
    }
  }

  private async send(group: Waiting[]): Promise<void> {
    if (group.length === 1) return this.alone(group[0]!);
    this.observe(group.length);
    let written: (WrittenBatch | Error)[];
    try {
      written = await writeBatches(this.db, group.map((w) => w.write), this.options.timeoutMs);
    } catch {
      // Nothing of it committed, or its answer was lost: each alone gets its own outcome.
      await Promise.all(group.map((w) => this.alone(w)));
      return;
    }
    group.forEach((w, i) => {
      const batch = written[i]!;
      if (batch instanceof Error) w.reject(batch);
      else w.resolve(batch);
    });
  }

  private alone(w: Waiting): Promise<void> {
    this.observe(1);
    return writeBatch(this.db, w.write, this.options.timeoutMs).then(w.resolve, w.reject);
  }

  /** Metrics must never keep a batch from being written or answered. */
  private observe(batches: number): void {
    try {
      this.options.onStatement?.(batches);
    } catch {
      // a broken metrics callback is not the write's failure
    }
  }
}
