// A labelled counter has no series until its first count, and a series that first appears at 1
// is no increase to rate() or increase(): the dashboard's dead-letter panel and the README's
// "rising" signals would miss the first dead letter, fence or refusal of each kind (seen on a
// running worker: one malformed message, ledger_worker_dead_letters_total{reason="malformed"}
// 1, and increase(...[5m]) 0). So each counter whose label values are known starts at 0.
import { createApiMetrics } from '../../apps/ingest-api/src/metrics';
import { createWorkerMetrics, zeroPartitionCounters } from '../../apps/partition-worker/src/metrics';

async function series(metrics: { registry: { metrics(): Promise<string> } }, name: string): Promise<string[]> {
  return (await metrics.registry.metrics()).split('\n').filter((line) => line.startsWith(`${name}{`));
}

describe('counters start at 0', () => {
  test('a worker exports each dead-letter reason at 0, and each assigned partition at 0 for fences and write retries', async () => {
    const metrics = createWorkerMetrics({ defaultMetrics: false });
    expect(await series(metrics, 'ledger_worker_dead_letters_total')).toEqual([
      'ledger_worker_dead_letters_total{reason="malformed"} 0',
      'ledger_worker_dead_letters_total{reason="forged"} 0',
      'ledger_worker_dead_letters_total{reason="unprocessable"} 0',
      'ledger_worker_dead_letters_total{reason="invariant"} 0',
    ]);
    metrics.fenced.inc({ partition: '3' });
    zeroPartitionCounters(metrics, [3, 5]);
    expect(await series(metrics, 'ledger_worker_fenced_total')).toEqual(['ledger_worker_fenced_total{partition="3"} 1', 'ledger_worker_fenced_total{partition="5"} 0']);
    expect(await series(metrics, 'ledger_worker_write_retries_total')).toEqual([
      'ledger_worker_write_retries_total{partition="3"} 0',
      'ledger_worker_write_retries_total{partition="5"} 0',
    ]);
  });

  test('the API exports each rate-limit kind, publish failure, long-poll refusal and cache fallback reason at 0', async () => {
    const metrics = createApiMetrics({ defaultMetrics: false });
    expect(await series(metrics, 'ledger_api_rate_limited_total')).toEqual(['ledger_api_rate_limited_total{kind="read"} 0', 'ledger_api_rate_limited_total{kind="write"} 0']);
    expect(await series(metrics, 'ledger_api_publish_failures_total')).toHaveLength(3);
    expect(await series(metrics, 'ledger_api_long_polls_refused_total')).toHaveLength(2);
    expect(await series(metrics, 'ledger_api_cache_fallbacks_total')).toHaveLength(3);
  });
});
