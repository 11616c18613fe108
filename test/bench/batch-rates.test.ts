import { batchRates } from '../../loadtest/bench/batch';

const START = 1_796_608_202_712;
/** The load's window of a full run's batch phase: 30 s from the load's start (setup()'s end). */
const window = { start_ms: START, end_ms: START + 30_000, seconds: 30 };
const atEnd = { completed: 78_000, rows: 120_000, processing: 40_000 };

describe('batch ingest rates (batchRates): each over the time its label names', () => {
  it('counts the items accepted within the load\'s window and those COMPLETED by its end per second of it, and the backlog from its end', () => {
    // benchmxcls4ek-like: 193,500 items acked, 46,500 of them late (batches in flight at 30 s,
    // answered in k6's graceful stop, up to 9 s later).
    const rates = batchRates({ acked: 193_500, ackedInWindow: 147_000, window, atEnd, terminal: { at: START + 42_000, atFirstPoll: false }, completedAfter: 193_500 });
    expect(rates).toEqual({
      rate_per_s: 4_900, // 147,000 / 30 s; not 193,500 / 30 s (6,450), nor / 39 s to the last ack
      completed_during_per_s: 2_600, // 78,000 COMPLETED by the window's end / 30 s
      backlog_at_end: { not_applied: 73_500, processing: 40_000 }, // the late items included: in flight at the end
      drained_per_s: 9_625, // the 115,500 left at the end, in the 12 s from it
      drain_s: 12,
    });
  });

  it('does not shrink the window when the acks stop early: 15,000/s for 20 s of 30, then every batch refused, is 10,000/s', () => {
    const rates = batchRates({ acked: 300_000, ackedInWindow: 300_000, window, atEnd, terminal: { at: START + 45_000, atFirstPoll: false }, completedAfter: 300_000 });
    expect(rates.rate_per_s).toBe(10_000);
  });

  it('does not time a backlog the first poll already found terminal (it ended at an unknown time before)', () => {
    const rates = batchRates({ acked: 193_500, ackedInWindow: 147_000, window, atEnd, terminal: { at: START + 40_000, atFirstPoll: true }, completedAfter: 193_500 });
    expect(rates.drained_per_s).toBeNull();
    expect(rates.drain_s).toBe(10);
  });

  it('reports no during/after figures when the load\'s window is not known (all acks over the whole k6 run)', () => {
    const rates = batchRates({ acked: 193_500, ackedInWindow: null, window: { start_ms: null, end_ms: null, seconds: 49 }, atEnd: null, terminal: { at: START + 60_000, atFirstPoll: false }, completedAfter: 193_500 });
    expect(rates).toEqual({ rate_per_s: 3_949, completed_during_per_s: null, backlog_at_end: null, drained_per_s: null, drain_s: null });
  });
});
