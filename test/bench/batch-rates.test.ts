import { batchRates } from '../../loadtest/bench/batch';

const START = 1_796_608_202_712;
/** The load's window of benchmxcls4ek's batch: the last batch acked 39.0 s after the first went out (30 s of DURATION). */
const window = { start_ms: START, last_ack_ms: START + 39_000, seconds: 39 };
const atEnd = { completed: 102_000, rows: 150_000, processing: 40_000 };

describe('batch ingest rates (batchRates): each over the time its label names', () => {
  it('counts accepted and COMPLETED items over the load up to its last ack, and the backlog from that ack', () => {
    const rates = batchRates({ acked: 193_500, ackWindow: window, atEnd, terminal: { at: START + 51_000, atFirstPoll: false }, completedAfter: 193_500 });
    expect(rates).toEqual({
      rate_per_s: 4_962, // 193,500 / 39 s, not / 30 s (6,450)
      completed_during_per_s: 2_615, // 102,000 COMPLETED by the last ack / 39 s
      backlog_at_end: { not_applied: 43_500, processing: 40_000 },
      drained_per_s: 7_625, // the 91,500 left at the last ack, in the 12 s from it
      drain_s: 12,
    });
  });

  it('does not time a backlog the first poll already found terminal (it ended at an unknown time before)', () => {
    const rates = batchRates({ acked: 193_500, ackWindow: window, atEnd, terminal: { at: START + 49_000, atFirstPoll: true }, completedAfter: 193_500 });
    expect(rates.drained_per_s).toBeNull();
    expect(rates.drain_s).toBe(10);
  });

  it('reports no during/after figures when the load\'s end is not known', () => {
    const rates = batchRates({ acked: 193_500, ackWindow: { start_ms: null, last_ack_ms: null, seconds: 49 }, atEnd: null, terminal: { at: START + 60_000, atFirstPoll: false }, completedAfter: 193_500 });
    expect(rates).toEqual({ rate_per_s: 3_949, completed_during_per_s: null, backlog_at_end: null, drained_per_s: null, drain_s: null });
  });
});
