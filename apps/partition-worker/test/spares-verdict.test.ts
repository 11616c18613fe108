// A member the group gave no partition is ready only as a spare: Kafka lists it, in a group
// with more members than the topic has partitions (a 9th worker on 8 partitions). An outside
// runbook review saw that spare answer 503 for as long as it stayed one, so a rollout gated
// on readiness never finished. Not in the group, or given nothing by a group no larger than
// the topic, stays unready.
import { sparesVerdict } from '../src/health';

const members = (n: number) => Array.from({ length: n }, (_, i) => `worker-${i + 1}-m`);

test('a listed member of a group larger than the topic is a spare: ready', () => {
  expect(sparesVerdict('worker-9-m', members(9), 8)).toBeNull();
  expect(sparesVerdict('worker-2-m', members(2), 1)).toBeNull();
});

test('not in the group (joining, or its consumer restarting after a crash): not ready', () => {
  expect(sparesVerdict(null, members(9), 8)).toMatch(/^no partitions: not in the consumer group/);
});

test('a member id the coordinator does not list (evicted, or gone while Kafka was away): not ready', () => {
  expect(sparesVerdict('worker-10-m', members(9), 8)).toMatch(/does not list this member \(worker-10-m\)/);
});

test('given nothing by a group no larger than the topic (a rebalance owes it partitions): not ready', () => {
  expect(sparesVerdict('worker-8-m', members(8), 8)).toMatch(/group has 8 members for 8 partitions/);
  expect(sparesVerdict('worker-1-m', members(1), 8)).toMatch(/group has 1 members for 8 partitions/);
});
