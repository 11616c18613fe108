/**
 * The worker's scheduled reconcile: every `intervalMs` the whole ledger is checked in one
 * snapshot (reconcile() in packages/postgres) and the result exported as
 * `ledger_reconcile_violations{check}` and `ledger_reconcile_last_run_timestamp_seconds`.
 *
 * One worker of the group runs it, not every worker: a run reads whole tables (the bench
 * measured 67 s over 10.9M entries), and N workers ran N identical scans per interval. The
 * runner is whichever process the consumer group assigns partition 0 of the commands topic
 * to: the group gives every partition to exactly one member per generation, and moves it
 * when members come and go, so the scheduled runs move with it and never stop for good.
 * Assigned, not claimed: a partition is claimed by its first fetch after each rebalance, so
 * a quiet partition 0 (or one whose buckets were all moved away) would stay unclaimed, and
 * nobody would reconcile. For a rebalance's moment two members may both think they hold
 * partition 0 and both run: a read-only snapshot twice, harmless.
 *
 * What a worker that does not run it exports: no `ledger_reconcile_violations` series and a
 * `ledger_reconcile_last_run_timestamp_seconds` of 0 (as before a first run), set within
 * ASSIGNMENT_CHECK_MS of partition 0 leaving it (and at each tick it skips). So figures of a
 * run it did while it held partition 0 do not linger beside the new runner's as if current;
 * read both across workers with max() (the dashboard does), and `> 0` for the last run. (They
 * were cleared at the next tick only, up to one interval later: in an operator run, partition
 * 0 went to another worker, which ran, and back within a minute; for the rest of the 5-minute
 * interval the worker without it still exported its run, the newest, so max() showed it.)
 */
import type { Logger } from '@ledgerline/logging';
import type { ReconcileReport } from '@ledgerline/postgres';
import type { WorkerMetrics } from './metrics';

/** The partition of the commands topic whose assignee runs the scheduled reconcile. */
export const RECONCILE_PARTITION = 0;

/**
 * The shortest statement deadline of a scheduled run (main.ts gives it the interval when
 * longer): a connection that died without a reset fails the run instead of holding it, and
 * with it the group's only reconciler, for good.
 */
export const RECONCILE_STATEMENT_DEADLINE_MIN_MS = 10 * 60_000;

/** How often a worker that ran reconcile checks it still holds partition 0 (between ticks). */
export const ASSIGNMENT_CHECK_MS = 1_000;

/** What a tick does: run reconcile, leave the run in progress alone, or stand aside (another worker runs it). */
export type ReconcileTurn = 'run' | 'busy' | 'elsewhere';

/**
 * The decision, pure: this process reconciles only while partition 0 is assigned to it, and
 * one run at a time (on a large ledger a run outlasts the interval, and overlapping runs
 * would only pile up on Postgres). Without partition 0 it stands aside even while a run of
 * its own goes on: that run's figures are not exported (a review: a run that hung kept the
 * worker "busy", and its old figures beside the new runner's, for as long as it hung).
 */
export function reconcileTurn(assigned: readonly number[], running: boolean): ReconcileTurn {
  if (!assigned.includes(RECONCILE_PARTITION)) return 'elsewhere';
  return running ? 'busy' : 'run';
}

export interface ReconcileScheduleOptions {
  /** 0: never (nothing is scheduled). */
  intervalMs: number;
  /** Partitions the consumer group assigned to this process now (PartitionWorker.assignedPartitions). */
  assigned(): readonly number[];
  /** One reconcile of the whole ledger. */
  run(): Promise<ReconcileReport>;
  metrics: Pick<WorkerMetrics, 'reconcileViolations' | 'reconcileLastRun'>;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  now?: () => number;
  /** ASSIGNMENT_CHECK_MS unless given. */
  assignmentCheckMs?: number;
}

export class ReconcileSchedule {
  private timer: NodeJS.Timeout | null = null;
  private watch: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** Whether the last tick found partition 0 here (to log the change once, not every tick). */
  private runner = false;

  constructor(private readonly options: ReconcileScheduleOptions) {}

  start(): void {
    if (this.options.intervalMs === 0) return;
    // The first tick comes one interval after the start, as before.
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
    // The figures of its runs go as soon as partition 0 does, not one interval later.
    this.watch = setInterval(() => {
      if (this.runner && reconcileTurn(this.options.assigned(), false) === 'elsewhere') this.standAside();
    }, this.options.assignmentCheckMs ?? ASSIGNMENT_CHECK_MS);
    this.watch.unref();
  }

  /** No further ticks; a run in progress finishes on its own. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.watch) clearInterval(this.watch);
    this.timer = null;
    this.watch = null;
  }

  /** One tick of the schedule; resolves once what it started (if anything) is done. */
  tick(): Promise<void> {
    const turn = reconcileTurn(this.options.assigned(), this.running !== null);
    if (turn === 'busy') return Promise.resolve();
    if (turn === 'elsewhere') {
      this.standAside();
      return Promise.resolve();
    }
    if (!this.runner) this.options.logger.info('reconcile: this worker runs the scheduled reconcile', { partition: RECONCILE_PARTITION });
    this.runner = true;
    this.running = this.runOnce().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async runOnce(): Promise<void> {
    const { metrics, logger, now = Date.now } = this.options;
    try {
      const report = await this.options.run();
      // Partition 0 moved away during the run: the new runner's figures are the current ones.
      if (reconcileTurn(this.options.assigned(), false) !== 'run') {
        logger.info('reconcile: a run finished after partition 0 moved to another worker; its figures are not exported', { partition: RECONCILE_PARTITION });
        return;
      }
      for (const check of report.checks) metrics.reconcileViolations.set({ check: check.name }, check.violations);
      metrics.reconcileLastRun.set(now() / 1000);
      const broken = report.checks.filter((c) => c.violations > 0);
      if (broken.length) logger.error('reconcile found violations', Object.fromEntries(broken.map((c) => [c.name, c.violations])));
    } catch (error) {
      logger.warn('reconcile failed', { error: (error as Error).message });
    }
  }

  /** Partition 0 is another worker's: it runs reconcile, and this one exports no figures. */
  private standAside(): void {
    if (this.runner) this.options.logger.info('reconcile: partition 0 is assigned to another worker now, which runs the scheduled reconcile', { partition: RECONCILE_PARTITION });
    this.runner = false;
    this.options.metrics.reconcileViolations.reset();
    this.options.metrics.reconcileLastRun.set(0);
  }
}
